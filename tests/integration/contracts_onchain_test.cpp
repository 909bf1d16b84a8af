// Proves Ferry's packets, calldata, signatures and decoders work with the real contracts on anvil.
#include "chains/evm/abi.hpp"
#include "chains/evm/contracts.hpp"
#include "chains/evm/ferry_abi.hpp"
#include "chains/evm/packet.hpp"
#include "crypto/eip191.hpp"
#include "crypto/hex.hpp"
#include "crypto/keccak.hpp"
#include "crypto/secp256k1.hpp"
#include "tests/support/anvil.hpp"
#include "tests/support/ferry_chain.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using namespace ferry::chains::evm;
using ferry::crypto::Address;
using ferry::crypto::as_bytes;
using ferry::crypto::Bytes;
using ferry::crypto::ByteView;
using ferry::crypto::ChainId;
using ferry::crypto::Hash32;
using ferry::crypto::Nonce;
using ferry::crypto::PacketId;
using ferry::crypto::Signature;
using ferry::crypto::to_u64;
using ferry::test::AnvilProcess;
using ferry::test::ChainClient;
using ferry::test::dev_account;
using ferry::test::DevAccount;
using ferry::test::TxReceipt;

namespace {

constexpr std::uint64_t kChainA = 41001;
constexpr std::uint64_t kChainB = 41002;
/// A chain no route here leads to.
constexpr std::uint64_t kOtherChain = 41999;
constexpr std::uint64_t kMaxBodyBytes = 32768;
constexpr std::uint64_t kHandleGasLimit = 200'000;
constexpr std::uint8_t kThreshold = 2;
constexpr std::uint64_t kBatchGasLimit = 8'000'000;

// Roles, as indices of anvil's dev accounts.
constexpr std::size_t kOwner = 0;
constexpr std::array<std::size_t, 3> kValidators = {1, 2, 3};
constexpr std::size_t kRelayer = 4;
constexpr std::size_t kOutsider = 5;
constexpr std::size_t kSender = 6;

/// Outbox on `src`, Inbox and TestRecipient on `dst`, the Inbox configured for the Outbox with
/// validators 1..3, threshold 2, ordered.
struct Route {
    ChainClient* src = nullptr;
    ChainClient* dst = nullptr;
    Address outbox;
    Address inbox;
    Address recipient;
};

/// A packet the Outbox built and announced in PacketSent.
struct Sent {
    Bytes packet;
    PacketId id;
    Nonce nonce{};
    TxReceipt receipt;
};

/// What a refused delivery must leave untouched.
struct InboxState {
    bool delivered = false;
    std::uint64_t next_inbound_nonce = 0;
    std::uint64_t recipient_count = 0;

