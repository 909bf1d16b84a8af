// Proves SqliteQueue keeps docs/design.md §3–4: idempotent inserts with their cursor, equivocation,
// attestations, deliveries and receipts, backoff, retries, the pipeline's queries and pruning.
#include "tests/storage/helpers.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

using namespace ferry::storage;
using namespace ferry::test;

namespace {

using sqlite_queue = QueueFixture;

INSTANTIATE_TEST_SUITE_P(backend, sqlite_queue, ::testing::Values(Backend::memory, Backend::file),
                         backend_name);

TEST_P(sqlite_queue, insert_is_idempotent_by_id_and_moves_the_cursor) {
    const auto ps = packets(kRoute, 1, 3);
    auto first = insert(ps, 10);
    EXPECT_EQ(first.inserted, 3u);
    EXPECT_EQ(first.duplicates, 0u);

    auto again = insert(ps, 11);
    EXPECT_EQ(again.inserted, 0u);
    EXPECT_EQ(again.duplicates, 3u);
    EXPECT_EQ(again.equivocations, 0u);

    auto c = q_->cursor(kRoute.src, kOutbox);
    ASSERT_TRUE(c && c->has_value());
    EXPECT_EQ((*c)->block_number, 11u);
    EXPECT_EQ((*c)->block_hash, hash_of(11, 0xbb));

    auto counts = q_->counts();
    ASSERT_TRUE(counts);
    ASSERT_EQ(counts->size(), 1u);
    EXPECT_EQ((*counts)[0].state, PacketState::observed);
    EXPECT_EQ((*counts)[0].count, 3u);

    const auto r = record_of(ps[1].id);
    EXPECT_EQ(r.state, PacketState::observed);
    EXPECT_EQ(r.nonce, Nonce{2});
    EXPECT_EQ(r.route, kRoute);
    EXPECT_EQ(r.encoded, ps[1].encoded);
    EXPECT_EQ(r.sender, ps[1].sender);
    EXPECT_EQ(r.created_at, kT0);
}

TEST_P(sqlite_queue, unknown_cursor_and_packet_read_as_absent) {
    auto c = q_->cursor(ChainId{99}, kOutbox);
    ASSERT_TRUE(c);
    EXPECT_FALSE(c->has_value());
    auto p = q_->packet(hash_of(1, 0x01));
    ASSERT_TRUE(p);
    EXPECT_FALSE(p->has_value());
}

TEST_P(sqlite_queue, empty_insert_moves_the_cursor_backwards_for_a_rescan) {
    insert(packets(kRoute, 1, 1), 50);
    insert({}, 40);
    auto c = q_->cursor(kRoute.src, kOutbox);
    ASSERT_TRUE(c && c->has_value());
    EXPECT_EQ((*c)->block_number, 40u);
}

TEST_P(sqlite_queue, a_failed_insert_leaves_neither_packets_nor_cursor) {
    insert(packets(kRoute, 1, 2), 5);
    // Make the third packet of the next batch fail inside the transaction.
    ASSERT_TRUE(q_->database().exec(
        "CREATE TEMP TRIGGER injected BEFORE INSERT ON packets WHEN NEW.nonce = 5 "
        "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"));
    auto r = q_->insert_packets(packets(kRoute, 3, 4), cursor_at(kRoute.src, 9), kT0);
    ASSERT_FALSE(r);
    EXPECT_NE(q_->last_error().find("injected failure"), std::string_view::npos);

    auto c = q_->cursor(kRoute.src, kOutbox);
    ASSERT_TRUE(c && c->has_value());
    EXPECT_EQ((*c)->block_number, 5u);
    for (std::uint64_t n = 3; n <= 6; ++n) {
        auto p = q_->packet(make_packet(kRoute, n).id);
        ASSERT_TRUE(p);
        EXPECT_FALSE(p->has_value()) << "nonce " << n;
    }
    auto gap = q_->lowest_nonce_gap(kRoute);
    ASSERT_TRUE(gap);
    EXPECT_FALSE(gap->has_value());
}

TEST_P(sqlite_queue, insert_refuses_packets_of_another_chain_than_the_cursor) {
    auto p = make_packet(Route{ChainId{2}, ChainId{10}}, 1);
    auto r = q_->insert_packets(std::vector<NewPacket>{p}, cursor_at(ChainId{1}, 3), kT0);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), Error::invalid_argument);
    auto c = q_->cursor(ChainId{1}, kOutbox);
    ASSERT_TRUE(c);
    EXPECT_FALSE(c->has_value());
}

TEST_P(sqlite_queue, equivocation_rejects_both_packets_and_counts_it) {
    const auto a = make_packet(kRoute, 1, 0, 0xa);
    const auto b = make_packet(kRoute, 1, 0, 0xb);  // same route and nonce, other id
    ASSERT_NE(a.id, b.id);
    insert({a, make_packet(kRoute, 2)});
    attest({a.id});

    auto out = insert({b});
    EXPECT_EQ(out.inserted, 1u);
    EXPECT_EQ(out.equivocations, 1u);
    EXPECT_EQ(state_of(a.id), PacketState::rejected);
    EXPECT_EQ(state_of(b.id), PacketState::rejected);
    EXPECT_NE(record_of(b.id).last_error.find("equivocation"), std::string::npos);

    auto routes = q_->routes();
    ASSERT_TRUE(routes);
    ASSERT_EQ(routes->size(), 1u);
    EXPECT_EQ((*routes)[0].equivocations, 1u);

    auto next = q_->next_attested(kRoute, 10);
    ASSERT_TRUE(next);
    EXPECT_TRUE(next->empty());
    // Replaying either id changes nothing.
    auto replay = insert({a, b});
    EXPECT_EQ(replay.duplicates, 2u);
    EXPECT_EQ(replay.equivocations, 0u);
}

TEST_P(sqlite_queue, equivocation_against_a_submitted_packet_rejects_only_the_newcomer) {
    const auto a = make_packet(kRoute, 1, 0, 0xa);
    insert({a});
    attest({a.id});
    ASSERT_TRUE(q_->record_delivery(delivery({a.id}, 1, 0), kT0)) << q_->last_error();

    const auto b = make_packet(kRoute, 1, 0, 0xb);
    auto out = insert({b});
    EXPECT_EQ(out.equivocations, 1u);
    EXPECT_EQ(state_of(a.id), PacketState::submitted);
    EXPECT_EQ(state_of(b.id), PacketState::rejected);
}

