// The pruner on an in-memory queue: delivered packets past the retention go in bounded batches,
// counted; a replay is still recognised (by the route's nonce watermark).
#include "relayer/pruner.hpp"

#include "tests/storage/helpers.hpp"
#include "tests/support/run_task.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

namespace ferry::test {
namespace {

class PrunerTest : public ::testing::Test {
protected:
    PrunerTest() {
        SqliteQueueOptions o;
        o.retention_ms = 1;
        auto q = SqliteQueue::open(":memory:", o);
        if (!q) throw std::runtime_error("cannot open an in-memory queue");
        queue_ = std::move(*q);
    }

    /// `count` packets of the route 1 -> 10, attested, delivered by one tx each 100, mined.
    std::vector<PacketId> deliver(std::size_t count) {
        const Route route{ChainId{1}, ChainId{10}};
        std::vector<NewPacket> ps;
        for (std::uint64_t n = 1; n <= count; ++n) ps.push_back(make_packet(route, n));
        const auto now = relayer::now_ms() - 1000;  // delivered a second ago
        EXPECT_TRUE(queue_->insert_packets(ps, cursor_at(route.src, 1), now));
        std::vector<PacketId> ids;
        std::vector<Attestation> atts;
        for (const auto& p : ps) {
            ids.push_back(p.id);
            atts.push_back({p.id, validator(1), signature(1, p.id)});
        }
        EXPECT_TRUE(queue_->store_attestations(atts, now));
        EXPECT_TRUE(queue_->mark_attested(ids, now));
        for (std::size_t first = 0; first < ids.size(); first += 100) {
            Delivery d;
            d.chain = route.dst;
            d.tx_hash = hash_of(first, 0x7e);
            d.account = kRelayer;
            d.account_nonce = first / 100;
            d.gas_limit = 1'000'000;
            d.packets.assign(
                ids.begin() + static_cast<std::ptrdiff_t>(first),
                ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), first + 100)));
            EXPECT_TRUE(queue_->record_delivery(d, now));
            Receipt r;
            r.tx_hash = d.tx_hash;
            r.block_number = 100;
            r.block_hash = hash_of(100, 0xbc);
            r.status = true;
            for (const auto& id : d.packets) r.delivered.push_back({id, true});
            EXPECT_TRUE(queue_->record_receipt(r, now));
        }
        return ids;
    }

    boost::asio::io_context io_;
    std::unique_ptr<SqliteQueue> queue_;
    relayer::NodeCounters counters_;
};

TEST_F(PrunerTest, prunes_every_packet_past_the_retention_in_bounded_batches) {
    const auto ids = deliver(1'250);
    relayer::Pruner pruner(*queue_, counters_, "relayer", io_.get_executor(),
                           std::chrono::minutes(1), 500);
    EXPECT_EQ(run_task(io_, pruner.prune_once()), 1'250u);
    EXPECT_EQ(counters_.packets_pruned, 1'250u);
    EXPECT_EQ(run_task(io_, pruner.prune_once()), 0u);  // nothing left
    for (const auto& id : {ids.front(), ids[700], ids.back()}) {
        auto rec = queue_->packet(id);
        ASSERT_TRUE(rec);
        EXPECT_FALSE(*rec);  // nonces 1..1250 all seen: the rows go as well
        auto atts = queue_->attestations(id);
        ASSERT_TRUE(atts);
        EXPECT_TRUE(atts->empty());
    }
    // A replay of a pruned packet is still recognised.
    const std::vector<NewPacket> replay{make_packet({ChainId{1}, ChainId{10}}, 1)};
    const auto again = queue_->insert_packets(replay, cursor_at(ChainId{1}, 2), relayer::now_ms());
    ASSERT_TRUE(again);
    EXPECT_EQ(again->duplicates, 1u);
}

TEST_F(PrunerTest, run_prunes_on_its_interval_and_returns_when_stopped) {
    deliver(120);
    relayer::Pruner pruner(*queue_, counters_, "relayer", io_.get_executor(),
                           std::chrono::milliseconds(10), 50);
    bool finished = false;
    auto body = [&]() -> chains::Task<void> {
        co_await pruner.run();
        finished = true;
    };
    boost::asio::co_spawn(io_, body(), boost::asio::detached);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (counters_.packets_pruned < 120 && std::chrono::steady_clock::now() < deadline)
        io_.run_one_for(std::chrono::milliseconds(20));
    EXPECT_EQ(counters_.packets_pruned, 120u);
    pruner.stop();
    while (!finished) io_.run_one_for(std::chrono::milliseconds(20));
}

}  // namespace
}  // namespace ferry::test
