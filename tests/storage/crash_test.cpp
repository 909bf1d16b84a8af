// Proves a SIGKILL at any instant loses no committed batch and exposes no half batch: a child
// runs the pipeline's writes on one file, the parent kills it at random moments and checks.
#include "tests/storage/helpers.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <thread>

using namespace ferry::storage;
using namespace ferry::test;

namespace {

constexpr std::uint64_t kBatch = 40;  // packets per watcher batch
constexpr Route kRoute{ChainId{1}, ChainId{10}};
constexpr int kRounds = 75;

// What the child reports through the pipe, only after the step's commit returned.
struct Event {
    char step;  // 'I' inserted batch, 'A' attested up to batch, 'S' submitted, 'D' delivered
    char pad[3];
    std::uint32_t batch;
};
static_assert(sizeof(Event) == 8);

std::uint64_t batch_of(Nonce n) { return (ferry::crypto::to_u64(n) - 1) / kBatch + 1; }

// The child: the pipeline's writes in a loop, each step reading its work from the queue, so it
// picks up wherever the previous child was killed. Never returns.
[[noreturn]] void run_child(const std::string& path, int fd) {
    auto opened = SqliteQueue::open(path);
    if (!opened) ::_exit(2);
    SqliteQueue& q = **opened;
    auto report = [&](char step, std::uint64_t batch) {
        const Event e{step, {}, static_cast<std::uint32_t>(batch)};
        ssize_t n;
        do {
            n = ::write(fd, &e, sizeof e);
        } while (n < 0 && errno == EINTR);
        if (n != static_cast<ssize_t>(sizeof e)) ::_exit(3);
    };
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    UnixMillis now = kT0;
    while (std::chrono::steady_clock::now() < deadline) {
        now += 1000;
        // Watcher: the next batch of packets with the cursor, in one transaction.
        auto c = q.cursor(kRoute.src, kOutbox);
        if (!c) ::_exit(4);
        const std::uint64_t b = c->has_value() ? (*c)->block_number + 1 : 1;
        std::vector<NewPacket> batch;
        for (std::uint64_t n = (b - 1) * kBatch + 1; n <= b * kBatch; ++n)
            batch.push_back(make_packet(kRoute, n));
        if (!q.insert_packets(batch, cursor_at(kRoute.src, b), now)) ::_exit(5);
        report('I', b);

        // Attestor: every observed packet gets 3 signatures, then becomes attested.
        PacketFilter f;
        f.state = PacketState::observed;
        f.route = kRoute;
        f.limit = 1000;
        auto observed = q.list_packets(f);
        if (!observed) ::_exit(6);
        if (!observed->packets.empty()) {
            std::vector<Attestation> atts;
            std::vector<PacketId> ids;
            for (const auto& r : observed->packets) {
                ids.push_back(r.id);
                for (std::uint8_t v = 1; v <= 3; ++v)
                    atts.push_back({r.id, validator(v), signature(v, r.id)});
            }
            if (!q.store_attestations(atts, now)) ::_exit(7);
            if (!q.mark_attested(ids, now)) ::_exit(8);
            report('A', batch_of(observed->packets.back().nonce));
        }

        // Submitter: the next whole batch in nonce order, written before "sending".
        auto next = q.next_attested(kRoute, kBatch);
        if (!next) ::_exit(9);
        if (next->size() == kBatch) {
            const std::uint64_t nb = batch_of(next->front().nonce);
            Delivery d;
            d.chain = kRoute.dst;
            d.tx_hash = hash_of(nb, 0x7e);
            d.account = kRelayer;
            d.account_nonce = nb;
            d.gas_limit = 1'000'000;
            for (const auto& r : *next) d.packets.push_back(r.id);
            if (!q.record_delivery(d, now)) ::_exit(10);
            report('S', nb);
        }

        // Receipt tracker: every live delivery lands with all its packets.
        auto pending = q.pending_deliveries(kRoute.dst, 10);
        if (!pending) ::_exit(11);
        for (const auto& d : *pending) {
            Receipt r;
            r.tx_hash = d.tx_hash;
            r.block_number = d.account_nonce;
            r.status = true;
            for (const auto& id : d.packets) r.delivered.push_back({id, true});
            if (!q.record_receipt(r, now)) ::_exit(12);
            report('D', d.account_nonce);
        }
    }
    ::_exit(0);
}

// Kills and reaps the child if a check fails before the parent did.
class Child {
public:
    explicit Child(pid_t pid) : pid_(pid) {}
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    ~Child() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            int status = 0;
            ::waitpid(pid_, &status, 0);
        }
    }
    int kill_and_reap() {
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
        return status;
    }

private:
    pid_t pid_;
};

std::int64_t scalar(Database& db, std::string_view sql) {
    auto st = db.prepare(sql);
    EXPECT_TRUE(st) << db.last_error();
    if (!st) return -1;
    auto row = st->step();
    EXPECT_TRUE(row && *row) << db.last_error();
    return row && *row ? st->i64(0) : -1;
}

std::int64_t with_arg(Database& db, std::string_view sql, std::int64_t arg) {
    auto st = db.prepare(sql);
    EXPECT_TRUE(st) << db.last_error();
    if (!st) return -1;
    st->bind(1, arg);
    auto row = st->step();
    EXPECT_TRUE(row && *row) << db.last_error();
    return row && *row ? st->i64(0) : -1;
}