TEST_P(sqlite_queue, attestations_are_kept_once_per_packet_and_validator) {
    const auto p = make_packet(kRoute, 1);
    insert({p});
    std::vector<Attestation> atts = {
        {p.id, validator(3), signature(3, p.id)},
        {p.id, validator(1), signature(1, p.id)},
        {p.id, validator(2), signature(2, p.id)},
    };
    auto n = q_->store_attestations(atts, kT0);
    ASSERT_TRUE(n) << q_->last_error();
    EXPECT_EQ(*n, 3u);

    // The same validator again (even with other bytes) is ignored.
    Attestation dup{p.id, validator(2), signature(9, p.id)};
    auto again = q_->store_attestations(std::vector<Attestation>{dup}, kT0);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, 0u);

    auto stored = q_->attestations(p.id);
    ASSERT_TRUE(stored);
    ASSERT_EQ(stored->size(), 3u);
    EXPECT_EQ((*stored)[0].validator, validator(1));  // ascending signer order
    EXPECT_EQ((*stored)[1].validator, validator(2));
    EXPECT_EQ((*stored)[2].validator, validator(3));
    EXPECT_EQ((*stored)[1].signature, signature(2, p.id));
}

TEST_P(sqlite_queue, attestation_batch_with_an_unknown_packet_stores_nothing) {
    const auto p = make_packet(kRoute, 1);
    insert({p});
    const PacketId unknown = hash_of(77, 0x01);
    std::vector<Attestation> atts = {{p.id, validator(1), signature(1, p.id)},
                                     {unknown, validator(1), signature(1, unknown)}};
    auto n = q_->store_attestations(atts, kT0);
    ASSERT_FALSE(n);
    EXPECT_EQ(n.error(), Error::not_found);
    EXPECT_NE(q_->last_error().find(unknown.hex()), std::string_view::npos);
    auto stored = q_->attestations(p.id);
    ASSERT_TRUE(stored);
    EXPECT_TRUE(stored->empty());
}

TEST_P(sqlite_queue, illegal_transition_names_both_states_and_rolls_back_the_batch) {
    const auto ps = packets(kRoute, 1, 3);
    insert(ps);
    attest({ps[1].id});
    // ps[0] and ps[2] could move, ps[1] cannot: nothing may move.
    auto r = q_->mark_attested(ids_of(ps), kT0);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), Error::illegal_transition);
    EXPECT_NE(q_->last_error().find("attested -> attested"), std::string_view::npos)
        << q_->last_error();
    EXPECT_NE(q_->last_error().find(ps[1].id.hex()), std::string_view::npos);
    EXPECT_EQ(state_of(ps[0].id), PacketState::observed);
    EXPECT_EQ(state_of(ps[2].id), PacketState::observed);
}

TEST_P(sqlite_queue, transition_of_an_unknown_packet_is_not_found) {
    const PacketId unknown = hash_of(5, 0x01);
    auto r = q_->mark_attested(std::vector<PacketId>{unknown}, kT0);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), Error::not_found);
}

TEST_P(sqlite_queue, full_lifecycle_records_delivery_before_sending_and_receipt_once) {
    const auto ps = packets(kRoute, 1, 2);
    insert(ps);
    attest(ids_of(ps));

    const auto d = delivery(ids_of(ps), 1, 7);
    ASSERT_TRUE(q_->record_delivery(d, kT0 + 1)) << q_->last_error();
    for (const auto& p : ps) {
        const auto r = record_of(p.id);
        EXPECT_EQ(r.state, PacketState::submitted);
        ASSERT_TRUE(r.delivery_tx.has_value());
        EXPECT_EQ(*r.delivery_tx, d.tx_hash);
    }
    auto next_nonce = q_->account_nonce(kRoute.dst, kRelayer);
    ASSERT_TRUE(next_nonce && next_nonce->has_value());
    EXPECT_EQ(**next_nonce, 8u);

    auto pending = q_->pending_deliveries(kRoute.dst, 10);
    ASSERT_TRUE(pending);
    ASSERT_EQ(pending->size(), 1u);
    EXPECT_EQ((*pending)[0].tx_hash, d.tx_hash);
    EXPECT_EQ((*pending)[0].account_nonce, 7u);
    EXPECT_EQ((*pending)[0].max_fee_per_gas, d.max_fee_per_gas);
    EXPECT_EQ((*pending)[0].gas_limit, d.gas_limit);
    EXPECT_EQ((*pending)[0].packets, ids_of(ps));
    EXPECT_EQ((*pending)[0].created_at, kT0 + 1);

    auto receipt = receipt_for(d.tx_hash, ids_of(ps));
    receipt.delivered[1].success = false;  // the recipient reverted: still delivered
    auto out = q_->record_receipt(receipt, kT0 + 2);
    ASSERT_TRUE(out) << q_->last_error();
    EXPECT_EQ(out->delivered, 2u);
    EXPECT_EQ(out->failed, 0u);
    EXPECT_EQ(state_of(ps[0].id), PacketState::delivered);
    EXPECT_EQ(record_of(ps[0].id).delivered_success, std::optional<bool>(true));
    EXPECT_EQ(record_of(ps[1].id).delivered_success, std::optional<bool>(false));
    EXPECT_EQ(record_of(ps[1].id).delivery_tx, std::optional<Hash32>(d.tx_hash));

    auto twice = q_->record_receipt(receipt, kT0 + 3);
    ASSERT_FALSE(twice);
    EXPECT_EQ(twice.error(), Error::receipt_exists);

    auto after = q_->pending_deliveries(kRoute.dst, 10);
    ASSERT_TRUE(after);
    EXPECT_TRUE(after->empty());
}

