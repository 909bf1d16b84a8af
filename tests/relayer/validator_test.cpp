// The validator role on a scripted chain: it signs only packets its watcher saw confirmed, and
// each signature is over the attestation digest of docs/design.md §2 and recovers to its address.
#include "relayer/validator.hpp"
#include "relayer/watcher.hpp"

#include "crypto/eip191.hpp"
#include "crypto/keccak.hpp"
#include "crypto/secp256k1.hpp"
#include "tests/relayer/stage_fixture.hpp"
#include "tests/support/ferry_chain.hpp"

#include <string_view>

namespace ferry::test {
namespace {

using nlohmann::json;

// The first anvil development account.
constexpr crypto::Address kValidator = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"_address;

/// docs/design.md §2, written out: domain, message, then the EIP-191 digest.
crypto::Hash32 design_digest(crypto::ChainId src, const crypto::Address& outbox,
                             const crypto::PacketId& id) {
    crypto::Bytes domain_input;
    for (int shift = 56; shift >= 0; shift -= 8)
        domain_input.push_back(static_cast<std::uint8_t>(crypto::to_u64(src) >> shift));
    domain_input.insert(domain_input.end(), outbox.bytes.begin(), outbox.bytes.end());
    for (char c : std::string_view("FERRY")) domain_input.push_back(static_cast<std::uint8_t>(c));
    const auto domain = crypto::keccak256(domain_input);
    crypto::Bytes message_input(domain.bytes.begin(), domain.bytes.end());
    message_input.insert(message_input.end(), id.bytes.begin(), id.bytes.end());
    const auto message = crypto::keccak256(message_input);
    const std::string_view prefix =
        "\x19"
        "Ethereum Signed Message:\n32";
    crypto::Bytes digest_input(prefix.begin(), prefix.end());
    digest_input.insert(digest_input.end(), message.bytes.begin(), message.bytes.end());
    return crypto::keccak256(digest_input);
}

class ValidatorTest : public StageFixture {
protected:
    ValidatorTest()
        : watcher_(
              runtime_, *queue_, counters_, options(), [] {}, io_.get_executor()),
          validator_(runtime_, *queue_, counters_, dev_account(0).key, kValidator, kOutbox,
                     io_.get_executor()) {}

    static relayer::WatcherOptions options() {
        relayer::WatcherOptions o;
        o.outbox = kOutbox;
        o.first_log_span = 0;  // one watcher step covers every confirmed block: rounds count
        return o;
    }

    /// The watcher's step, then the signer's; how many packets were signed.
    std::size_t round() {
        run_task(io_, watcher_.step());
        return validator_.sign_pending();
    }

    json attestations(std::uint64_t from, std::uint64_t to) {
        auto r = validator_.get_attestations(
            {{"dst", crypto::to_u64(kDst)}, {"from_nonce", from}, {"to_nonce", to}});
        EXPECT_TRUE(r);
        return r ? (*r)["attestations"] : json::array();
    }

    relayer::Watcher watcher_;
    relayer::ValidatorRole validator_;
};

TEST_F(ValidatorTest, signs_only_confirmed_packets) {
    fake_->add_log(FakeChain::packet_sent_log(route_packet(1), kOutbox, 3));
    fake_->add_log(FakeChain::packet_sent_log(route_packet(2), kOutbox, 6));
    fake_->set_head(6);  // confirmations 2: block 6 is not confirmed yet

    EXPECT_EQ(round(), 1u);
    EXPECT_EQ(counters_.attestations_signed, 1u);
    auto list = attestations(1, 2);
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0]["nonce"], 1);
    EXPECT_EQ(list[0]["id"], id_of(route_packet(1)).hex());
    EXPECT_EQ(validator_.sign_pending(), 0u);  // nothing signed twice

    fake_->set_head(8);
    EXPECT_EQ(round(), 1u);
    EXPECT_EQ(attestations(1, 2).size(), 2u);
    EXPECT_EQ(counters_.attestations_signed, 2u);
}

TEST_F(ValidatorTest, signs_the_design_digest_with_its_own_key) {
    const auto packet = route_packet(1, 0x7e);
    fake_->add_log(FakeChain::packet_sent_log(packet, kOutbox, 2));
    fake_->set_head(5);
    ASSERT_EQ(round(), 1u);

    auto list = attestations(1, 1);
    ASSERT_EQ(list.size(), 1u);
    const auto id = id_of(packet);
    const auto signature = crypto::Signature::from_hex(list[0]["signature"].get<std::string>());
    ASSERT_TRUE(signature);

    const auto digest = design_digest(kSrc, kOutbox, id);
    EXPECT_EQ(crypto::attestation_digest(kSrc, kOutbox, id), digest);
    const auto& secp = crypto::Secp256k1Context::instance();
    auto signer = secp.recover_address(digest, *signature);
    ASSERT_TRUE(signer);
    EXPECT_EQ(*signer, kValidator);
    EXPECT_TRUE(crypto::is_low_s(*signature));
    const auto v = signature->bytes[64];
    EXPECT_TRUE(v == 27 || v == 28);

    // Bound to the source chain and the Outbox: another domain does not recover to us.
    auto other = secp.recover_address(design_digest(crypto::ChainId{2}, kOutbox, id), *signature);
    EXPECT_TRUE(!other || *other != kValidator);
}

TEST_F(ValidatorTest, refuses_requests_for_other_sources_and_bad_ranges) {
    EXPECT_FALSE(validator_.get_attestations({{"dst", 10u}, {"from_nonce", 0u}, {"to_nonce", 1u}}));
    EXPECT_FALSE(validator_.get_attestations({{"dst", 10u}, {"from_nonce", 5u}, {"to_nonce", 4u}}));
    EXPECT_FALSE(validator_.get_attestations(
        {{"dst", 10u}, {"from_nonce", 1u}, {"to_nonce", 1u}, {"src", 2u}}));
    EXPECT_TRUE(validator_.get_attestations(
        {{"dst", 10u}, {"from_nonce", 1u}, {"to_nonce", 1u}, {"src", 1u}}));
}

}  // namespace
}  // namespace ferry::test
