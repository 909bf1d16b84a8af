// Proves every packet state change of docs/design.md §3 is applied when legal and refused (state
// kept) when not: each of the 8 states crossed with each queue operation that moves a packet.
#include "tests/storage/helpers.hpp"

#include <gtest/gtest.h>

#include <set>
#include <utility>

using namespace ferry::storage;
using namespace ferry::test;

namespace {

using S = PacketState;

constexpr S kAllStates[] = {S::observed, S::attested, S::submitted, S::delivered,
                            S::failed,   S::dead,     S::rejected,  S::expired};

// docs/design.md §3, "next" column, written out by hand.
const std::set<std::pair<S, S>> kDesignTable = {
    {S::observed, S::attested},
    {S::observed, S::rejected},
    {S::observed, S::expired},
    {S::attested, S::submitted},
    {S::attested, S::expired},
    {S::submitted, S::delivered},
    {S::submitted, S::attested},
    {S::submitted, S::failed},
    {S::failed, S::attested},
    {S::failed, S::dead},
    {S::dead, S::attested},
    // Added with the pipeline (see storage/queue.hpp): found delivered on chain; reorged out.
    {S::attested, S::delivered},
    {S::delivered, S::attested},
};

TEST(packet_state, legal_transitions_are_exactly_the_design_table) {
    for (const S from : kAllStates)
        for (const S to : kAllStates)
            EXPECT_EQ(is_legal_transition(from, to), kDesignTable.count({from, to}) == 1)
                << to_string(from) << " -> " << to_string(to);
}

TEST(packet_state, names_round_trip_and_unknown_names_are_refused) {
    const char* names[] = {"observed", "attested", "submitted", "delivered",
                           "failed",   "dead",     "rejected",  "expired"};
    for (std::size_t i = 0; i < std::size(kAllStates); ++i) {
        EXPECT_EQ(to_string(kAllStates[i]), names[i]);
        EXPECT_EQ(packet_state_from_string(names[i]), std::optional<S>(kAllStates[i]));
    }
    EXPECT_FALSE(packet_state_from_string("Observed").has_value());
    EXPECT_FALSE(packet_state_from_string("").has_value());
    EXPECT_FALSE(packet_state_from_string("pending").has_value());
}

TEST(packet_state, pending_means_on_its_way) {
    const std::set<S> pending = {S::observed, S::attested, S::submitted, S::failed};
    for (const S s : kAllStates) EXPECT_EQ(is_pending(s), pending.count(s) == 1) << to_string(s);
}

// The queue operations that move one packet, the state each leads to, and the states each
// accepts. An operation keyed by delivery only applies to a packet that had a delivery.
enum class Op {
    mark_attested,
    requeue,
    retry_packet,
    drop_delivery,
    reject,
    expire_due,
    record_delivery,
    record_receipt,
    fail_transient,
    fail_permanent,
};

struct OpSpec {
    Op op;
    const char* name;
    S to;
    std::set<S> accepts;
    bool by_delivery;
};

const std::vector<OpSpec> kOps = {
    {Op::mark_attested, "mark_attested", S::attested, {S::observed}, false},
    {Op::requeue, "requeue", S::attested, {S::failed}, false},
    {Op::retry_packet, "retry_packet", S::attested, {S::failed, S::dead}, false},
    {Op::drop_delivery, "drop_delivery", S::attested, {S::submitted}, true},
    {Op::reject, "reject", S::rejected, {S::observed}, false},
    {Op::expire_due, "expire_due", S::expired, {S::observed, S::attested}, false},
    {Op::record_delivery, "record_delivery", S::submitted, {S::attested}, false},
    {Op::record_receipt, "record_receipt", S::delivered, {S::submitted}, true},
    {Op::fail_transient, "fail_packets(transient)", S::failed, {S::submitted}, false},
    {Op::fail_permanent, "fail_packets(permanent)", S::dead, {S::submitted}, false},
};

TEST(packet_state, every_operation_only_makes_design_transitions) {
    for (const auto& spec : kOps) {
        for (const S from : spec.accepts) {
            if (spec.op == Op::fail_permanent) {  // submitted → failed → dead in one step
                EXPECT_TRUE(kDesignTable.count({from, S::failed}) == 1);
                EXPECT_TRUE(kDesignTable.count({S::failed, S::dead}) == 1);
            } else {
                EXPECT_TRUE(kDesignTable.count({from, spec.to}) == 1)
                    << spec.name << ": " << to_string(from) << " -> " << to_string(spec.to);
            }
        }
    }
}

using sqlite_transitions = QueueFixture;

INSTANTIATE_TEST_SUITE_P(backend, sqlite_transitions,
                         ::testing::Values(Backend::memory, Backend::file), backend_name);

constexpr std::uint64_t kExpiry = kT0 / 1000 + 3600;       // an hour after kT0, seconds
constexpr UnixMillis kAfterExpiry = (kExpiry + 1) * 1000;  // past it

TEST_P(sqlite_transitions, each_state_times_each_operation) {
    const Hash32 first_tx = hash_of(1, 0x7e);
    for (const S from : kAllStates) {
        for (const auto& spec : kOps) {
            SCOPED_TRACE(std::string(to_string(from)) + " by " + spec.name);
            q_ = open_queue();
            ASSERT_NE(q_, nullptr);
            const auto p = make_packet(kRoute, 1, kExpiry);
            const std::vector<PacketId> id = {p.id};
            insert({p});

            // Drive the packet to `from` through legal steps.
            bool had_delivery = false;
            if (from == S::attested || from == S::submitted || from == S::delivered ||
                from == S::failed || from == S::dead)
                attest(id);
            if (from == S::submitted || from == S::delivered || from == S::failed ||
                from == S::dead) {
                ASSERT_TRUE(q_->record_delivery(delivery(id, 1, 0), kT0)) << q_->last_error();
                had_delivery = true;
            }
            if (from == S::delivered) {
                ASSERT_TRUE(q_->record_receipt(receipt_for(first_tx, id), kT0));
            }
            if (from == S::failed) {
                ASSERT_TRUE(q_->fail_packets(id, "boom", FailureKind::transient, kT0));
            }
            if (from == S::dead) {
                ASSERT_TRUE(q_->fail_packets(id, "boom", FailureKind::permanent, kT0));
            }
            if (from == S::rejected) {
                ASSERT_TRUE(q_->reject(id, "bad", kT0));
            }
            if (from == S::expired) {
                auto n = q_->expire_due(kAfterExpiry);
                ASSERT_TRUE(n);
                ASSERT_EQ(*n, 1u);
            }
            ASSERT_EQ(state_of(p.id), from);

            const bool accepted = spec.accepts.count(from) == 1;
            const UnixMillis now = kT0 + 10;
            switch (spec.op) {
                case Op::mark_attested:
                case Op::requeue:
                case Op::reject:
                case Op::record_delivery:
                case Op::fail_transient:
                case Op::fail_permanent: {
                    Result<void> r;
                    if (spec.op == Op::mark_attested) r = q_->mark_attested(id, now);
                    if (spec.op == Op::requeue) r = q_->requeue(id, now);
                    if (spec.op == Op::reject) r = q_->reject(id, "bad", now);
                    if (spec.op == Op::record_delivery)
                        r = q_->record_delivery(delivery(id, 2, 1), now);
                    if (spec.op == Op::fail_transient)
                        r = q_->fail_packets(id, "x", FailureKind::transient, now);
                    if (spec.op == Op::fail_permanent)
                        r = q_->fail_packets(id, "x", FailureKind::permanent, now);
                    if (accepted) {
                        EXPECT_TRUE(r) << q_->last_error();
                    } else {
                        ASSERT_FALSE(r);
                        EXPECT_EQ(r.error(), Error::illegal_transition);
                        EXPECT_NE(q_->last_error().find(std::string(to_string(from)) + " -> "),
                                  std::string_view::npos)
                            << q_->last_error();
                    }
                    break;
                }
                case Op::retry_packet: {
                    auto r = q_->retry_packet(p.id, now);
                    EXPECT_EQ(static_cast<bool>(r), accepted) << q_->last_error();
                    if (!r) {
                        EXPECT_EQ(r.error(), Error::illegal_transition);
                    }
                    break;
                }
                case Op::expire_due: {
                    auto r = q_->expire_due(kAfterExpiry);
                    ASSERT_TRUE(r);
                    EXPECT_EQ(*r, accepted ? 1u : 0u);
                    break;
                }
                case Op::drop_delivery:
                case Op::record_receipt: {
                    if (!had_delivery) continue;  // no delivery to act on
                    if (spec.op == Op::drop_delivery)
                        (void)q_->drop_delivery(first_tx, now);
                    else
                        (void)q_->record_receipt(receipt_for(first_tx, id), now);
                    break;
                }
            }
            EXPECT_EQ(state_of(p.id), accepted ? spec.to : from);
        }
    }
}

}  // namespace