TEST_P(sqlite_queue, a_packet_has_at_most_one_live_delivery) {
    const auto ps = packets(kRoute, 1, 2);
    insert(ps);
    attest(ids_of(ps));
    ASSERT_TRUE(q_->record_delivery(delivery({ps[0].id}, 1, 0), kT0));

    auto again = q_->record_delivery(delivery({ps[0].id}, 2, 1), kT0);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error(), Error::illegal_transition);
    EXPECT_NE(q_->last_error().find("submitted -> submitted"), std::string_view::npos);

    auto same_hash = q_->record_delivery(delivery({ps[1].id}, 1, 1), kT0);
    ASSERT_FALSE(same_hash);
    EXPECT_EQ(same_hash.error(), Error::duplicate_delivery);

    auto same_nonce = q_->record_delivery(delivery({ps[1].id}, 3, 0), kT0);
    ASSERT_FALSE(same_nonce);
    EXPECT_EQ(same_nonce.error(), Error::invalid_argument);

    auto wrong_chain = q_->record_delivery(delivery({ps[1].id}, 4, 2, ChainId{20}), kT0);
    ASSERT_FALSE(wrong_chain);
    EXPECT_EQ(wrong_chain.error(), Error::invalid_argument);

    auto empty = q_->record_delivery(delivery({}, 5, 3), kT0);
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error(), Error::invalid_argument);

    EXPECT_EQ(state_of(ps[1].id), PacketState::attested);
    auto pending = q_->pending_deliveries(kRoute.dst, 10);
    ASSERT_TRUE(pending);
    EXPECT_EQ(pending->size(), 1u);
}

TEST_P(sqlite_queue, replacement_keeps_the_nonce_and_a_receipt_of_the_old_tx_counts) {
    const auto ps = packets(kRoute, 1, 2);
    insert(ps);
    attest(ids_of(ps));
    const auto first = delivery(ids_of(ps), 1, 4);
    ASSERT_TRUE(q_->record_delivery(first, kT0));

    auto wrong = delivery({}, 2, 5);
    auto bad = q_->replace_delivery(first.tx_hash, wrong, kT0);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error(), Error::account_nonce_mismatch);

    auto bump = delivery({}, 3, 4);
    bump.max_fee_per_gas *= 2;
    ASSERT_TRUE(q_->replace_delivery(first.tx_hash, bump, kT0 + 1)) << q_->last_error();
    EXPECT_EQ(record_of(ps[0].id).delivery_tx, std::optional<Hash32>(bump.tx_hash));

    auto pending = q_->pending_deliveries(kRoute.dst, 10);
    ASSERT_TRUE(pending);
    ASSERT_EQ(pending->size(), 1u);
    EXPECT_EQ((*pending)[0].tx_hash, bump.tx_hash);
    EXPECT_EQ((*pending)[0].packets, ids_of(ps));
    EXPECT_EQ((*pending)[0].replaced, std::vector<Hash32>{first.tx_hash});

    // Replacing a replaced tx is refused.
    auto stale = q_->replace_delivery(first.tx_hash, delivery({}, 4, 4), kT0);
    ASSERT_FALSE(stale);
    EXPECT_EQ(stale.error(), Error::delivery_not_live);

    // The first tx got mined after all.
    auto out = q_->record_receipt(receipt_for(first.tx_hash, ids_of(ps)), kT0 + 2);
    ASSERT_TRUE(out) << q_->last_error();
    EXPECT_EQ(out->delivered, 2u);
    EXPECT_EQ(record_of(ps[1].id).state, PacketState::delivered);
    EXPECT_EQ(record_of(ps[1].id).delivery_tx, std::optional<Hash32>(first.tx_hash));
    auto none = q_->pending_deliveries(kRoute.dst, 10);
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
    auto late = q_->record_receipt(receipt_for(bump.tx_hash, ids_of(ps)), kT0 + 3);
    ASSERT_FALSE(late);
    EXPECT_EQ(late.error(), Error::delivery_not_live);
}

TEST_P(sqlite_queue, dropped_delivery_returns_packets_to_attested) {
    const auto ps = packets(kRoute, 1, 3);
    insert(ps);
    attest(ids_of(ps));
    const auto d = delivery(ids_of(ps), 1, 0);
    ASSERT_TRUE(q_->record_delivery(d, kT0));
    auto moved = q_->drop_delivery(d.tx_hash, kT0 + 1);
    ASSERT_TRUE(moved) << q_->last_error();
    EXPECT_EQ(*moved, 3u);
    for (const auto& p : ps) {
        const auto r = record_of(p.id);
        EXPECT_EQ(r.state, PacketState::attested);
        EXPECT_FALSE(r.delivery_tx.has_value());
        EXPECT_EQ(r.attempts, 0u);
    }
    auto again = q_->drop_delivery(d.tx_hash, kT0 + 2);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error(), Error::delivery_not_live);
    auto unknown = q_->drop_delivery(hash_of(999, 0x7e), kT0);
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error(), Error::not_found);
    // Re-deliverable, with a new tx at the same account nonce (the first never landed).
    ASSERT_TRUE(q_->record_delivery(delivery(ids_of(ps), 2, 0), kT0 + 3)) << q_->last_error();
}

TEST_P(sqlite_queue, receipt_without_a_log_fails_the_packet_with_backoff) {
    const auto ps = packets(kRoute, 1, 3);
    insert(ps);
    attest(ids_of(ps));
    const auto d = delivery(ids_of(ps), 1, 0);
    ASSERT_TRUE(q_->record_delivery(d, kT0));
    auto receipt = receipt_for(d.tx_hash, {ps[0].id});
    receipt.delivered.push_back({hash_of(404, 0x01), true});  // not carried by this tx
    auto out = q_->record_receipt(receipt, kT0 + 10);
    ASSERT_TRUE(out) << q_->last_error();
    EXPECT_EQ(out->delivered, 1u);
    EXPECT_EQ(out->failed, 2u);
    EXPECT_EQ(out->unexpected, 1u);
    const auto r = record_of(ps[2].id);
    EXPECT_EQ(r.state, PacketState::failed);
    EXPECT_EQ(r.attempts, 1u);
    EXPECT_EQ(r.next_attempt_at, std::optional<UnixMillis>(kT0 + 10 + 1000));
    EXPECT_NE(r.last_error.find("without a PacketDelivered"), std::string::npos);
}

TEST_P(sqlite_queue, reverted_tx_fails_all_its_packets) {
    const auto ps = packets(kRoute, 1, 2);
    insert(ps);
    attest(ids_of(ps));
    const auto d = delivery(ids_of(ps), 1, 0);
    ASSERT_TRUE(q_->record_delivery(d, kT0));
    auto receipt = receipt_for(d.tx_hash, {});
    receipt.status = false;
    auto out = q_->record_receipt(receipt, kT0);
    ASSERT_TRUE(out);
    EXPECT_EQ(out->failed, 2u);
    EXPECT_NE(record_of(ps[0].id).last_error.find("reverted"), std::string::npos);
}