    friend bool operator==(const InboxState&, const InboxState&) = default;
};

Bytes encode_args(std::uint64_t value) { return AbiEncoder().add_uint(value).encode(); }

Bytes call_data(std::string_view signature) {
    return AbiEncoder().encode_call(function_selector(signature));
}

std::vector<DevAccount> accounts(std::initializer_list<std::size_t> indices) {
    std::vector<DevAccount> out;
    for (const auto i : indices) out.push_back(dev_account(i));
    return out;
}

Bytes body_of(std::string_view text) {
    const auto view = as_bytes(text);
    return {view.begin(), view.end()};
}

Bytes concat(std::initializer_list<ByteView> parts) {
    Bytes out;
    for (const auto part : parts) out.insert(out.end(), part.begin(), part.end());
    return out;
}

class contracts_onchain : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        anvil_a_ = std::make_unique<AnvilProcess>(
            AnvilProcess::Options{.chain_id = kChainA, .block_time = std::nullopt});
        anvil_b_ = std::make_unique<AnvilProcess>(
            AnvilProcess::Options{.chain_id = kChainB, .block_time = std::nullopt});
        a_ = std::make_unique<ChainClient>(anvil_a_->url());
        b_ = std::make_unique<ChainClient>(anvil_b_->url());
    }

    static void TearDownTestSuite() {
        a_.reset();
        b_.reset();
        anvil_a_.reset();
        anvil_b_.reset();
    }

    void SetUp() override {
        ASSERT_TRUE(a_ && b_) << "the anvil chains did not start";
        route_ = deploy_route(*a_, *b_);
    }

    static Route deploy_route(ChainClient& src, ChainClient& dst) {
        const auto owner = dev_account(kOwner);
        Route route{&src, &dst, {}, {}, {}};
        route.outbox = src.deploy(owner, Contract::outbox, encode_args(kMaxBodyBytes));
        route.inbox = dst.deploy(owner, Contract::inbox, encode_args(kHandleGasLimit));
        route.recipient = dst.deploy(owner, Contract::test_recipient, {});
        std::vector<Address> validators;
        for (const auto i : kValidators) validators.push_back(dev_account(i).address);
        const auto configured = dst.send(
            owner, route.inbox,
            inbox_configure_source_calldata(src.chain_id(), route.outbox, validators, kThreshold,
                                            /*ordered=*/true));
        if (!configured.success) throw std::runtime_error("configureSource reverted");
        return route;
    }

    /// Outbox.send from the sender account towards `dst` (the route's destination by default).
    static Sent send_packet(const Route& route, ByteView body, std::uint64_t expiry = 0,
                            std::optional<ChainId> dst = std::nullopt) {
        Sent sent;
        sent.receipt = route.src->send(
            dev_account(kSender), route.outbox,
            outbox_send_calldata(dst.value_or(route.dst->chain_id()),
                                 address_to_bytes32(route.recipient), expiry, body));
        if (!sent.receipt.success) throw std::runtime_error("Outbox.send reverted");
        const auto logs = ferry::test::logs_with_topic(sent.receipt.logs, packet_sent_topic());
        if (logs.size() != 1) throw std::runtime_error("Outbox.send emitted no PacketSent");
        const auto event = decode_packet_sent(logs[0]);
        if (!event) throw std::runtime_error("PacketSent: " + event.error().message());
        sent.packet = event->packet;
        sent.id = event->id;
        sent.nonce = event->nonce;
        return sent;
    }

    /// The 2-of-3 bundle of validators 1 and 2 (or of `signers`).
    static Bytes bundle(const Route& route, const Sent& sent,
                        const std::vector<DevAccount>& signers = accounts({1, 2})) {
        return ferry::test::signature_bundle(route.src->chain_id(), route.outbox, sent.id, signers);
    }

    static TxReceipt deliver(const Route& route, const Sent& sent, ByteView signatures) {
        return route.dst->send(dev_account(kRelayer), route.inbox,
                               inbox_deliver_calldata(sent.packet, signatures));
    }

    static TxReceipt deliver_batch(const Route& route, const std::vector<Delivery>& deliveries) {
        return route.dst->send(dev_account(kRelayer), route.inbox,
                               inbox_deliver_batch_calldata(deliveries), kBatchGasLimit);
    }

    static bool delivered(const Route& route, const PacketId& id) {
        return decode_delivered_result(route.dst->call(route.inbox, inbox_delivered_calldata(id)))
            .value();
    }

    static bool failed(const Route& route, const PacketId& id) {
        const auto data =
            AbiEncoder().add_bytes32(id).encode_call(function_selector("failed(bytes32)"));
        return AbiDecoder(route.dst->call(route.inbox, data)).read_bool().value();
    }

    static std::uint64_t next_inbound_nonce(const Route& route) {
        return to_u64(decode_nonce_result(
                          route.dst->call(route.inbox,
                                          inbox_next_inbound_nonce_calldata(route.src->chain_id())))
                          .value());
    }

    static std::uint64_t next_outbound_nonce(const Route& route) {
        return to_u64(decode_nonce_result(route.src->call(route.outbox, outbox_next_nonce_calldata(
                                                                            route.dst->chain_id())))
                          .value());
    }

    static std::uint64_t recipient_count(const Route& route) {
        return AbiDecoder(route.dst->call(route.recipient, call_data("count()")))
            .read_uint()
            .value();
    }

    static Bytes recipient_last_body(const Route& route) {
        return AbiDecoder(route.dst->call(route.recipient, call_data("lastBody()")))
            .read_bytes()
            .value();
    }

    static InboxState state_of(const Route& route, const PacketId& id) {
        return {delivered(route, id), next_inbound_nonce(route), recipient_count(route)};
    }

    /// Sends `calldata` to `to` on `chain` from `from`, and checks it is mined reverted with the
    /// Ferry error `name` and emits nothing. Returns the revert data.
    static Bytes expect_refused(ChainClient& chain, const DevAccount& from, const Address& to,
                                ByteView calldata, std::string_view name) {
        const auto receipt = chain.send(from, to, calldata);
        EXPECT_FALSE(receipt.success) << name;
        EXPECT_TRUE(receipt.logs.empty()) << name;
        const Bytes data = chain.revert_data(receipt.tx_hash);
        const auto reason = decode_revert(data);
        EXPECT_TRUE(reason) << name;
        if (reason) {
            EXPECT_EQ(reason->kind, RevertReason::Kind::custom) << describe(*reason);
        }
        EXPECT_EQ(ferry_error_name(data), std::optional<std::string_view>(name))
            << ferry::crypto::to_hex(data);
        return data;
    }

    /// A delivery of `sent` with `signatures` is refused with `name` and changes nothing.
    static void expect_delivery_refused(const Route& route, const Sent& sent, ByteView signatures,
                                        std::string_view name) {
        const InboxState before = state_of(route, sent.id);
        expect_refused(*route.dst, dev_account(kRelayer), route.inbox,
                       inbox_deliver_calldata(sent.packet, signatures), name);
        EXPECT_EQ(state_of(route, sent.id), before) << name;
    }

    /// Delivers and checks the receipt holds exactly one PacketDelivered for it.
    static TxReceipt expect_delivered(const Route& route, const Sent& sent, ByteView signatures,
                                      bool success = true) {
        const auto receipt = deliver(route, sent, signatures);
        EXPECT_TRUE(receipt.success);
        const auto logs = ferry::test::logs_with_topic(receipt.logs, packet_delivered_topic());
        EXPECT_EQ(logs.size(), 1u);
        if (logs.size() == 1) {
            EXPECT_EQ(logs[0].address, route.inbox);
            const auto event = decode_packet_delivered(logs[0]);
            EXPECT_TRUE(event);
            if (event) {
                EXPECT_EQ(event->id, sent.id);
                EXPECT_EQ(event->src_chain, route.src->chain_id());
                EXPECT_EQ(event->nonce, sent.nonce);
                EXPECT_EQ(event->success, success);
            }
        }
        return receipt;
    }

    static inline std::unique_ptr<AnvilProcess> anvil_a_;
    static inline std::unique_ptr<AnvilProcess> anvil_b_;
    static inline std::unique_ptr<ChainClient> a_;
    static inline std::unique_ptr<ChainClient> b_;

    Route route_;
};

}  // namespace

