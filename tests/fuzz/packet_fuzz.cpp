// Fuzzes the packet codec (chains/evm/packet.hpp) on untrusted bytes. Properties:
// - decode_packet agrees with a reference model of the format (size, version, nonce, body limit)
//   and encode(decode(x)) == x: the packed encoding has exactly one form;
// - decode(encode(p)) == p for a packet built from the input;
// - a mutated packet whose id no longer matches never decodes via decode_packet_checked.
#include "chains/evm/packet.hpp"
#include "crypto/keccak.hpp"
#include "fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

namespace {

constexpr const char* kFuzzTarget = "packet_fuzz";

using namespace ferry;
using chains::evm::Error;

std::uint64_t be64(const std::uint8_t* p) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
    return v;
}

/// The error the format (docs/design.md §2) says `data` has, or none.
std::optional<Error> expected_error(crypto::ByteView data, std::size_t max_body) {
    if (data.size() < chains::evm::kPacketHeaderSize) return Error::packet_too_short;
    if (data[0] != chains::evm::kPacketVersion) return Error::packet_bad_version;
    if (be64(data.data() + 1) == 0) return Error::packet_zero_nonce;
    if (data.size() - chains::evm::kPacketHeaderSize > max_body)
        return Error::packet_body_too_large;
    return std::nullopt;
}

void check_decode(crypto::ByteView data, std::size_t max_body) {
    const auto decoded = chains::evm::decode_packet(data, max_body);
    const auto expected = expected_error(data, max_body);
    if (expected) {
        FUZZ_CHECK(!decoded, "decode_packet accepted a packet the format rejects",
                   fuzz::short_hex(data));
        FUZZ_CHECK(decoded.error() == *expected, "decode_packet gave another error than the format",
                   decoded.error().message());
        return;
    }
    FUZZ_CHECK(decoded.has_value(), "decode_packet rejected a well-formed packet",
               decoded.error().message());
    const auto& p = *decoded;
    FUZZ_CHECK(chains::evm::encode(p) == crypto::Bytes(data.begin(), data.end()),
               "encode(decode(x)) != x", fuzz::short_hex(data));
    FUZZ_CHECK(static_cast<std::uint64_t>(p.nonce) == be64(data.data() + 1), "nonce misread", "");
    FUZZ_CHECK(p.expiry == be64(data.data() + 89), "expiry misread", "");

    // The same bytes under their own id decode to the same packet.
    const auto id = chains::evm::packet_id(data);
    FUZZ_CHECK(id == crypto::keccak256(data), "packet_id is not keccak256 of the bytes", "");
    const auto checked = chains::evm::decode_packet_checked(data, id, max_body);
    FUZZ_CHECK(checked && *checked == p, "decode_packet_checked disagrees with decode_packet", "");

    // Sender: bytes32 <-> address round trip.
    if (const auto a = chains::evm::bytes32_to_address(p.sender)) {
        FUZZ_CHECK(chains::evm::address_to_bytes32(*a) == p.sender,
                   "address_to_bytes32(bytes32_to_address(x)) != x", p.sender.hex());
    } else {
        bool high = false;
        for (std::size_t i = 0; i < 12; ++i) high = high || p.sender[i] != 0;
        FUZZ_CHECK(high, "bytes32_to_address refused a left-padded address", p.sender.hex());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const crypto::ByteView input(data, size);

    check_decode(input, chains::evm::kDefaultMaxBodyBytes);
    // A tight limit: exactly the body size passes, one byte less fails.
    if (size >= chains::evm::kPacketHeaderSize) {
        const std::size_t body = size - chains::evm::kPacketHeaderSize;
        check_decode(input, body);
        if (body > 0) check_decode(input, body - 1);
    }

    // Mutation: flip one byte (position and mask taken from the input); whatever the mutated
    // bytes are, they must not decode under the original id.
    if (size > 0) {
        const auto id = chains::evm::packet_id(input);
        crypto::Bytes mutated(input.begin(), input.end());
        const std::size_t at = (static_cast<std::size_t>(data[size - 1]) * 131 + size) % size;
        const auto mask = static_cast<std::uint8_t>(data[0] == 0 ? 0x01 : data[0]);
        mutated[at] = static_cast<std::uint8_t>(mutated[at] ^ mask);
        const auto r = chains::evm::decode_packet_checked(mutated, id);
        FUZZ_CHECK(!r, "a mutated packet decoded under the original id", fuzz::short_hex(mutated));
        // Truncated and extended copies change the id too.
        mutated.assign(input.begin(), input.end());
        mutated.push_back(0);
        FUZZ_CHECK(!chains::evm::decode_packet_checked(mutated, id),
                   "an extended packet decoded under the original id", fuzz::short_hex(mutated));
        mutated.resize(size - 1);
        FUZZ_CHECK(!chains::evm::decode_packet_checked(mutated, id),
                   "a truncated packet decoded under the original id", fuzz::short_hex(mutated));
    }

    // decode(encode(p)) == p for a packet whose fields come from the input.
    if (size >= 16) {
        chains::evm::Packet p;
        std::uint64_t nonce = 0;
        std::memcpy(&nonce, data, 8);
        p.nonce = crypto::Nonce{nonce == 0 ? 1 : nonce};
        std::uint64_t chains_word = 0;
        std::memcpy(&chains_word, data + 8, 8);
        p.src_chain = crypto::ChainId{chains_word};
        p.dst_chain = crypto::ChainId{~chains_word};
        p.expiry = chains_word >> 3;
        for (std::size_t i = 0; i < 32; ++i) {
            p.sender[i] = data[(i * 7) % size];
            p.recipient[i] = data[(i * 13 + 5) % size];
        }
        p.body.assign(data + 16, data + std::min(size, std::size_t{16} + 4096));
        const auto encoded = chains::evm::encode(p);
        FUZZ_CHECK(encoded.size() == chains::evm::kPacketHeaderSize + p.body.size(),
                   "encode wrote another size than header + body", "");
        const auto back = chains::evm::decode_packet(encoded);
        FUZZ_CHECK(back && *back == p, "decode(encode(p)) != p", fuzz::short_hex(encoded));
    }
    return 0;
}