TEST_P(sqlite_queue, failures_back_off_exponentially_then_die_at_max_attempts) {
    // Policy: 1000 ms, ×2, cap 5000 ms, no jitter, 3 attempts.
    const auto p = make_packet(kRoute, 1);
    insert({p});
    attest({p.id});
    const std::vector<PacketId> id = {p.id};
    UnixMillis now = kT0;
    const UnixMillis expected_delay[] = {1000, 2000};
    for (int attempt = 1; attempt <= 2; ++attempt) {
        ASSERT_TRUE(q_->record_delivery(
            delivery(id, static_cast<std::uint64_t>(attempt), static_cast<std::uint64_t>(attempt)),
            now));
        ASSERT_TRUE(q_->fail_packets(id, "rpc timeout", FailureKind::transient, now));
        const auto r = record_of(p.id);
        EXPECT_EQ(r.state, PacketState::failed);
        EXPECT_EQ(r.attempts, static_cast<std::uint32_t>(attempt));
        EXPECT_EQ(r.last_error, "rpc timeout");
        const UnixMillis due = now + expected_delay[attempt - 1];
        EXPECT_EQ(r.next_attempt_at, std::optional<UnixMillis>(due));

        auto early = q_->due_retries(due - 1, 10);
        ASSERT_TRUE(early);
        EXPECT_TRUE(early->empty());
        auto on_time = q_->due_retries(due, 10);
        ASSERT_TRUE(on_time);
        ASSERT_EQ(on_time->size(), 1u);
        EXPECT_EQ((*on_time)[0].id, p.id);
        ASSERT_TRUE(q_->requeue(id, due));
        EXPECT_EQ(state_of(p.id), PacketState::attested);
        now = due;
    }
    ASSERT_TRUE(q_->record_delivery(delivery(id, 3, 3), now));
    ASSERT_TRUE(q_->fail_packets(id, "rpc timeout", FailureKind::transient, now));
    const auto r = record_of(p.id);
    EXPECT_EQ(r.state, PacketState::dead);
    EXPECT_EQ(r.attempts, 3u);
    EXPECT_FALSE(r.next_attempt_at.has_value());
    auto due = q_->due_retries(now + 1'000'000, 10);
    ASSERT_TRUE(due);
    EXPECT_TRUE(due->empty());
}

TEST(backoff, delays_grow_by_the_multiplier_up_to_the_cap) {
    BackoffPolicy p{1000, 2.0, 5000, 0.0, 10};
    const PacketId id = hash_of(1, 0x01);
    EXPECT_EQ(backoff_delay(p, 1, id), 1000);
    EXPECT_EQ(backoff_delay(p, 2, id), 2000);
    EXPECT_EQ(backoff_delay(p, 3, id), 4000);
    EXPECT_EQ(backoff_delay(p, 4, id), 5000);
    EXPECT_EQ(backoff_delay(p, 60, id), 5000);
    p.multiplier = 3.0;
    EXPECT_EQ(backoff_delay(p, 2, id), 3000);
}

TEST(backoff, jitter_stays_in_range_is_reproducible_and_spreads_packets) {
    const BackoffPolicy p{1000, 2.0, 60'000, 0.5, 10};
    std::set<UnixMillis> seen;
    for (std::uint64_t n = 0; n < 200; ++n) {
        const PacketId id = hash_of(n * 0x9e3779b97f4a7c15ULL, 0x02);
        const UnixMillis d = backoff_delay(p, 3, id);  // 4000 ms before jitter
        EXPECT_GE(d, 2000);
        EXPECT_LE(d, 4000);
        EXPECT_EQ(d, backoff_delay(p, 3, id));
        seen.insert(d);
    }
    EXPECT_GT(seen.size(), 100u);
}

TEST(backoff, policy_validation_rejects_out_of_range_numbers) {
    EXPECT_TRUE(is_valid(BackoffPolicy{}));
    EXPECT_FALSE(is_valid(BackoffPolicy{1000, 0.5, 5000, 0.1, 3}));
    EXPECT_FALSE(is_valid(BackoffPolicy{1000, 2.0, 500, 0.1, 3}));
    EXPECT_FALSE(is_valid(BackoffPolicy{1000, 2.0, 5000, 1.5, 3}));
    EXPECT_FALSE(is_valid(BackoffPolicy{1000, 2.0, 5000, 0.1, 0}));
    SqliteQueueOptions o;
    o.backoff.jitter = -1;
    auto q = SqliteQueue::open(":memory:", o);
    ASSERT_FALSE(q);
    EXPECT_EQ(q.error(), Error::invalid_argument);
}

TEST_P(sqlite_queue, permanent_failure_is_dead_and_an_operator_retry_revives_it) {
    const auto ps = packets(kRoute, 1, 2);
    insert(ps);
    attest(ids_of(ps));
    ASSERT_TRUE(q_->record_delivery(delivery(ids_of(ps), 1, 0), kT0));
    ASSERT_TRUE(
        q_->fail_packets(ids_of(ps), "recipient is not a contract", FailureKind::permanent, kT0));
    EXPECT_EQ(state_of(ps[0].id), PacketState::dead);
    EXPECT_EQ(record_of(ps[0].id).attempts, 1u);

    ASSERT_TRUE(q_->retry_packet(ps[0].id, kT0 + 5)) << q_->last_error();
    const auto r = record_of(ps[0].id);
    EXPECT_EQ(r.state, PacketState::attested);
    EXPECT_EQ(r.attempts, 0u);
    EXPECT_EQ(state_of(ps[1].id), PacketState::dead);

    auto twice = q_->retry_packet(ps[0].id, kT0 + 6);
    ASSERT_FALSE(twice);
    EXPECT_EQ(twice.error(), Error::illegal_transition);
}

TEST_P(sqlite_queue, retry_dead_revives_every_dead_packet_of_one_route_only) {
    auto mine = packets(kRoute, 1, 3);
    auto other = packets(kOther, 1, 1);
    insert(mine);
    insert(other);
    std::vector<PacketId> all = ids_of(mine);
    all.push_back(other[0].id);
    attest(all);
    ASSERT_TRUE(q_->record_delivery(delivery(ids_of(mine), 1, 0), kT0));
    ASSERT_TRUE(q_->record_delivery(delivery(ids_of(other), 2, 0, kOther.dst), kT0));
    ASSERT_TRUE(q_->fail_packets(all, "bad", FailureKind::permanent, kT0));

    auto n = q_->retry_dead(kRoute, kT0 + 1);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 3u);
    for (const auto& p : mine) EXPECT_EQ(state_of(p.id), PacketState::attested);
    EXPECT_EQ(state_of(other[0].id), PacketState::dead);
    auto none = q_->retry_dead(kRoute, kT0 + 2);
    ASSERT_TRUE(none);
    EXPECT_EQ(*none, 0u);
}