TEST_F(contracts_onchain, chains_and_dev_accounts_are_as_expected) {
    EXPECT_EQ(to_u64(a_->chain_id()), kChainA);
    EXPECT_EQ(to_u64(b_->chain_id()), kChainB);
    // Ferry derives the addresses anvil reports for its dev keys.
    const auto listed = a_->rpc().call("eth_accounts");
    ASSERT_EQ(listed.size(), ferry::test::kDevAccountCount);
    for (std::size_t i = 0; i < ferry::test::kDevAccountCount; ++i)
        EXPECT_EQ(Address::from_hex(listed[i].get<std::string>()).value(), dev_account(i).address)
            << i;

    // configureSource stored what Ferry's calldata said.
    const auto data =
        AbiEncoder().add_uint(kChainA).encode_call(function_selector("validatorSet(uint64)"));
    const Bytes answer = b_->call(route_.inbox, data);
    AbiDecoder decoder(answer);
    EXPECT_EQ(decoder.read_address().value(), route_.outbox);
    const auto validators = decoder.read_address_array().value();
    ASSERT_EQ(validators.size(), kValidators.size());
    for (std::size_t i = 0; i < kValidators.size(); ++i)
        EXPECT_EQ(validators[i], dev_account(kValidators[i]).address);
    EXPECT_EQ(decoder.read_uint(8).value(), kThreshold);
    EXPECT_TRUE(decoder.read_bool().value());
    EXPECT_EQ(next_inbound_nonce(route_), 1u);
}

