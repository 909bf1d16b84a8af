// Fuzzes the RLP decoder (chains/evm/rlp.hpp) and the raw transaction decoder built on it
// (chains/evm/transaction.hpp). Properties:
// - what rlp_decode accepts re-encodes, item by item with RlpEncoder, to exactly the input
//   (the decoder accepts canonical encodings only), and integers read from it re-encode to
//   their item;
// - rlp_decode_prefix splits the input into item ‖ rest;
// - a raw transaction decode_signed accepts re-encodes to the same bytes and hash.
#include "chains/evm/rlp.hpp"
#include "chains/evm/transaction.hpp"
#include "crypto/keccak.hpp"
#include "fuzz_check.hpp"

#include <cstddef>
#include <cstdint>

namespace {

constexpr const char* kFuzzTarget = "rlp_fuzz";

using namespace ferry;
using namespace ferry::chains::evm;

/// Re-encodes a validated item into `enc`; checks each string's integer readings on the way.
void reencode(const RlpItem& item, RlpEncoder& enc, std::size_t depth) {
    FUZZ_CHECK(depth <= kRlpMaxDepth + 1, "rlp_decode let lists nest past kRlpMaxDepth", "");
    if (!item.is_list) {
        const auto bytes = item.bytes();
        FUZZ_CHECK(bytes.has_value(), "bytes() failed on a string item", "");
        enc.add_bytes(*bytes);
        if (const auto v = item.to_u64()) {
            FUZZ_CHECK(rlp_encode_uint(*v) == Bytes(item.encoded.begin(), item.encoded.end()),
                       "to_u64 accepted a non-canonical integer", fuzz::short_hex(item.encoded));
            const auto wide = item.to_u256();
            FUZZ_CHECK(wide && wide->to_u64() == *v, "to_u256 disagrees with to_u64", "");
        }
        if (const auto v = item.to_u256()) {
            RlpEncoder one;
            one.add_uint(*v);
            FUZZ_CHECK(one.bytes() == Bytes(item.encoded.begin(), item.encoded.end()),
                       "to_u256 accepted a non-canonical integer", fuzz::short_hex(item.encoded));
        }
        return;
    }
    FUZZ_CHECK(!item.bytes(), "bytes() accepted a list", "");
    auto reader = RlpListReader::open(item);
    FUZZ_CHECK(reader.has_value(), "RlpListReader::open refused a list", "");
    const auto count = reader->count();
    FUZZ_CHECK(count.has_value(), "count() failed inside a validated list", "");
    enc.begin_list();
    std::size_t seen = 0;
    while (!reader->empty()) {
        auto next = reader->next();
        FUZZ_CHECK(next.has_value(), "next() failed inside a validated list",
                   next.error().message());
        reencode(*next, enc, depth + 1);
        ++seen;
    }
    FUZZ_CHECK(seen == *count, "count() disagrees with the items read", "");
    FUZZ_CHECK(reader->finish().has_value(), "finish() failed after reading every item", "");
    FUZZ_CHECK(!reader->next(), "next() succeeded past the end of a list", "");
    enc.end_list();
}

void check_transaction(ByteView input) {
    const auto tx = decode_signed(input);
    if (!tx) return;
    FUZZ_CHECK(tx->raw == Bytes(input.begin(), input.end()), "SignedTx::raw differs from input",
               "");
    FUZZ_CHECK(tx->hash == crypto::keccak256(input), "SignedTx::hash is not keccak256(raw)", "");
    FUZZ_CHECK(encode_signed(tx->tx, tx->signature) == tx->raw,
               "encode_signed(decode_signed(x)) != x", fuzz::short_hex(input));
    FUZZ_CHECK(tx->signature[64] == 27 || tx->signature[64] == 28, "v is not 27 or 28", "");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteView input(data, size);

    ByteView rest;
    const auto prefix = rlp_decode_prefix(input, rest);
    if (prefix) {
        FUZZ_CHECK(prefix->encoded.data() == input.data() &&
                       prefix->encoded.size() + rest.size() == input.size() &&
                       rest.data() == input.data() + prefix->encoded.size(),
                   "rlp_decode_prefix: item ‖ rest is not the input", "");
        FUZZ_CHECK(prefix->payload.data() >= prefix->encoded.data() &&
                       prefix->payload.data() + prefix->payload.size() ==
                           prefix->encoded.data() + prefix->encoded.size(),
                   "rlp_decode_prefix: payload is not the tail of the item", "");
    }

    const auto item = rlp_decode(input);
    if (item) {
        FUZZ_CHECK(prefix && rest.empty(), "rlp_decode accepted what rlp_decode_prefix refuses",
                   "");
        RlpEncoder enc;
        reencode(*item, enc, 0);
        FUZZ_CHECK(enc.bytes() == Bytes(input.begin(), input.end()),
                   "re-encoding a decoded item does not give the input back",
                   fuzz::short_hex(input) + " -> " + fuzz::short_hex(enc.bytes()));
    }

    if (size > 0 && data[0] == kEip1559TxType) check_transaction(input);
    return 0;
}