TEST_P(sqlite_queue, failed_delivery_fails_its_packets_and_stops_being_live) {
    const auto ps = packets(kRoute, 1, 2);
    insert(ps);
    attest(ids_of(ps));
    const auto d = delivery(ids_of(ps), 1, 0);
    ASSERT_TRUE(q_->record_delivery(d, kT0));
    auto n = q_->fail_delivery(d.tx_hash, "nonce too low", FailureKind::transient, kT0);
    ASSERT_TRUE(n) << q_->last_error();
    EXPECT_EQ(*n, 2u);
    EXPECT_EQ(state_of(ps[0].id), PacketState::failed);
    EXPECT_EQ(record_of(ps[0].id).last_error, "nonce too low");
    auto pending = q_->pending_deliveries(kRoute.dst, 10);
    ASSERT_TRUE(pending);
    EXPECT_TRUE(pending->empty());
    auto again = q_->fail_delivery(d.tx_hash, "x", FailureKind::transient, kT0);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error(), Error::delivery_not_live);
}

// A transaction refused by the node (or dropped from its pool) is sent again unchanged when its
// nonce is given back: the same hash is recorded once more, never a second live copy.
TEST_P(sqlite_queue, the_same_transaction_is_recorded_again_after_it_failed_or_was_dropped) {
    const auto ps = packets(kRoute, 1, 2);
    insert(ps);
    attest(ids_of(ps));
    const auto d = delivery(ids_of(ps), 1, 0);
    ASSERT_TRUE(q_->record_delivery(d, kT0));
    ASSERT_TRUE(q_->fail_delivery(d.tx_hash, "insufficient funds", FailureKind::transient, kT0));
    ASSERT_TRUE(q_->requeue(ids_of(ps), kT0));
    ASSERT_TRUE(q_->record_delivery(d, kT0 + 1)) << q_->last_error();
    EXPECT_EQ(state_of(ps[0].id), PacketState::submitted);

    ASSERT_TRUE(q_->drop_delivery(d.tx_hash, kT0 + 2));
    EXPECT_EQ(state_of(ps[0].id), PacketState::attested);
    ASSERT_TRUE(q_->record_delivery(d, kT0 + 3)) << q_->last_error();
    auto pending = q_->pending_deliveries(kRoute.dst, 10);
    ASSERT_TRUE(pending);
    ASSERT_EQ(pending->size(), 1u);
    EXPECT_EQ(pending->front().packets, ids_of(ps));

    auto live_again = q_->record_delivery(d, kT0 + 4);
    ASSERT_FALSE(live_again);
    EXPECT_EQ(live_again.error(), Error::duplicate_delivery);
}

TEST_P(sqlite_queue, expiry_moves_observed_and_attested_once_the_second_has_passed) {
    constexpr std::uint64_t kExpiry = 1'700'000'100;  // seconds
    const auto observed = make_packet(kRoute, 1, kExpiry);
    const auto attested = make_packet(kRoute, 2, kExpiry);
    const auto never = make_packet(kRoute, 3, 0);
    const auto submitted = make_packet(kRoute, 4, kExpiry);
    const auto later = make_packet(kRoute, 5, kExpiry + 1);
    insert({observed, attested, never, submitted, later});
    attest({attested.id, submitted.id});
    ASSERT_TRUE(q_->record_delivery(delivery({submitted.id}, 1, 0), kT0));

    auto none = q_->expire_due(static_cast<UnixMillis>(kExpiry) * 1000);  // the last valid ms
    ASSERT_TRUE(none);
    EXPECT_EQ(*none, 0u);
    auto two = q_->expire_due(static_cast<UnixMillis>(kExpiry) * 1000 + 1);
    ASSERT_TRUE(two);
    EXPECT_EQ(*two, 2u);
    EXPECT_EQ(state_of(observed.id), PacketState::expired);
    EXPECT_EQ(state_of(attested.id), PacketState::expired);
    EXPECT_EQ(state_of(never.id), PacketState::observed);
    EXPECT_EQ(state_of(submitted.id), PacketState::submitted);
    EXPECT_EQ(state_of(later.id), PacketState::observed);
}

TEST_P(sqlite_queue, reject_needs_an_observed_packet_and_a_reason) {
    const auto ps = packets(kRoute, 1, 2);
    insert(ps);
    attest({ps[1].id});
    ASSERT_TRUE(q_->reject(std::vector<PacketId>{ps[0].id}, "bad signatures", kT0));
    EXPECT_EQ(state_of(ps[0].id), PacketState::rejected);
    EXPECT_EQ(record_of(ps[0].id).last_error, "bad signatures");
    auto late = q_->reject(std::vector<PacketId>{ps[1].id}, "bad signatures", kT0);
    ASSERT_FALSE(late);
    EXPECT_EQ(late.error(), Error::illegal_transition);
    auto no_reason = q_->reject(std::vector<PacketId>{ps[1].id}, "", kT0);
    ASSERT_FALSE(no_reason);
    EXPECT_EQ(no_reason.error(), Error::invalid_argument);
}