TEST_F(contracts_onchain, packet_sent_log_decodes_to_the_packet_ferry_encodes) {
    const Bytes body = body_of("hello ferry");
    const std::uint64_t expiry = 4'000'000'000;
    const auto sender = dev_account(kSender);
    const Bytes calldata =
        outbox_send_calldata(ChainId{kChainB}, address_to_bytes32(route_.recipient), expiry, body);
    EXPECT_EQ(next_outbound_nonce(route_), 1u);

    // The id send() returns in a simulation is the id of the packet it then sends.
    const auto predicted = decode_send_result(a_->call(route_.outbox, calldata, sender.address));
    ASSERT_TRUE(predicted);

    const auto receipt = a_->send(sender, route_.outbox, calldata);
    ASSERT_TRUE(receipt.success);
    const auto logs = a_->get_logs(route_.outbox, packet_sent_topic(), receipt.block_number,
                                   receipt.block_number);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_EQ(logs[0].tx_hash, receipt.tx_hash);
    const auto event = decode_packet_sent(logs[0]);
    ASSERT_TRUE(event) << event.error().message();

    Packet expected;
    expected.nonce = Nonce{1};
    expected.src_chain = ChainId{kChainA};
    expected.sender = address_to_bytes32(sender.address);
    expected.dst_chain = ChainId{kChainB};
    expected.recipient = address_to_bytes32(route_.recipient);
    expected.expiry = expiry;
    expected.body = body;
    const Bytes encoded = encode(expected);
    EXPECT_EQ(event->packet, encoded);
    EXPECT_EQ(event->id, ferry::crypto::keccak256(encoded));
    EXPECT_EQ(logs[0].topics[1], ferry::crypto::keccak256(encoded));
    EXPECT_EQ(event->id, *predicted);
    EXPECT_EQ(event->dst_chain, ChainId{kChainB});
    EXPECT_EQ(event->nonce, Nonce{1});
    const auto decoded = decode_sent_packet(*event);
    ASSERT_TRUE(decoded) << decoded.error().message();
    EXPECT_EQ(*decoded, expected);
    EXPECT_EQ(next_outbound_nonce(route_), 2u);

    // The next packet towards B takes the next nonce; another destination has its own count.
    EXPECT_EQ(send_packet(route_, body).nonce, Nonce{2});
    EXPECT_EQ(send_packet(route_, body, 0, ChainId{kOtherChain}).nonce, Nonce{1});
}

TEST_F(contracts_onchain, attestation_equals_anvils_eth_sign_of_the_message) {
    const auto sent = send_packet(route_, body_of("attest me"));
    const Hash32 domain = ferry::crypto::attestation_domain(ChainId{kChainA}, route_.outbox);
    const Hash32 message = ferry::crypto::keccak256(concat({domain.view(), sent.id.view()}));
    for (const auto i : kValidators) {
        const auto validator = dev_account(i);
        const auto by_anvil =
            a_->rpc().call("eth_sign", {validator.address.hex(), message.hex()}).get<std::string>();
        const Signature ours =
            ferry::test::attest(ChainId{kChainA}, route_.outbox, sent.id, validator.key);
        EXPECT_EQ(ours.hex(), by_anvil) << i;
    }
}

TEST_F(contracts_onchain, two_of_three_bundle_delivers_the_body_to_the_recipient) {
    const Bytes body = body_of("first body");
    const auto sent = send_packet(route_, body);
    EXPECT_FALSE(delivered(route_, sent.id));

    expect_delivered(route_, sent, bundle(route_, sent));
    EXPECT_TRUE(delivered(route_, sent.id));
    EXPECT_FALSE(failed(route_, sent.id));
    EXPECT_EQ(next_inbound_nonce(route_), 2u);
    EXPECT_EQ(recipient_count(route_), 1u);
    EXPECT_EQ(recipient_last_body(route_), body);
    EXPECT_EQ(
        AbiDecoder(b_->call(route_.recipient, call_data("lastSender()"))).read_bytes32().value(),
        address_to_bytes32(dev_account(kSender).address));
    EXPECT_EQ(
        AbiDecoder(b_->call(route_.recipient, call_data("lastSrcChainId()"))).read_uint().value(),
        kChainA);

    // Any two of the three will do, in whatever order they were collected.
    const Bytes second_body = body_of("second body");
    const auto second = send_packet(route_, second_body);
    expect_delivered(route_, second, bundle(route_, second, accounts({3, 2})));
    EXPECT_TRUE(delivered(route_, second.id));
    EXPECT_EQ(recipient_count(route_), 2u);
    EXPECT_EQ(recipient_last_body(route_), second_body);
}

TEST_F(contracts_onchain, second_delivery_is_refused_as_replay) {
    const auto sent = send_packet(route_, body_of("once"));
    expect_delivered(route_, sent, bundle(route_, sent));
    // Same bundle, and another valid pair of signers: both are replays.
    expect_delivery_refused(route_, sent, bundle(route_, sent), "AlreadyDelivered");
    expect_delivery_refused(route_, sent, bundle(route_, sent, accounts({1, 3})),
                            "AlreadyDelivered");
    EXPECT_EQ(recipient_count(route_), 1u);
}

