// Proves Ferry's calldata, event, return-value and revert decoding agree with what solc and anvil
// produce, and that malformed logs fail with the precise error.
#include "chains/evm/ferry_abi.hpp"
#include "crypto/hex.hpp"
#include "tests/support/vectors.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace ferry::chains::evm;
using ferry::crypto::Address;
using ferry::crypto::Bytes;
using ferry::crypto::ByteView;
using ferry::crypto::ChainId;
using ferry::crypto::from_hex;
using ferry::crypto::Hash32;
using ferry::crypto::Nonce;
using ferry::crypto::to_hex;
using ferry::crypto::to_u64;
using nlohmann::json;

namespace {

std::uint64_t u64_of(const json& v) { return std::stoull(v.get<std::string>()); }
std::uint64_t quantity(const json& v) {
    return std::stoull(v.get<std::string>().substr(2), nullptr, 16);
}
Bytes bytes_of(const json& v) { return from_hex(v.get<std::string>()).value(); }
Hash32 hash_of(const json& v) { return Hash32::from_hex(v.get<std::string>()).value(); }
Address address_of(const json& v) { return Address::from_hex(v.get<std::string>()).value(); }

/// An eth_getLogs entry, parsed here by hand (the RPC layer owns the real JSON mapping).
Log log_of(const json& j) {
    Log log;
    log.address = address_of(j["address"]);
    for (const auto& t : j["topics"]) log.topics.push_back(hash_of(t));
    log.data = bytes_of(j["data"]);
    log.block_number = quantity(j["blockNumber"]);
    log.block_hash = hash_of(j["blockHash"]);
    log.tx_hash = hash_of(j["transactionHash"]);
    log.log_index = quantity(j["logIndex"]);
    log.removed = j["removed"].get<bool>();
    return log;
}

const json& vectors() {
    static const json doc = ferry::test::load_vectors("ferry_abi.json");
    return doc;
}

const json& calldata_vector(const std::string& function, std::size_t nth = 0) {
    for (const auto& v : vectors()["calldata"])
        if (v["function"] == function && nth-- == 0) return v;
    throw std::runtime_error("no calldata vector for " + function);
}

const json& event_vector(const std::string& event) {
    for (const auto& v : vectors()["events"])
        if (v["event"] == event) return v;
    throw std::runtime_error("no event vector for " + event);
}

std::string hex(const Bytes& b) { return to_hex(b); }

}  // namespace

TEST(ferry_abi, calldata_matches_solc_abi_encode_call) {
    ASSERT_EQ(vectors()["calldata"].size(), 9u);
    {
        const auto& v = calldata_vector(std::string(kOutboxSendSignature));
        const auto& a = v["args"];
        EXPECT_EQ(hex(outbox_send_calldata(ChainId{u64_of(a["dst_chain"])}, hash_of(a["recipient"]),
                                           u64_of(a["expiry"]), bytes_of(a["body"]))),
                  v["calldata"]);
    }
    {
        const auto& v = calldata_vector(std::string(kOutboxNextNonceSignature));
        EXPECT_EQ(hex(outbox_next_nonce_calldata(ChainId{u64_of(v["args"]["dst_chain"])})),
                  v["calldata"]);
    }
    {
        const auto& v = calldata_vector(std::string(kInboxDeliverSignature));
        EXPECT_EQ(hex(inbox_deliver_calldata(bytes_of(v["args"]["packet"]),
                                             bytes_of(v["args"]["signatures"]))),
                  v["calldata"]);
    }
    for (std::size_t nth = 0; nth < 2; ++nth) {
        const auto& v = calldata_vector(std::string(kInboxDeliverBatchSignature), nth);
        std::vector<Delivery> batch;
        for (std::size_t i = 0; i < v["args"]["packets"].size(); ++i)
            batch.push_back(
                {bytes_of(v["args"]["packets"][i]), bytes_of(v["args"]["signatures"][i])});
        EXPECT_EQ(hex(inbox_deliver_batch_calldata(batch)), v["calldata"]) << nth;
    }
    {
        const auto& v = calldata_vector(std::string(kInboxRetryFailedSignature));
        EXPECT_EQ(hex(inbox_retry_failed_calldata(bytes_of(v["args"]["packet"]))), v["calldata"]);
    }
    {
        const auto& v = calldata_vector(std::string(kInboxConfigureSourceSignature));
        const auto& a = v["args"];
        std::vector<Address> validators;
        for (const auto& x : a["validators"]) validators.push_back(address_of(x));
        EXPECT_EQ(hex(inbox_configure_source_calldata(
                      ChainId{u64_of(a["src_chain"])}, address_of(a["outbox"]), validators,
                      a["threshold"].get<std::uint8_t>(), a["ordered"].get<bool>())),
                  v["calldata"]);
    }
    {
        const auto& v = calldata_vector(std::string(kInboxDeliveredSignature));
        EXPECT_EQ(hex(inbox_delivered_calldata(hash_of(v["args"]["id"]))), v["calldata"]);
    }
    {
        const auto& v = calldata_vector(std::string(kInboxNextInboundNonceSignature));
        EXPECT_EQ(hex(inbox_next_inbound_nonce_calldata(ChainId{u64_of(v["args"]["src_chain"])})),
                  v["calldata"]);
    }
}