TEST_P(sqlite_queue, next_attested_is_in_nonce_order_per_route_up_to_the_batch_size) {
    std::vector<NewPacket> shuffled;
    for (std::uint64_t n : std::vector<std::uint64_t>{5, 3, 1, 4, 2})
        shuffled.push_back(make_packet(kRoute, n));
    insert(shuffled);
    insert(packets(kOther, 1, 2));
    std::vector<PacketId> ids = ids_of(shuffled);
    ids.push_back(make_packet(kOther, 1).id);
    attest(ids);

    auto batch = q_->next_attested(kRoute, 3);
    ASSERT_TRUE(batch);
    ASSERT_EQ(batch->size(), 3u);
    EXPECT_EQ((*batch)[0].nonce, Nonce{1});
    EXPECT_EQ((*batch)[1].nonce, Nonce{2});
    EXPECT_EQ((*batch)[2].nonce, Nonce{3});
    EXPECT_EQ((*batch)[0].encoded, make_packet(kRoute, 1).encoded);
    for (const auto& r : *batch) EXPECT_EQ(r.route, kRoute);

    auto rest = q_->next_attested(kOther, 10);
    ASSERT_TRUE(rest);
    ASSERT_EQ(rest->size(), 1u);  // nonce 2 of kOther is still observed
    EXPECT_EQ((*rest)[0].nonce, Nonce{1});
}

TEST_P(sqlite_queue, counts_and_oldest_pending_follow_every_transition) {
    insert(packets(kRoute, 1, 4), 1, kT0);
    insert(packets(kOther, 1, 1), 2, kT0 + 500);
    const auto a = make_packet(kRoute, 1).id;
    const auto b = make_packet(kRoute, 2).id;
    attest({a, b});
    ASSERT_TRUE(q_->record_delivery(delivery({a}, 1, 0), kT0));
    ASSERT_TRUE(q_->record_receipt(receipt_for(hash_of(1, 0x7e), {a}), kT0 + 1));
    ASSERT_TRUE(q_->reject(std::vector<PacketId>{make_packet(kRoute, 3).id}, "bad", kT0));

    auto counts = q_->counts();
    ASSERT_TRUE(counts);
    std::map<std::pair<std::string, std::string_view>, std::uint64_t> got;
    for (const auto& c : *counts) got[{route_name(c.route), to_string(c.state)}] = c.count;
    const std::map<std::pair<std::string, std::string_view>, std::uint64_t> expected = {
        {{"1->10", "delivered"}, 1}, {{"1->10", "attested"}, 1}, {{"1->10", "rejected"}, 1},
        {{"1->10", "observed"}, 1},  {{"1->20", "observed"}, 1},
    };
    EXPECT_EQ(got, expected);

    auto ages = q_->oldest_pending();
    ASSERT_TRUE(ages);
    ASSERT_EQ(ages->size(), 2u);
    EXPECT_EQ((*ages)[0].route, kRoute);
    EXPECT_EQ((*ages)[0].oldest_created_at, kT0);
    EXPECT_EQ((*ages)[1].route, kOther);
    EXPECT_EQ((*ages)[1].oldest_created_at, kT0 + 500);

    // Once nothing of kOther is pending it drops out.
    ASSERT_TRUE(q_->reject(std::vector<PacketId>{make_packet(kOther, 1).id}, "bad", kT0));
    auto after = q_->oldest_pending();
    ASSERT_TRUE(after);
    ASSERT_EQ(after->size(), 1u);
    EXPECT_EQ((*after)[0].route, kRoute);
}

TEST_P(sqlite_queue, lowest_nonce_gap_tracks_missing_nonces) {
    auto gap = q_->lowest_nonce_gap(kRoute);
    ASSERT_TRUE(gap);
    EXPECT_FALSE(gap->has_value());

    insert({make_packet(kRoute, 1), make_packet(kRoute, 2), make_packet(kRoute, 4),
            make_packet(kRoute, 5)});
    gap = q_->lowest_nonce_gap(kRoute);
    ASSERT_TRUE(gap);
    EXPECT_EQ(*gap, std::optional<Nonce>(Nonce{3}));

    insert({make_packet(kRoute, 3)});
    gap = q_->lowest_nonce_gap(kRoute);
    ASSERT_TRUE(gap);
    EXPECT_FALSE(gap->has_value());

    insert({make_packet(kRoute, 8), make_packet(kRoute, 7)});
    gap = q_->lowest_nonce_gap(kRoute);
    ASSERT_TRUE(gap);
    EXPECT_EQ(*gap, std::optional<Nonce>(Nonce{6}));

    auto routes = q_->routes();
    ASSERT_TRUE(routes);
    ASSERT_EQ(routes->size(), 1u);
    EXPECT_EQ((*routes)[0].contiguous, Nonce{5});
    EXPECT_EQ((*routes)[0].highest, Nonce{8});

    // A route that starts above 1 has a gap at 1.
    insert({make_packet(kOther, 2)});
    gap = q_->lowest_nonce_gap(kOther);
    ASSERT_TRUE(gap);
    EXPECT_EQ(*gap, std::optional<Nonce>(Nonce{1}));
}

TEST_P(sqlite_queue, account_nonce_is_set_and_only_raised_by_deliveries) {
    auto none = q_->account_nonce(kRoute.dst, kRelayer);
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->has_value());
    ASSERT_TRUE(q_->set_account_nonce(kRoute.dst, kRelayer, 42, kT0));
    auto n = q_->account_nonce(kRoute.dst, kRelayer);
    ASSERT_TRUE(n && n->has_value());
    EXPECT_EQ(**n, 42u);

    const auto p = make_packet(kRoute, 1);
    insert({p});
    attest({p.id});
    ASSERT_TRUE(q_->record_delivery(delivery({p.id}, 1, 10), kT0));  // an old nonce
    n = q_->account_nonce(kRoute.dst, kRelayer);
    ASSERT_TRUE(n && n->has_value());
    EXPECT_EQ(**n, 42u);
    auto other_chain = q_->account_nonce(ChainId{20}, kRelayer);
    ASSERT_TRUE(other_chain);
    EXPECT_FALSE(other_chain->has_value());
}

TEST_P(sqlite_queue, paged_listing_walks_every_packet_once_in_route_and_nonce_order) {
    insert(packets(kRoute, 1, 13));
    insert(packets(kOther, 1, 12));
    std::vector<std::pair<std::string, std::uint64_t>> seen;
    PacketFilter f;
    f.limit = 10;
    int pages = 0;
    for (;;) {
        auto page = q_->list_packets(f);
        ASSERT_TRUE(page) << q_->last_error();
        ++pages;
        for (const auto& r : page->packets)
            seen.emplace_back(route_name(r.route), ferry::crypto::to_u64(r.nonce));
        if (!page->next) break;
        f.after = page->next;
    }
    EXPECT_EQ(pages, 3);
    std::vector<std::pair<std::string, std::uint64_t>> expected;
    for (std::uint64_t n = 1; n <= 13; ++n) expected.emplace_back("1->10", n);
    for (std::uint64_t n = 1; n <= 12; ++n) expected.emplace_back("1->20", n);
    EXPECT_EQ(seen, expected);
}