TEST_F(contracts_onchain, signer_outside_the_set_is_refused) {
    const auto sent = send_packet(route_, body_of("outsider"));
    expect_delivery_refused(route_, sent, bundle(route_, sent, accounts({1, kOutsider})),
                            "UnknownSigner");
    // The relayer's own key is no validator either.
    expect_delivery_refused(route_, sent, bundle(route_, sent, accounts({kRelayer, 2})),
                            "UnknownSigner");
    expect_delivered(route_, sent, bundle(route_, sent));
}

TEST_F(contracts_onchain, same_signer_twice_is_refused) {
    const auto sent = send_packet(route_, body_of("twice"));
    const Signature one =
        ferry::test::attest(ChainId{kChainA}, route_.outbox, sent.id, dev_account(1).key);
    expect_delivery_refused(route_, sent, concat({one.view(), one.view()}), "SignersNotAscending");
    expect_delivered(route_, sent, bundle(route_, sent));
}

TEST_F(contracts_onchain, signatures_out_of_order_are_refused) {
    const auto sent = send_packet(route_, body_of("order"));
    const Bytes ascending = bundle(route_, sent);
    ASSERT_EQ(ascending.size(), 130u);
    // The same two signatures, swapped: descending signer order.
    const Bytes descending =
        concat({ByteView(ascending).subspan(65, 65), ByteView(ascending).subspan(0, 65)});
    expect_delivery_refused(route_, sent, descending, "SignersNotAscending");
    expect_delivered(route_, sent, ascending);
}

TEST_F(contracts_onchain, bundle_below_threshold_is_refused) {
    const auto sent = send_packet(route_, body_of("one is not enough"));
    expect_delivery_refused(route_, sent, bundle(route_, sent, accounts({1})), "BadSignatureCount");
    expect_delivery_refused(route_, sent, Bytes{}, "BadSignatureCount");
    // More than the threshold is not accepted either: the bundle has exactly threshold entries.
    expect_delivery_refused(route_, sent, bundle(route_, sent, accounts({1, 2, 3})),
                            "BadSignatureCount");
    expect_delivered(route_, sent, bundle(route_, sent));
}

TEST_F(contracts_onchain, high_s_signature_is_refused) {
    const auto sent = send_packet(route_, body_of("malleable"));
    const auto low = accounts({1, 2});
    Bytes signatures = bundle(route_, sent, low);
    const Signature first = Signature::from_bytes(ByteView(signatures).first(65)).value();
    const Signature twin = ferry::test::high_s_twin(first);
    ASSERT_FALSE(ferry::crypto::is_low_s(twin));

    // The twin is a valid signature by the same validator as the ecrecover precompile sees it.
    const Hash32 digest =
        ferry::crypto::attestation_digest(ChainId{kChainA}, route_.outbox, sent.id);
    const Bytes input = AbiEncoder()
                            .add_bytes32(digest)
                            .add_uint(twin[64])
                            .add_fixed_bytes(twin.view().subspan(0, 32))
                            .add_fixed_bytes(twin.view().subspan(32, 32))
                            .encode();
    const auto ecrecover = Address::from_hex("0x0000000000000000000000000000000000000001").value();
    const Bytes recovered = b_->call(ecrecover, input);
    const Address lower = std::min(low[0].address, low[1].address);
    EXPECT_EQ(AbiDecoder(recovered).read_address().value(), lower);

    std::copy(twin.bytes.begin(), twin.bytes.end(), signatures.begin());
    expect_delivery_refused(route_, sent, signatures, "MalformedSignature");
    expect_delivered(route_, sent, bundle(route_, sent, low));
}

TEST_F(contracts_onchain, packet_for_another_destination_is_refused) {
    const auto sent = send_packet(route_, body_of("elsewhere"), 0, ChainId{kOtherChain});
    expect_delivery_refused(route_, sent, bundle(route_, sent), "WrongDestination");
    EXPECT_EQ(next_inbound_nonce(route_), 1u);
}

