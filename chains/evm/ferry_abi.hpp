// Ferry's contract interface (docs/design.md §2): calldata for Outbox and Inbox calls, decoders of
// their return values, and decoders of the PacketSent / PacketDelivered / PacketRejected logs.
// Protocol code only; sending calls and fetching logs belongs to the RPC transport.
#pragma once

#include "chains/evm/abi.hpp"
#include "chains/evm/error.hpp"
#include "chains/evm/log.hpp"
#include "chains/evm/packet.hpp"
#include "crypto/types.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ferry::chains::evm {

// Canonical signatures. The contracts in chains/evm/contracts/ must declare exactly these.
inline constexpr std::string_view kOutboxSendSignature = "send(uint64,bytes32,uint64,bytes)";
inline constexpr std::string_view kOutboxNextNonceSignature = "nextNonce(uint64)";
inline constexpr std::string_view kInboxDeliverSignature = "deliver(bytes,bytes)";
inline constexpr std::string_view kInboxDeliverBatchSignature = "deliverBatch(bytes[],bytes[])";
inline constexpr std::string_view kInboxRetryFailedSignature = "retryFailed(bytes)";
inline constexpr std::string_view kInboxConfigureSourceSignature =
    "configureSource(uint64,address,address[],uint8,bool)";
inline constexpr std::string_view kInboxDeliveredSignature = "delivered(bytes32)";
inline constexpr std::string_view kInboxNextInboundNonceSignature = "nextInboundNonce(uint64)";
inline constexpr std::string_view kInboxValidatorSetSignature = "validatorSet(uint64)";
inline constexpr std::string_view kInboxHandleGasLimitSignature = "handleGasLimit()";

inline constexpr std::string_view kPacketSentSignature = "PacketSent(bytes32,uint64,uint64,bytes)";
inline constexpr std::string_view kPacketDeliveredSignature =
    "PacketDelivered(bytes32,uint64,uint64,bool)";
/// `reason` names the check that failed, as the Inbox's error name (e.g. "PacketExpired").
inline constexpr std::string_view kPacketRejectedSignature = "PacketRejected(bytes32,string)";

// ---- calldata ----

/// Outbox.send(dstChainId, recipient, expiry, body).
Bytes outbox_send_calldata(crypto::ChainId dst_chain, const Hash32& recipient, std::uint64_t expiry,
                           ByteView body);
/// Outbox.nextNonce(dstChainId).
Bytes outbox_next_nonce_calldata(crypto::ChainId dst_chain);

/// Inbox.deliver(packet, signatures); `signatures` is the ascending-signer bundle.
Bytes inbox_deliver_calldata(ByteView packet, ByteView signatures);

/// One element of a batch: an encoded packet and its signature bundle.
struct Delivery {
    Bytes packet;
    Bytes signatures;
};
/// Inbox.deliverBatch(packets, signatures), in the order given.
Bytes inbox_deliver_batch_calldata(std::span<const Delivery> deliveries);
/// Inbox.retryFailed(packet).
Bytes inbox_retry_failed_calldata(ByteView packet);
/// Inbox.configureSource(srcChainId, outbox, validators, threshold, ordered).
Bytes inbox_configure_source_calldata(crypto::ChainId src_chain, const Address& outbox,
                                      std::span<const Address> validators, std::uint8_t threshold,
                                      bool ordered);
/// Inbox.delivered(id).
Bytes inbox_delivered_calldata(const crypto::PacketId& id);
/// Inbox.nextInboundNonce(srcChainId).
Bytes inbox_next_inbound_nonce_calldata(crypto::ChainId src_chain);
/// Inbox.validatorSet(srcChainId).
Bytes inbox_validator_set_calldata(crypto::ChainId src_chain);
/// Inbox.handleGasLimit().
Bytes inbox_handle_gas_limit_calldata();

/// What Inbox.validatorSet(src) returns: an unconfigured source has a zero outbox.
struct ValidatorSet {
    Address outbox;
    std::vector<Address> validators;
    std::uint8_t threshold = 0;
    bool ordered = false;
    friend bool operator==(const ValidatorSet&, const ValidatorSet&) = default;
};

// ---- return values (eth_call results) ----

/// Outbox.send's `bytes32 id`.
Result<crypto::PacketId> decode_send_result(ByteView returned);
/// Inbox.delivered's bool.
Result<bool> decode_delivered_result(ByteView returned);
/// Outbox.nextNonce / Inbox.nextInboundNonce: a uint64 nonce.
Result<crypto::Nonce> decode_nonce_result(ByteView returned);
/// Inbox.handleGasLimit's uint64.
Result<std::uint64_t> decode_u64_result(ByteView returned);
/// validatorSet(): (address outbox, address[] validators, uint8 threshold, bool ordered).
Result<ValidatorSet> decode_validator_set_result(ByteView returned);

/// Name of the Inbox or Outbox custom error whose selector starts `revert_data` (e.g.
/// "AlreadyDelivered"; see chains/evm/contracts), or nullopt for any other revert data.
std::optional<std::string_view> ferry_error_name(ByteView revert_data);

// ---- events ----

Hash32 packet_sent_topic() noexcept;
Hash32 packet_delivered_topic() noexcept;
Hash32 packet_rejected_topic() noexcept;

/// PacketSent(bytes32 indexed id, uint64 indexed dstChainId, uint64 indexed nonce, bytes packet).
struct PacketSentEvent {
    crypto::PacketId id;
    crypto::ChainId dst_chain{};
    crypto::Nonce nonce{};
    Bytes packet;  // still untrusted: see decode_sent_packet()
};

/// PacketDelivered(bytes32 indexed id, uint64 indexed srcChainId, uint64 indexed nonce,
/// bool success).
struct PacketDeliveredEvent {
    crypto::PacketId id;
    crypto::ChainId src_chain{};
    crypto::Nonce nonce{};
    bool success = false;  // false: the recipient reverted; the packet may be retried
};

/// PacketRejected(bytes32 indexed id, string reason).
struct PacketRejectedEvent {
    crypto::PacketId id;
    std::string reason;  // the Inbox's error name; chain-supplied text: escape before printing
};

// Each decoder checks topic0 (abi_wrong_topic; abi_wrong_topic_count when there is no topic),
// then the topic count (abi_wrong_topic_count), then the values: a uint64 topic with high bytes
// set is abi_value_out_of_range, and the data is decoded strictly (see AbiDecoder). They do
// not look at log.address or log.removed: that is the caller's filter.
Result<PacketSentEvent> decode_packet_sent(const Log& log);
Result<PacketDeliveredEvent> decode_packet_delivered(const Log& log);
Result<PacketRejectedEvent> decode_packet_rejected(const Log& log);

/// The packet a PacketSent event carries, validated: decode_packet_checked() against the
/// event's id, then packet_event_mismatch unless its destination and nonce equal the topics.
Result<Packet> decode_sent_packet(const PacketSentEvent& event,
                                  std::size_t max_body_bytes = kDefaultMaxBodyBytes);

}  // namespace ferry::chains::evm