TEST_P(sqlite_queue, paged_listing_filters_by_state_and_route) {
    insert(packets(kRoute, 1, 6));
    insert(packets(kOther, 1, 6));
    attest({make_packet(kRoute, 2).id, make_packet(kRoute, 4).id, make_packet(kRoute, 6).id,
            make_packet(kOther, 1).id});

    PacketFilter f;
    f.state = PacketState::attested;
    f.route = kRoute;
    f.limit = 2;
    std::vector<std::uint64_t> nonces;
    for (;;) {
        auto page = q_->list_packets(f);
        ASSERT_TRUE(page);
        for (const auto& r : page->packets) {
            EXPECT_EQ(r.state, PacketState::attested);
            EXPECT_EQ(r.route, kRoute);
            nonces.push_back(ferry::crypto::to_u64(r.nonce));
        }
        if (!page->next) break;
        f.after = page->next;
    }
    EXPECT_EQ(nonces, (std::vector<std::uint64_t>{2, 4, 6}));

    PacketFilter by_state;
    by_state.state = PacketState::attested;
    auto all_attested = q_->list_packets(by_state);
    ASSERT_TRUE(all_attested);
    EXPECT_EQ(all_attested->packets.size(), 4u);
    EXPECT_FALSE(all_attested->next.has_value());

    PacketFilter by_route;
    by_route.route = kOther;
    auto other = q_->list_packets(by_route);
    ASSERT_TRUE(other);
    EXPECT_EQ(other->packets.size(), 6u);

    PacketFilter bad;
    bad.limit = 0;
    auto r = q_->list_packets(bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), Error::invalid_argument);
}