TEST(ferry_abi, deliver_batch_calldata_decodes_back) {
    const auto& v = calldata_vector(std::string(kInboxDeliverBatchSignature));
    const Bytes calldata = bytes_of(v["calldata"]);
    auto d = decode_call(calldata, function_selector(kInboxDeliverBatchSignature));
    ASSERT_TRUE(d);
    const auto packets = d->read_bytes_array().value();
    const auto signatures = d->read_bytes_array().value();
    ASSERT_EQ(packets.size(), 2u);
    EXPECT_EQ(packets[1], bytes_of(v["args"]["packets"][1]));
    EXPECT_EQ(signatures[1], bytes_of(v["args"]["signatures"][1]));
}

TEST(ferry_abi, decodes_events_as_anvil_returns_them) {
    std::size_t sent = 0;
    for (const auto& v : vectors()["events"]) {
        const Log log = log_of(v["log"]);
        const auto& e = v["expect"];
        const std::string event = v["event"];
        if (event == "PacketSent") {
            auto ev = decode_packet_sent(log);
            ASSERT_TRUE(ev) << ev.error().message();
            EXPECT_EQ(ev->id, hash_of(e["id"]));
            EXPECT_EQ(to_u64(ev->dst_chain), u64_of(e["dst_chain"]));
            EXPECT_EQ(to_u64(ev->nonce), u64_of(e["nonce"]));
            EXPECT_EQ(hex(ev->packet), e["packet"]);
            auto p = decode_sent_packet(*ev);
            ASSERT_TRUE(p) << p.error().message();
            EXPECT_EQ(p->nonce, ev->nonce);
            ++sent;
        } else if (event == "PacketDelivered") {
            auto ev = decode_packet_delivered(log);
            ASSERT_TRUE(ev) << ev.error().message();
            EXPECT_EQ(ev->id, hash_of(e["id"]));
            EXPECT_EQ(to_u64(ev->src_chain), u64_of(e["src_chain"]));
            EXPECT_EQ(to_u64(ev->nonce), u64_of(e["nonce"]));
            EXPECT_EQ(ev->success, e["success"].get<bool>());
        } else {
            ASSERT_EQ(event, "PacketRejected");
            auto ev = decode_packet_rejected(log);
            ASSERT_TRUE(ev) << ev.error().message();
            EXPECT_EQ(ev->id, hash_of(e["id"]));
            EXPECT_EQ(ev->reason, e["reason"].get<std::string>());
        }
    }
    EXPECT_EQ(sent, 4u);
}

TEST(ferry_abi, topics_are_the_event_signatures_anvil_logged) {
    EXPECT_EQ(packet_sent_topic(), hash_of(event_vector("PacketSent")["log"]["topics"][0]));
    EXPECT_EQ(packet_delivered_topic(),
              hash_of(event_vector("PacketDelivered")["log"]["topics"][0]));
    EXPECT_EQ(packet_rejected_topic(), hash_of(event_vector("PacketRejected")["log"]["topics"][0]));
}

TEST(ferry_abi, rejects_logs_of_other_events) {
    const Log sent = log_of(event_vector("PacketSent")["log"]);
    const Log delivered = log_of(event_vector("PacketDelivered")["log"]);
    const Log rejected = log_of(event_vector("PacketRejected")["log"]);
    EXPECT_EQ(decode_packet_sent(delivered).error(), Error::abi_wrong_topic);
    EXPECT_EQ(decode_packet_delivered(sent).error(), Error::abi_wrong_topic);
    EXPECT_EQ(decode_packet_rejected(sent).error(), Error::abi_wrong_topic);
    EXPECT_EQ(decode_packet_sent(rejected).error(), Error::abi_wrong_topic);
    Log anonymous = sent;
    anonymous.topics.clear();
    EXPECT_EQ(decode_packet_sent(anonymous).error(), Error::abi_wrong_topic_count);
}