TEST_F(contracts_onchain, packet_past_its_expiry_is_refused) {
    const std::uint64_t expiry = b_->latest_timestamp() + 60;
    const auto on_time = send_packet(route_, body_of("just in time"), expiry);
    const auto late = send_packet(route_, body_of("too late"), expiry);

    // A block at exactly the expiry still accepts; one second later refuses.
    b_->set_next_block_timestamp(expiry);
    expect_delivered(route_, on_time, bundle(route_, on_time));
    b_->set_next_block_timestamp(expiry + 1);
    expect_delivery_refused(route_, late, bundle(route_, late), "PacketExpired");
    EXPECT_GT(b_->latest_timestamp(), expiry);

    // An expiry long past is refused too.
    const auto ancient = send_packet(route_, body_of("ancient"), 1);
    expect_delivery_refused(route_, ancient, bundle(route_, ancient), "PacketExpired");
}

TEST_F(contracts_onchain, out_of_order_nonce_is_refused_on_an_ordered_source) {
    const auto first = send_packet(route_, body_of("nonce 1"));
    const auto second = send_packet(route_, body_of("nonce 2"));
    ASSERT_EQ(second.nonce, Nonce{2});
    expect_delivery_refused(route_, second, bundle(route_, second), "NonceOutOfOrder");
    expect_delivered(route_, first, bundle(route_, first));
    expect_delivered(route_, second, bundle(route_, second));
    EXPECT_EQ(next_inbound_nonce(route_), 3u);
}

TEST_F(contracts_onchain, body_over_the_limit_is_refused_by_the_outbox) {
    const Bytes too_large(kMaxBodyBytes + 1, 0xab);
    const Bytes revert = expect_refused(
        *a_, dev_account(kSender), route_.outbox,
        outbox_send_calldata(ChainId{kChainB}, address_to_bytes32(route_.recipient), 0, too_large),
        "BodyTooLarge");
    ASSERT_GE(revert.size(), 4u);
    AbiDecoder args(ByteView(revert).subspan(4));
    EXPECT_EQ(args.read_uint().value(), kMaxBodyBytes + 1);
    EXPECT_EQ(args.read_uint().value(), kMaxBodyBytes);
    EXPECT_EQ(next_outbound_nonce(route_), 1u);

    // Exactly the limit is accepted, takes nonce 1 and passes the Inbox's checks. Storing 32 KiB
    // costs the TestRecipient far more than its 200k gas, so the packet is delivered as failed.
    const Bytes at_limit(kMaxBodyBytes, 0xcd);
    const auto sent = send_packet(route_, at_limit);
    EXPECT_EQ(sent.nonce, Nonce{1});
    EXPECT_EQ(sent.packet.size(), kPacketHeaderSize + kMaxBodyBytes);
    expect_delivered(route_, sent, bundle(route_, sent), /*success=*/false);
    EXPECT_TRUE(delivered(route_, sent.id));
    EXPECT_TRUE(failed(route_, sent.id));
    EXPECT_EQ(next_inbound_nonce(route_), 2u);
}

TEST_F(contracts_onchain, reverting_recipient_fails_the_packet_and_retry_delivers_it_later) {
    const auto owner = dev_account(kOwner);
    const auto set_should_revert = [&](bool value) {
        const auto receipt = b_->send(
            owner, route_.recipient,
            AbiEncoder().add_bool(value).encode_call(function_selector("setShouldRevert(bool)")));
        ASSERT_TRUE(receipt.success);
    };

    const Bytes body = body_of("refused at first");
    const auto sent = send_packet(route_, body);
    set_should_revert(true);
    expect_delivered(route_, sent, bundle(route_, sent), /*success=*/false);
    EXPECT_TRUE(delivered(route_, sent.id));
    EXPECT_TRUE(failed(route_, sent.id));
    EXPECT_EQ(next_inbound_nonce(route_), 2u);
    EXPECT_EQ(recipient_count(route_), 0u);

    // A retry while the recipient still reverts is refused and carries the recipient's reason.
    const Bytes retry = inbox_retry_failed_calldata(sent.packet);
    const Bytes reverted =
        expect_refused(*b_, dev_account(kRelayer), route_.inbox, retry, "RecipientReverted");
    AbiDecoder reverted_args(ByteView(reverted).subspan(std::min<std::size_t>(4, reverted.size())));
    EXPECT_EQ(reverted_args.read_bytes32().value(), sent.id);
    const Bytes inner = reverted_args.read_bytes().value();
    ASSERT_EQ(inner.size(), 4u);
    EXPECT_EQ(Selector::from_bytes(inner).value(), function_selector("Refused()"));
    EXPECT_TRUE(failed(route_, sent.id));

    // The channel is not blocked: the next nonce is delivered meanwhile.
    set_should_revert(false);
    const auto next = send_packet(route_, body_of("the next one"));
    expect_delivered(route_, next, bundle(route_, next));
    EXPECT_EQ(recipient_count(route_), 1u);

    // Anyone (here the sender) may retry; it succeeds once, then there is nothing to retry.
    const auto retried = b_->send(dev_account(kSender), route_.inbox, retry);
    ASSERT_TRUE(retried.success);
    const auto retried_logs = ferry::test::logs_with_topic(
        retried.logs, event_topic("PacketRetried(bytes32,uint64,uint64)"));
    ASSERT_EQ(retried_logs.size(), 1u);
    EXPECT_EQ(retried_logs[0].topics.at(1), sent.id);
    EXPECT_FALSE(failed(route_, sent.id));
    EXPECT_TRUE(delivered(route_, sent.id));
    EXPECT_EQ(recipient_count(route_), 2u);
    EXPECT_EQ(recipient_last_body(route_), body);
    EXPECT_EQ(next_inbound_nonce(route_), 3u);
    expect_refused(*b_, dev_account(kRelayer), route_.inbox, retry, "NotFailed");
    EXPECT_EQ(recipient_count(route_), 2u);
}

