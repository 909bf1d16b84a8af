#include "chains/evm/ferry_abi.hpp"

#include <algorithm>
#include <array>

namespace ferry::chains::evm {
namespace {

/// A uint64 carried in a 32-byte topic.
Result<std::uint64_t> topic_u64(const Hash32& topic) {
    const auto v = U256{topic.bytes}.to_u64();
    if (!v) return Error::abi_value_out_of_range;
    return *v;
}

Result<void> check_topics(const Log& log, const Hash32& topic0, std::size_t count) {
    if (log.topics.empty()) return Error::abi_wrong_topic_count;
    if (log.topics[0] != topic0) return Error::abi_wrong_topic;
    if (log.topics.size() != count) return Error::abi_wrong_topic_count;
    return {};
}

}  // namespace

// ---- calldata ----

Bytes outbox_send_calldata(crypto::ChainId dst_chain, const Hash32& recipient, std::uint64_t expiry,
                           ByteView body) {
    return AbiEncoder()
        .add_uint(crypto::to_u64(dst_chain))
        .add_bytes32(recipient)
        .add_uint(expiry)
        .add_bytes(body)
        .encode_call(function_selector(kOutboxSendSignature));
}

Bytes outbox_next_nonce_calldata(crypto::ChainId dst_chain) {
    return AbiEncoder()
        .add_uint(crypto::to_u64(dst_chain))
        .encode_call(function_selector(kOutboxNextNonceSignature));
}

Bytes inbox_deliver_calldata(ByteView packet, ByteView signatures) {
    return AbiEncoder()
        .add_bytes(packet)
        .add_bytes(signatures)
        .encode_call(function_selector(kInboxDeliverSignature));
}

Bytes inbox_deliver_batch_calldata(std::span<const Delivery> deliveries) {
    AbiEncoder packets;
    AbiEncoder signatures;
    for (const auto& d : deliveries) {
        packets.add_bytes(d.packet);
        signatures.add_bytes(d.signatures);
    }
    return AbiEncoder()
        .add_array(packets)
        .add_array(signatures)
        .encode_call(function_selector(kInboxDeliverBatchSignature));
}

Bytes inbox_retry_failed_calldata(ByteView packet) {
    return AbiEncoder().add_bytes(packet).encode_call(
        function_selector(kInboxRetryFailedSignature));
}

Bytes inbox_configure_source_calldata(crypto::ChainId src_chain, const Address& outbox,
                                      std::span<const Address> validators, std::uint8_t threshold,
                                      bool ordered) {
    return AbiEncoder()
        .add_uint(crypto::to_u64(src_chain))
        .add_address(outbox)
        .add_address_array(validators)
        .add_uint(threshold)
        .add_bool(ordered)
        .encode_call(function_selector(kInboxConfigureSourceSignature));
}

Bytes inbox_delivered_calldata(const crypto::PacketId& id) {
    return AbiEncoder().add_bytes32(id).encode_call(function_selector(kInboxDeliveredSignature));
}

Bytes inbox_next_inbound_nonce_calldata(crypto::ChainId src_chain) {
    return AbiEncoder()
        .add_uint(crypto::to_u64(src_chain))
        .encode_call(function_selector(kInboxNextInboundNonceSignature));
}

Bytes inbox_handle_gas_limit_calldata() {
    return AbiEncoder().encode_call(function_selector(kInboxHandleGasLimitSignature));
}

// ---- return values ----

Result<crypto::PacketId> decode_send_result(ByteView returned) {
    return AbiDecoder(returned).read_bytes32();
}

Result<bool> decode_delivered_result(ByteView returned) { return AbiDecoder(returned).read_bool(); }

Result<std::uint64_t> decode_u64_result(ByteView returned) {
    return AbiDecoder(returned).read_uint(64);
}

Result<crypto::Nonce> decode_nonce_result(ByteView returned) {
    const auto v = AbiDecoder(returned).read_uint(64);
    if (!v) return v.error();
    return crypto::Nonce{*v};
}

Bytes inbox_validator_set_calldata(crypto::ChainId src_chain) {
    return AbiEncoder()
        .add_uint(crypto::to_u64(src_chain))
        .encode_call(function_selector(kInboxValidatorSetSignature));
}

Result<ValidatorSet> decode_validator_set_result(ByteView returned) {
    AbiDecoder d(returned);
    ValidatorSet out;
    auto outbox = d.read_address();
    if (!outbox) return outbox.error();
    out.outbox = *outbox;
    auto validators = d.read_address_array();
    if (!validators) return validators.error();
    out.validators = std::move(*validators);
    auto threshold = d.read_uint(8);
    if (!threshold) return threshold.error();
    out.threshold = static_cast<std::uint8_t>(*threshold);
    auto ordered = d.read_bool();
    if (!ordered) return ordered.error();
    out.ordered = *ordered;
    return out;
}

// ---- custom errors ----

std::optional<std::string_view> ferry_error_name(ByteView revert_data) {
    // Canonical signatures of the errors declared in Inbox.sol and Outbox.sol.
    static constexpr std::array<std::string_view, 20> kSignatures = {
        "PacketTooShort()",
        "UnsupportedVersion()",
        "WrongDestination()",
        "UnknownSource()",
        "PacketExpired()",
        "BadSignatureCount()",
        "MalformedSignature()",
        "UnknownSigner()",
        "SignersNotAscending()",
        "AlreadyDelivered()",
        "NonceOutOfOrder()",
        "InsufficientGas()",
        "LengthMismatch()",
        "NotFailed(bytes32)",
        "RecipientReverted(bytes32,bytes)",
        "NotOwner()",
        "ZeroAddress()",
        "InvalidThreshold()",
        "DuplicateValidator(address)",
        "BodyTooLarge(uint256,uint256)",
    };
    static const auto kSelectors = [] {
        std::array<Selector, kSignatures.size()> out;
        for (std::size_t i = 0; i < kSignatures.size(); ++i)
            out[i] = function_selector(kSignatures[i]);
        return out;
    }();
    if (revert_data.size() < Selector::size()) return std::nullopt;
    for (std::size_t i = 0; i < kSelectors.size(); ++i) {
        if (std::equal(kSelectors[i].bytes.begin(), kSelectors[i].bytes.end(),
                       revert_data.begin())) {
            const std::string_view sig = kSignatures[i];
            return sig.substr(0, sig.find('('));
        }
    }
    return std::nullopt;
}

// ---- events ----

Hash32 packet_sent_topic() noexcept { return event_topic(kPacketSentSignature); }
Hash32 packet_delivered_topic() noexcept { return event_topic(kPacketDeliveredSignature); }
Hash32 packet_rejected_topic() noexcept { return event_topic(kPacketRejectedSignature); }

Result<PacketSentEvent> decode_packet_sent(const Log& log) {
    if (auto r = check_topics(log, packet_sent_topic(), 4); !r) return r.error();
    PacketSentEvent ev;
    ev.id = log.topics[1];
    const auto dst = topic_u64(log.topics[2]);
    if (!dst) return dst.error();
    const auto nonce = topic_u64(log.topics[3]);
    if (!nonce) return nonce.error();
    ev.dst_chain = crypto::ChainId{*dst};
    ev.nonce = crypto::Nonce{*nonce};
    auto packet = AbiDecoder(log.data).read_bytes();
    if (!packet) return packet.error();
    ev.packet = std::move(*packet);
    return ev;
}

Result<PacketDeliveredEvent> decode_packet_delivered(const Log& log) {
    if (auto r = check_topics(log, packet_delivered_topic(), 4); !r) return r.error();
    PacketDeliveredEvent ev;
    ev.id = log.topics[1];
    const auto src = topic_u64(log.topics[2]);
    if (!src) return src.error();
    const auto nonce = topic_u64(log.topics[3]);
    if (!nonce) return nonce.error();
    ev.src_chain = crypto::ChainId{*src};
    ev.nonce = crypto::Nonce{*nonce};
    const auto success = AbiDecoder(log.data).read_bool();
    if (!success) return success.error();
    ev.success = *success;
    return ev;
}

Result<PacketRejectedEvent> decode_packet_rejected(const Log& log) {
    if (auto r = check_topics(log, packet_rejected_topic(), 2); !r) return r.error();
    PacketRejectedEvent ev;
    ev.id = log.topics[1];
    auto reason = AbiDecoder(log.data).read_string();
    if (!reason) return reason.error();
    ev.reason = std::move(*reason);
    return ev;
}

Result<Packet> decode_sent_packet(const PacketSentEvent& event, std::size_t max_body_bytes) {
    auto packet = decode_packet_checked(event.packet, event.id, max_body_bytes);
    if (!packet) return packet;
    if (packet->dst_chain != event.dst_chain || packet->nonce != event.nonce)
        return Error::packet_event_mismatch;
    return packet;
}

}  // namespace ferry::chains::evm