TEST_P(sqlite_queue, pruning_drops_old_delivered_packets_and_still_recognises_replays) {
    // Retention is 60 s in the test options.
    const auto old_batch = packets(kRoute, 1, 2);
    const auto young = make_packet(kRoute, 3);
    insert(old_batch);
    insert({young});
    std::vector<PacketId> all = ids_of(old_batch);
    all.push_back(young.id);
    attest(all);
    // A first attempt was dropped; the second was mined.
    ASSERT_TRUE(q_->record_delivery(delivery(ids_of(old_batch), 9, 0), kT0));
    ASSERT_TRUE(q_->drop_delivery(hash_of(9, 0x7e), kT0));
    ASSERT_TRUE(q_->record_delivery(delivery(ids_of(old_batch), 1, 0), kT0));
    ASSERT_TRUE(q_->record_receipt(receipt_for(hash_of(1, 0x7e), ids_of(old_batch)), kT0));
    ASSERT_TRUE(q_->record_delivery(delivery({young.id}, 2, 1), kT0 + 50'000));
    ASSERT_TRUE(q_->record_receipt(receipt_for(hash_of(2, 0x7e), {young.id}), kT0 + 50'000));

    auto none = q_->prune_delivered(kT0 + 59'999, 100);
    ASSERT_TRUE(none);
    EXPECT_EQ(*none, 0u);
    auto deliveries = [&] {
        auto st = q_->database().prepare("SELECT count(*) FROM deliveries");
        EXPECT_TRUE(st && st->step().value());
        return st ? st->i64(0) : -1;
    };
    EXPECT_EQ(deliveries(), 3);
    auto pruned = q_->prune_delivered(kT0 + 60'000, 100);
    ASSERT_TRUE(pruned) << q_->last_error();
    EXPECT_EQ(*pruned, 2u);
    EXPECT_EQ(deliveries(), 1);  // the dropped and the mined tx of the old batch are gone

    // Every lower nonce was seen (the route's watermark is 3): the rows go too.
    auto gone = q_->packet(old_batch[0].id);
    ASSERT_TRUE(gone);
    EXPECT_FALSE(*gone);
    auto atts = q_->attestations(old_batch[0].id);
    ASSERT_TRUE(atts);
    EXPECT_TRUE(atts->empty());
    const auto kept = record_of(young.id);
    EXPECT_FALSE(kept.pruned);
    EXPECT_EQ(kept.encoded, young.encoded);
    EXPECT_EQ(kept.delivery_tx, std::optional<Hash32>(hash_of(2, 0x7e)));

    // A replay of a pruned packet is still recognised, and so is another packet claiming its
    // nonce: neither is stored again.
    auto replay = insert({old_batch[0]});
    EXPECT_EQ(replay.duplicates, 1u);
    EXPECT_EQ(replay.inserted, 0u);
    const auto forged = make_packet(kRoute, 1, 0, 0xf);
    auto forged_out = insert({forged});
    EXPECT_EQ(forged_out.duplicates, 1u);
    EXPECT_EQ(forged_out.inserted, 0u);
    auto never = q_->packet(forged.id);
    ASSERT_TRUE(never);
    EXPECT_FALSE(*never);

    auto counts = q_->counts();
    ASSERT_TRUE(counts);
    std::uint64_t delivered = 0;
    for (const auto& c : *counts)
        if (c.state == PacketState::delivered) delivered += c.count;
    EXPECT_EQ(delivered, 3u);
}

TEST_P(sqlite_queue, a_pruned_packet_above_a_nonce_gap_keeps_its_row_for_replays) {
    const auto first = make_packet(kRoute, 1);
    const auto third = make_packet(kRoute, 3);  // nonce 2 never seen: the watermark stays at 1
    insert({first, third});
    attest({first.id, third.id});
    ASSERT_TRUE(q_->record_delivery(delivery({first.id, third.id}, 1, 0), kT0));
    ASSERT_TRUE(q_->record_receipt(receipt_for(hash_of(1, 0x7e), {first.id, third.id}), kT0));
    auto pruned = q_->prune_delivered(kT0 + 60'000, 100);
    ASSERT_TRUE(pruned) << q_->last_error();
    EXPECT_EQ(*pruned, 2u);

    auto gone = q_->packet(first.id);
    ASSERT_TRUE(gone);
    EXPECT_FALSE(*gone);
    const auto kept = record_of(third.id);
    EXPECT_TRUE(kept.pruned);
    EXPECT_TRUE(kept.encoded.empty());
    EXPECT_EQ(kept.state, PacketState::delivered);
    // Its replay is a duplicate; a forgery of its nonce is an equivocation, rejected.
    EXPECT_EQ(insert({third}).duplicates, 1u);
    const auto forged = make_packet(kRoute, 3, 0, 0xf);
    EXPECT_EQ(insert({forged}).equivocations, 1u);
    EXPECT_EQ(state_of(forged.id), PacketState::rejected);
}

TEST(sqlite_queue_file, committed_changes_survive_closing_and_reopening) {
    constexpr Route kRoute{ChainId{1}, ChainId{10}};
    TempDir dir;
    const std::string path = dir.file("reopen.sqlite");
    const auto p = make_packet(kRoute, 1);
    {
        auto q = SqliteQueue::open(path);
        ASSERT_TRUE(q);
        ASSERT_TRUE((*q)->insert_packets(std::vector<NewPacket>{p}, cursor_at(kRoute.src, 3), kT0));
        ASSERT_TRUE((*q)->mark_attested(std::vector<PacketId>{p.id}, kT0));
    }
    auto q = SqliteQueue::open(path);
    ASSERT_TRUE(q);
    auto r = (*q)->packet(p.id);
    ASSERT_TRUE(r && r->has_value());
    EXPECT_EQ((*r)->state, PacketState::attested);
    auto c = (*q)->cursor(kRoute.src, kOutbox);
    ASSERT_TRUE(c && c->has_value());
    EXPECT_EQ((*c)->block_number, 3u);
}

}  // namespace

TEST_P(sqlite_queue, a_packet_found_delivered_on_chain_leaves_attested_without_a_receipt) {
    const auto ps = packets(kRoute, 1, 2);
    insert(ps);
    const auto ids = ids_of(ps);
    attest(ids);
    const std::vector<PacketId> first = {ids[0]};
    ASSERT_TRUE(q_->mark_delivered_elsewhere(first, kT0 + 1)) << q_->last_error();
    EXPECT_EQ(state_of(ids[0]), PacketState::delivered);
    EXPECT_FALSE(record_of(ids[0]).delivered_success.has_value());
    EXPECT_EQ(record_of(ids[0]).last_error, "delivered by another transaction");
    // Only attested packets qualify: a second call names the illegal transition.
    auto again = q_->mark_delivered_elsewhere(first, kT0 + 2);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error(), Error::illegal_transition);
    EXPECT_NE(q_->last_error().find("delivered -> delivered"), std::string_view::npos);
    EXPECT_EQ(state_of(ids[1]), PacketState::attested);
}

TEST_P(sqlite_queue, mined_deliveries_are_confirmed_or_reverted_once) {
    const auto ps = packets(kRoute, 1, 3);
    insert(ps);
    const auto ids = ids_of(ps);
    attest(ids);
    const std::vector<PacketId> a = {ids[0], ids[1]};
    const std::vector<PacketId> b = {ids[2]};
    ASSERT_TRUE(q_->record_delivery(delivery(a, 1, 0), kT0)) << q_->last_error();
    ASSERT_TRUE(q_->record_delivery(delivery(b, 2, 1), kT0)) << q_->last_error();
    auto ra = receipt_for(hash_of(1, 0x7e), a);
    ra.block_number = 100;
    auto rb = receipt_for(hash_of(2, 0x7e), b);
    rb.block_number = 101;
    ASSERT_TRUE(q_->record_receipt(ra, kT0 + 1));
    ASSERT_TRUE(q_->record_receipt(rb, kT0 + 1));

    auto due = q_->unconfirmed_deliveries(kRoute.dst, 100, 10);
    ASSERT_TRUE(due) << q_->last_error();
    ASSERT_EQ(due->size(), 1u);  // block 101 is not deep enough yet
    EXPECT_EQ((*due)[0].tx_hash, hash_of(1, 0x7e));
    EXPECT_EQ((*due)[0].packets, a);
    ASSERT_TRUE(q_->confirm_delivery(hash_of(1, 0x7e), kT0 + 2));
    auto after = q_->unconfirmed_deliveries(kRoute.dst, 1000, 10);
    ASSERT_TRUE(after);
    ASSERT_EQ(after->size(), 1u);
    EXPECT_EQ((*after)[0].tx_hash, hash_of(2, 0x7e));

    // The second one was reorged out: its packet is attested again, the delivery dropped.
    auto moved = q_->revert_delivery(hash_of(2, 0x7e), kT0 + 3);
    ASSERT_TRUE(moved) << q_->last_error();
    EXPECT_EQ(*moved, 1u);
    EXPECT_EQ(state_of(ids[2]), PacketState::attested);
    EXPECT_EQ(record_of(ids[2]).last_error, "delivery reorged out");
    EXPECT_EQ(state_of(ids[0]), PacketState::delivered);
    auto none = q_->unconfirmed_deliveries(kRoute.dst, 1000, 10);
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
    auto twice = q_->revert_delivery(hash_of(2, 0x7e), kT0 + 4);
    ASSERT_FALSE(twice);
    EXPECT_EQ(twice.error(), Error::delivery_not_live);
    EXPECT_FALSE(q_->confirm_delivery(hash_of(2, 0x7e), kT0 + 4));
    // It can be delivered again by a new transaction.
    ASSERT_TRUE(q_->record_delivery(delivery(b, 3, 2), kT0 + 5)) << q_->last_error();
    EXPECT_EQ(state_of(ids[2]), PacketState::submitted);
}

TEST_P(sqlite_queue, a_page_key_with_the_largest_seq_starts_after_that_nonce) {
    insert(packets(kRoute, 1, 5));
    PacketFilter f;
    f.route = kRoute;
    f.after = PageKey{kRoute, Nonce{2}, std::numeric_limits<std::uint64_t>::max()};
    f.limit = 2;
    auto page = q_->list_packets(f);
    ASSERT_TRUE(page) << q_->last_error();
    ASSERT_EQ(page->packets.size(), 2u);
    EXPECT_EQ(ferry::crypto::to_u64(page->packets[0].nonce), 3u);
    EXPECT_EQ(ferry::crypto::to_u64(page->packets[1].nonce), 4u);
}