TEST_F(contracts_onchain, batch_delivers_exactly_the_new_valid_packets) {
    std::vector<Sent> p;  // p[0] unused: p[n] carries nonce n
    p.emplace_back();
    for (std::uint64_t n = 1; n <= 6; ++n) {
        p.push_back(send_packet(route_, body_of("batch " + std::to_string(n))));
        ASSERT_EQ(p.back().nonce, Nonce{n});
    }
    const auto elsewhere = send_packet(route_, body_of("elsewhere"), 0, ChainId{kOtherChain});
    expect_delivered(route_, p[1], bundle(route_, p[1]));

    const auto good = [&](const Sent& s) { return Delivery{s.packet, bundle(route_, s)}; };
    const Delivery outsider{p[3].packet, bundle(route_, p[3], accounts({1, kOutsider}))};
    const std::vector<Delivery> batch = {
        good(p[1]),       // already delivered: skipped
        good(p[2]),       // delivered
        outsider,         // UnknownSigner
        good(p[3]),       // delivered
        good(elsewhere),  // WrongDestination
        good(p[4]),       // delivered
        good(p[2]),       // delivered above: skipped
        good(p[6]),       // NonceOutOfOrder (5 is due)
    };
    const auto receipt = deliver_batch(route_, batch);
    ASSERT_TRUE(receipt.success);

    std::vector<PacketDeliveredEvent> delivered_events;
    for (const auto& log : ferry::test::logs_with_topic(receipt.logs, packet_delivered_topic())) {
        EXPECT_EQ(log.address, route_.inbox);
        delivered_events.push_back(decode_packet_delivered(log).value());
    }
    ASSERT_EQ(delivered_events.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        const Sent& expected = p[i + 2];
        EXPECT_EQ(delivered_events[i].id, expected.id) << i;
        EXPECT_EQ(delivered_events[i].nonce, expected.nonce) << i;
        EXPECT_EQ(delivered_events[i].src_chain, ChainId{kChainA}) << i;
        EXPECT_TRUE(delivered_events[i].success) << i;
    }

    std::vector<PacketRejectedEvent> rejected;
    for (const auto& log : ferry::test::logs_with_topic(receipt.logs, packet_rejected_topic())) {
        EXPECT_EQ(log.address, route_.inbox);
        rejected.push_back(decode_packet_rejected(log).value());
    }
    ASSERT_EQ(rejected.size(), 3u);
    EXPECT_EQ(rejected[0].id, p[3].id);
    EXPECT_EQ(rejected[0].reason, "UnknownSigner");
    EXPECT_EQ(rejected[1].id, elsewhere.id);
    EXPECT_EQ(rejected[1].reason, "WrongDestination");
    EXPECT_EQ(rejected[2].id, p[6].id);
    EXPECT_EQ(rejected[2].reason, "NonceOutOfOrder");

    for (std::size_t n = 1; n <= 4; ++n) EXPECT_TRUE(delivered(route_, p[n].id)) << n;
    EXPECT_FALSE(delivered(route_, p[5].id));
    EXPECT_FALSE(delivered(route_, p[6].id));
    EXPECT_FALSE(delivered(route_, elsewhere.id));
    EXPECT_EQ(next_inbound_nonce(route_), 5u);
    EXPECT_EQ(recipient_count(route_), 4u);

    // What the batch rejected is still deliverable in order.
    const auto rest = deliver_batch(route_, {good(p[5]), good(p[6])});
    ASSERT_TRUE(rest.success);
    EXPECT_EQ(ferry::test::logs_with_topic(rest.logs, packet_delivered_topic()).size(), 2u);
    EXPECT_TRUE(ferry::test::logs_with_topic(rest.logs, packet_rejected_topic()).empty());
    EXPECT_EQ(next_inbound_nonce(route_), 7u);
    EXPECT_EQ(recipient_count(route_), 6u);
}