TEST(ferry_abi, rejects_wrong_topic_counts) {
    Log sent = log_of(event_vector("PacketSent")["log"]);
    sent.topics.pop_back();
    EXPECT_EQ(decode_packet_sent(sent).error(), Error::abi_wrong_topic_count);
    sent.topics.push_back(Hash32{});
    sent.topics.push_back(Hash32{});
    EXPECT_EQ(decode_packet_sent(sent).error(), Error::abi_wrong_topic_count);
    Log rejected = log_of(event_vector("PacketRejected")["log"]);
    rejected.topics.push_back(Hash32{});
    EXPECT_EQ(decode_packet_rejected(rejected).error(), Error::abi_wrong_topic_count);
    Log delivered = log_of(event_vector("PacketDelivered")["log"]);
    delivered.topics.resize(1);
    EXPECT_EQ(decode_packet_delivered(delivered).error(), Error::abi_wrong_topic_count);
}

TEST(ferry_abi, rejects_uint64_topics_out_of_range) {
    Log sent = log_of(event_vector("PacketSent")["log"]);
    sent.topics[2][23] = 0x01;  // dstChainId = 2^64 + ...
    EXPECT_EQ(decode_packet_sent(sent).error(), Error::abi_value_out_of_range);
    Log delivered = log_of(event_vector("PacketDelivered")["log"]);
    delivered.topics[3][0] = 0x80;
    EXPECT_EQ(decode_packet_delivered(delivered).error(), Error::abi_value_out_of_range);
}

TEST(ferry_abi, rejects_malformed_event_data) {
    const Log sent = log_of(event_vector("PacketSent")["log"]);
    {
        Log l = sent;
        l.data.resize(l.data.size() - 1);
        EXPECT_EQ(decode_packet_sent(l).error(), Error::abi_truncated);
    }
    {
        Log l = sent;
        l.data.back() = 0x01;  // padding after the packet bytes
        EXPECT_EQ(decode_packet_sent(l).error(), Error::abi_bad_padding);
    }
    {
        Log l = sent;
        l.data[31] = 0x21;  // offset not a multiple of 32
        EXPECT_EQ(decode_packet_sent(l).error(), Error::abi_bad_offset);
    }
    {
        Log l = sent;
        for (std::size_t i = 56; i < 64; ++i) l.data[i] = 0xff;  // length 2^64-1
        EXPECT_EQ(decode_packet_sent(l).error(), Error::abi_too_large);
    }
    {
        Log l = sent;
        l.data.clear();
        EXPECT_EQ(decode_packet_sent(l).error(), Error::abi_truncated);
    }
    {
        Log l = log_of(event_vector("PacketDelivered")["log"]);
        l.data[31] = 0x02;  // bool 2
        EXPECT_EQ(decode_packet_delivered(l).error(), Error::abi_value_out_of_range);
    }
    {
        Log l = log_of(event_vector("PacketRejected")["log"]);
        l.data.resize(64);  // string length without its content
        EXPECT_EQ(decode_packet_rejected(l).error(), Error::abi_truncated);
    }
}

TEST(ferry_abi, sent_packet_must_match_its_event) {
    const auto ev = decode_packet_sent(log_of(event_vector("PacketSent")["log"])).value();
    {
        PacketSentEvent e = ev;
        e.nonce = Nonce{to_u64(e.nonce) + 1};
        EXPECT_EQ(decode_sent_packet(e).error(), Error::packet_event_mismatch);
    }
    {
        PacketSentEvent e = ev;
        e.dst_chain = ChainId{to_u64(e.dst_chain) + 1};
        EXPECT_EQ(decode_sent_packet(e).error(), Error::packet_event_mismatch);
    }
    {
        PacketSentEvent e = ev;
        e.id[0] ^= 0x01;
        EXPECT_EQ(decode_sent_packet(e).error(), Error::packet_id_mismatch);
    }
    {
        PacketSentEvent e = ev;
        e.packet.resize(50);
        EXPECT_EQ(decode_sent_packet(e).error(), Error::packet_too_short);
    }
    // The second PacketSent vector carries an 11-byte body.
    const auto& v = vectors()["events"][1];
    ASSERT_EQ(v["packet_index"], 1);
    const auto ev1 = decode_packet_sent(log_of(v["log"])).value();
    EXPECT_EQ(decode_sent_packet(ev1, 10).error(), Error::packet_body_too_large);
    EXPECT_TRUE(decode_sent_packet(ev1, 11));
}

