// The attestor against scripted validators and a scripted destination chain: a threshold of
// valid signatures attests, bad, foreign and repeated signatures do not count, a validator
// that is down or a validator set that cannot be read leave packets observed.
#include "relayer/attestor.hpp"

#include "crypto/eip191.hpp"
#include "crypto/secp256k1.hpp"
#include "tests/relayer/stage_fixture.hpp"
#include "tests/support/http_test_server.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <mutex>
#include <vector>

namespace ferry::test {
namespace {

using nlohmann::json;
using storage::PacketState;

/// What one scripted validator puts into its answer: signatures by these dev accounts.
struct Script {
    std::vector<std::size_t> signers;  // dev account of each signature, in order
    bool garbage = false;              // add an item that is not an attestation
};

/// A validator's ferry_getAttestations over HTTP, answering for `packets` as `script` says.
class ScriptedValidator {
public:
    ScriptedValidator(std::vector<chains::evm::Packet> packets, Script script)
        : packets_(std::move(packets)),
          script_(std::move(script)),
          server_([this](const HttpRequest& r) { return answer(r); }) {}

    std::string url() const { return server_.url(); }

private:
    HttpReply answer(const HttpRequest& request) {
        const json call = json::parse(request.body, nullptr, false);
        json list = json::array();
        const auto& secp = crypto::Secp256k1Context::instance();
        for (const auto& p : packets_) {
            const auto id = id_of(p);
            const auto digest = crypto::attestation_digest(kSrc, kOutbox, id);
            for (auto signer : script_.signers)
                list.push_back({{"nonce", crypto::to_u64(p.nonce)},
                                {"id", id.hex()},
                                {"signature", secp.sign(digest, dev_account(signer).key)->hex()}});
        }
        if (script_.garbage) list.push_back({{"id", 7}, {"signature", "0xzz"}});
        const json reply = {{"jsonrpc", "2.0"},
                            {"id", call.is_object() ? call.value("id", json(nullptr)) : json()},
                            {"result", {{"attestations", std::move(list)}}}};
        return HttpReply::json(reply.dump());
    }

    std::vector<chains::evm::Packet> packets_;
    Script script_;
    HttpTestServer server_;
};

class AttestorTest : public DestinationFixture {
protected:
    AttestorTest() {
        limits_.attestation_timeout_ms = 500;
        for (std::uint64_t n = 1; n <= 3; ++n) packets_.push_back(route_packet(n));
        queue_packets(packets_);
    }

    /// Runs an attestor of the route until `done` holds or 2 s pass.
    void run_until(const std::function<bool()>& done) {
        auto attestor = make_attestor();
        StageFixture::run_until(*attestor, done);
    }

    std::size_t in_state(PacketState s) {
        std::size_t n = 0;
        for (const auto& p : packets_) n += state_of(p) == s ? 1u : 0u;
        return n;
    }
    std::string why() const {
        const auto it = waiting_.find({kSrc, kDst});
        return it == waiting_.end() ? std::string() : it->second;
    }
    bool waiting() const {
        const auto it = waiting_.find({kSrc, kDst});
        return it != waiting_.end() && !it->second.empty();
    }

    std::vector<chains::evm::Packet> packets_;
};

TEST_F(AttestorTest, attests_once_a_threshold_of_members_signed) {
    ScriptedValidator a(packets_, {{0}});
    ScriptedValidator b(packets_, {{1}});
    add_validator(0, a.url());
    add_validator(1, b.url());
    add_validator(2, "http://127.0.0.1:" + std::to_string(unused_port()) + "/");  // down

    run_until([&] { return in_state(PacketState::attested) == packets_.size(); });
    EXPECT_EQ(in_state(PacketState::attested), 3u);
    EXPECT_EQ(counters_.attestations_accepted, 6u);
    for (const auto& p : packets_) {
        auto atts = queue_->attestations(id_of(p));
        ASSERT_TRUE(atts);
        EXPECT_EQ(atts->size(), 2u);
    }
}

TEST_F(AttestorTest, refuses_bad_foreign_and_repeated_signatures) {
    // Validator 0 signs its own and slips in validator 3's (not its own, not a member) and a
    // repeat of its own; validator 1 signs as validator 0 (a wrong signer).
    ScriptedValidator a(packets_, {{0, 3, 0}, true});
    ScriptedValidator b(packets_, {{0}});
    add_validator(0, a.url());
    add_validator(1, b.url());

    run_until([&] { return waiting(); });
    EXPECT_EQ(in_state(PacketState::observed), 3u);
    EXPECT_EQ(in_state(PacketState::attested), 0u);
    EXPECT_EQ(counters_.attestations_refused["wrong_signer"], 6u);  // 3 from a, 3 from b
    EXPECT_EQ(counters_.attestations_refused["malformed"], 1u);
    EXPECT_NE(why().find("fewer than 2 of 3"), std::string::npos);
}

TEST_F(AttestorTest, waits_while_too_many_validators_are_down) {
    ScriptedValidator a(packets_, {{0}});
    add_validator(0, a.url());
    add_validator(1, "http://127.0.0.1:" + std::to_string(unused_port()) + "/");

    run_until([&] { return waiting(); });
    EXPECT_EQ(in_state(PacketState::observed), 3u);
    EXPECT_GE(counters_.attestations_refused["unreachable"], 1u);
    EXPECT_NE(why().find("unreachable"), std::string::npos);
}

TEST_F(AttestorTest, waits_while_the_validator_set_cannot_be_read) {
    ScriptedValidator a(packets_, {{0}});
    ScriptedValidator b(packets_, {{1}});
    add_validator(0, a.url());
    add_validator(1, b.url());
    fake_->fail_next("validator_set", FakeChain::unreachable(), 1000);

    run_until([&] { return waiting(); });
    EXPECT_EQ(in_state(PacketState::observed), 3u);
    EXPECT_EQ(counters_.attestations_accepted, 0u);
    EXPECT_NE(why().find("cannot read the validator set"), std::string::npos);
}

}  // namespace
}  // namespace ferry::test