TEST_F(contracts_onchain, batch_of_twenty_costs_less_gas_per_packet_than_single_delivery) {
    const auto first = send_packet(route_, body_of("single 1"));
    const auto second = send_packet(route_, body_of("single 2"));
    const std::uint64_t single_first =
        expect_delivered(route_, first, bundle(route_, first)).gas_used;
    const std::uint64_t single = expect_delivered(route_, second, bundle(route_, second)).gas_used;

    constexpr std::size_t kBatch = 20;
    std::vector<Delivery> batch;
    std::vector<Sent> sent;
    for (std::size_t i = 0; i < kBatch; ++i) {
        sent.push_back(send_packet(route_, body_of("batch body " + std::to_string(i))));
        batch.push_back({sent.back().packet, bundle(route_, sent.back())});
    }
    const auto receipt = deliver_batch(route_, batch);
    ASSERT_TRUE(receipt.success);
    const auto events = ferry::test::logs_with_topic(receipt.logs, packet_delivered_topic());
    ASSERT_EQ(events.size(), kBatch);
    for (std::size_t i = 0; i < kBatch; ++i) {
        const auto event = decode_packet_delivered(events[i]).value();
        EXPECT_EQ(event.id, sent[i].id);
        EXPECT_TRUE(event.success);
    }
    EXPECT_EQ(recipient_count(route_), kBatch + 2);
    const std::uint64_t per_packet = receipt.gas_used / kBatch;

    std::cout << "[gas] deliver (first, cold): " << single_first << "\n"
              << "[gas] deliver (second): " << single << "\n"
              << "[gas] deliverBatch(" << kBatch << "): " << receipt.gas_used << " = " << per_packet
              << " per packet\n";
    RecordProperty("gas_deliver_first", std::to_string(single_first));
    RecordProperty("gas_deliver", std::to_string(single));
    RecordProperty("gas_deliver_batch_20", std::to_string(receipt.gas_used));
    RecordProperty("gas_deliver_batch_20_per_packet", std::to_string(per_packet));

    // Loose sanity bounds only: exact figures depend on the compiler and the hardfork.
    EXPECT_GT(single, 21'000u);
    EXPECT_LT(single, 1'000'000u);
    EXPECT_LT(per_packet, single);
}

TEST_F(contracts_onchain, reverse_route_delivers_from_b_to_a) {
    const Route reverse = deploy_route(*b_, *a_);
    const Bytes body = body_of("from B to A");
    const auto sent = send_packet(reverse, body);
    const auto packet = decode_packet(sent.packet).value();
    EXPECT_EQ(packet.src_chain, ChainId{kChainB});
    EXPECT_EQ(packet.dst_chain, ChainId{kChainA});
    expect_delivered(reverse, sent, bundle(reverse, sent, accounts({2, 3})));
    EXPECT_TRUE(delivered(reverse, sent.id));
    EXPECT_EQ(recipient_last_body(reverse), body);
    EXPECT_EQ(
        AbiDecoder(a_->call(reverse.recipient, call_data("lastSrcChainId()"))).read_uint().value(),
        kChainB);

    // A bundle for the A→B route's domain does not pass on B→A: the domain binds the Outbox.
    const auto again = send_packet(reverse, body);
    const Bytes wrong_domain =
        ferry::test::signature_bundle(ChainId{kChainA}, route_.outbox, again.id, accounts({1, 2}));
    EXPECT_EQ(state_of(reverse, again.id).next_inbound_nonce, 2u);
    expect_delivery_refused(reverse, again, wrong_domain, "UnknownSigner");
}