TEST(ferry_abi, decodes_revert_data_from_anvil) {
    ASSERT_EQ(vectors()["reverts"].size(), 7u);
    for (const auto& v : vectors()["reverts"]) {
        const Bytes data = bytes_of(v["data"]);
        auto r = decode_revert(data);
        ASSERT_TRUE(r) << v["call"];
        EXPECT_EQ(r->data, data);
        const std::string kind = v["expect"]["kind"];
        if (kind == "empty") {
            EXPECT_EQ(r->kind, RevertReason::Kind::empty);
            EXPECT_EQ(describe(*r), "reverted without data");
        } else if (kind == "error_string") {
            EXPECT_EQ(r->kind, RevertReason::Kind::error_string);
            EXPECT_EQ(r->message, v["expect"]["message"].get<std::string>());
            EXPECT_EQ(describe(*r), "reverted: \"" + r->message + "\"");
        } else if (kind == "panic") {
            EXPECT_EQ(r->kind, RevertReason::Kind::panic);
            EXPECT_EQ(r->panic_code.to_u64(), v["expect"]["code"].get<std::uint64_t>());
        } else {
            EXPECT_EQ(r->kind, RevertReason::Kind::custom);
            EXPECT_EQ(describe(*r), "custom error " + to_hex(ByteView(data).first(4)) + " (" +
                                        std::to_string(data.size()) + " bytes)");
        }
    }
}

TEST(ferry_abi, describes_panics_and_escapes_messages) {
    RevertReason panic;
    panic.kind = RevertReason::Kind::panic;
    panic.panic_code = U256::from_u64(0x11);
    EXPECT_EQ(describe(panic), "panic 0x11 (arithmetic overflow or underflow)");
    panic.panic_code = U256::from_u64(0x12);
    EXPECT_EQ(describe(panic), "panic 0x12 (division or modulo by zero)");
    RevertReason msg;
    msg.kind = RevertReason::Kind::error_string;
    msg.message = std::string("a\"b\n\x1b[31m", 9);
    EXPECT_EQ(describe(msg), "reverted: \"a\\\"b\\x0a\\x1b[31m\"");
}

TEST(ferry_abi, rejects_malformed_revert_data) {
    EXPECT_EQ(decode_revert(Bytes{0x08, 0xc3, 0x79}).error(), Error::abi_truncated);
    // Error(string) whose string runs past the end.
    Bytes cut = bytes_of(vectors()["reverts"][0]["data"]);
    cut.resize(cut.size() - 32);
    EXPECT_EQ(decode_revert(cut).error(), Error::abi_truncated);
    // Panic(uint256) without its code.
    EXPECT_EQ(decode_revert(Bytes{0x4e, 0x48, 0x7b, 0x71}).error(), Error::abi_truncated);
    // Error(string) with a huge length.
    Bytes huge = bytes_of(vectors()["reverts"][0]["data"]);
    for (std::size_t i = 4 + 32 + 24; i < 4 + 64; ++i) huge[i] = 0xff;
    EXPECT_EQ(decode_revert(huge).error(), Error::abi_too_large);
}

TEST(ferry_abi, names_the_contracts_custom_errors) {
    ASSERT_EQ(vectors()["ferry_errors"].size(), 20u);
    for (const auto& v : vectors()["ferry_errors"]) {
        const auto name = ferry_error_name(bytes_of(v["data"]));
        ASSERT_TRUE(name) << v["name"];
        EXPECT_EQ(*name, v["name"].get<std::string>());
    }
    EXPECT_FALSE(ferry_error_name(bytes_of(vectors()["reverts"][0]["data"])));
    EXPECT_FALSE(ferry_error_name(Bytes{0x35, 0x99, 0xaa}));
    EXPECT_FALSE(ferry_error_name(Bytes{}));
}

TEST(ferry_abi, decodes_return_values_from_anvil) {
    for (const auto& v : vectors()["returns"]) {
        const Bytes ret = bytes_of(v["returned"]);
        const std::string type = v["type"];
        if (type == "bool") {
            EXPECT_EQ(decode_delivered_result(ret).value(), v["value"].get<bool>());
        } else if (type == "uint64") {
            EXPECT_EQ(to_u64(decode_nonce_result(ret).value()), u64_of(v["value"]));
        } else {
            EXPECT_EQ(decode_send_result(ret).value(), hash_of(v["value"]));
        }
    }
    EXPECT_EQ(decode_delivered_result(Bytes(31, 0)).error(), Error::abi_truncated);
    Bytes two(32, 0);
    two[31] = 2;
    EXPECT_EQ(decode_delivered_result(two).error(), Error::abi_value_out_of_range);
    Bytes wide(32, 0);
    wide[23] = 1;
    EXPECT_EQ(decode_nonce_result(wide).error(), Error::abi_value_out_of_range);
}