TEST(storage_crash, sigkill_at_random_instants_loses_no_committed_batch_and_shows_no_half) {
    TempDir dir;
    const std::string path = dir.file("crash.sqlite");
    const auto seed = std::random_device{}();
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> delay_us(0, 60'000);
    SCOPED_TRACE("seed " + std::to_string(seed));

    std::map<char, std::uint64_t> reported;  // highest batch reported per step, all rounds
    std::uint64_t waited_rounds = 0;
    for (int round = 1; round <= kRounds; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        const pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            ::close(fds[0]);
            run_child(path, fds[1]);
        }
        ::close(fds[1]);
        Event e;
        ssize_t n;
        {
            Child child(pid);
            // Even rounds count the delay from the fork (kills land in open and WAL recovery
            // too); odd rounds from the child's first committed batch (kills land in its work).
            if (round % 2 == 1) {
                pollfd pfd{fds[0], POLLIN, 0};
                ASSERT_EQ(::poll(&pfd, 1, 20'000), 1) << "the child reported nothing";
                ASSERT_EQ(::read(fds[0], &e, sizeof e), static_cast<ssize_t>(sizeof e));
                ASSERT_EQ(e.step, 'I');
                reported['I'] = std::max<std::uint64_t>(reported['I'], e.batch);
                ++waited_rounds;
            }
            std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
            const int status = child.kill_and_reap();
            ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
                << "the child stopped by itself, status " << status;
        }
        while ((n = ::read(fds[0], &e, sizeof e)) == static_cast<ssize_t>(sizeof e))
            reported[e.step] = std::max<std::uint64_t>(reported[e.step], e.batch);
        ::close(fds[0]);
        ASSERT_EQ(n, 0) << "a torn event on the pipe";

        std::string detail;
        auto opened = SqliteQueue::open(path, {}, &detail);
        ASSERT_TRUE(opened) << detail;
        SqliteQueue& q = **opened;
        Database& db = q.database();

        {
            auto st = db.prepare("PRAGMA integrity_check");
            ASSERT_TRUE(st);
            auto row = st->step();
            ASSERT_TRUE(row && *row);
            ASSERT_EQ(st->text(0), "ok");
        }
        auto c = q.cursor(kRoute.src, kOutbox);
        ASSERT_TRUE(c);
        const std::uint64_t committed = c->has_value() ? (*c)->block_number : 0;
        ASSERT_GE(committed, reported['I']);

        // Exactly the batches 1..committed, each whole, no packet twice, nothing beyond.
        const auto total = static_cast<std::int64_t>(committed * kBatch);
        ASSERT_EQ(scalar(db, "SELECT count(*) FROM packets"), total);
        ASSERT_EQ(scalar(db, "SELECT count(DISTINCT nonce) FROM packets"), total);
        ASSERT_EQ(scalar(db, "SELECT count(DISTINCT id) FROM packets"), total);
        if (total > 0) {
            ASSERT_EQ(scalar(db, "SELECT min(nonce) FROM packets"), 1);
            ASSERT_EQ(scalar(db, "SELECT max(nonce) FROM packets"), total);
        }
        ASSERT_EQ(scalar(db, "SELECT count(*) FROM packet_data"), total);
        // Every batch is in one state, and has all or none of its signatures.
        ASSERT_EQ(scalar(db,
                         "SELECT count(*) FROM (SELECT (nonce - 1) / 40 AS b FROM packets "
                         "GROUP BY b HAVING count(DISTINCT state) != 1 OR count(*) != 40)"),
                  0);
        ASSERT_EQ(scalar(db,
                         "SELECT count(*) FROM (SELECT (p.nonce - 1) / 40 AS b, "
                         "count(a.validator) AS n FROM packets p LEFT JOIN attestations a ON "
                         "a.packet_seq = p.seq GROUP BY b HAVING n NOT IN (0, 120))"),
                  0);
        // Whatever the child reported is there.
        const auto upto = [&](char step) {
            return static_cast<std::int64_t>(reported[step] * kBatch);
        };
        ASSERT_EQ(
            with_arg(db, "SELECT count(*) FROM packets WHERE nonce <= ?1 AND state = 0", upto('A')),
            0);
        ASSERT_EQ(
            with_arg(db, "SELECT count(*) FROM packets WHERE nonce <= ?1 AND state NOT IN (2, 3)",
                     upto('S')),
            0);
        ASSERT_EQ(with_arg(db, "SELECT count(*) FROM packets WHERE nonce <= ?1 AND state != 3",
                           upto('D')),
                  0);
        // Submitted and delivered packets have their delivery row; counts match the rows.
        ASSERT_EQ(scalar(db,
                         "SELECT count(*) FROM packets WHERE state IN (2, 3) AND delivery_id NOT "
                         "IN (SELECT id FROM deliveries)"),
                  0);
        ASSERT_EQ(scalar(db,
                         "SELECT count(*) FROM (SELECT state, count(*) AS n FROM packets GROUP "
                         "BY state) AS real LEFT JOIN route_counts rc ON rc.state = real.state "
                         "WHERE rc.count IS NOT real.n"),
                  0);
        ASSERT_EQ(scalar(db,
                         "SELECT count(*) FROM route_counts rc WHERE rc.count != "
                         "(SELECT count(*) FROM packets WHERE state = rc.state)"),
                  0);
    }
    // The rounds did real work: each waited round committed at least one new batch.
    EXPECT_GE(reported['I'], waited_rounds);
    EXPECT_GE(waited_rounds, static_cast<std::uint64_t>(kRounds / 2));
    std::printf("%d kills; batches reported inserted %llu, delivered %llu\n", kRounds,
                static_cast<unsigned long long>(reported['I']),
                static_cast<unsigned long long>(reported['D']));
}

}  // namespace
