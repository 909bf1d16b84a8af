// Measures the SQLite queue on a database already holding 1,000,000 packets: the full packet
// lifecycle at batch sizes 1, 100 and 1000, the raw SQLite insert rate beside it, and the time and
// memory to open the database and answer "what is pending".
//
// The 1M-packet database is built once (a few minutes) and reused: its path is
// $FERRY_STORAGE_BENCH_DB, or /tmp/ferry-storage-bench/queue-1m.sqlite.
#include "crypto/keccak.hpp"
#include "storage/sqlite_queue.hpp"

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace ferry::storage;
using ferry::crypto::Bytes;

namespace {

constexpr UnixMillis kT0 = 1'700'000'000'000;
constexpr std::uint64_t kPerRoute = 250'000;
constexpr std::uint64_t kChunk = 500;
constexpr Route kRoutes[] = {{ChainId{1}, ChainId{10}},
                             {ChainId{1}, ChainId{20}},
                             {ChainId{1}, ChainId{30}},
                             {ChainId{1}, ChainId{40}}};
// Per route, by nonce: delivered up to 245,000; then 500 submitted, 2,500 attested and
// 2,000 observed, as a relayer with a backlog would have.
constexpr std::uint64_t kDeliveredUpTo = 245'000;
constexpr std::uint64_t kSubmittedUpTo = 245'500;
constexpr std::uint64_t kAttestedUpTo = 248'000;

std::string db_path() {
    if (const char* p = std::getenv("FERRY_STORAGE_BENCH_DB"); p != nullptr && *p != '\0') return p;
    return "/tmp/ferry-storage-bench/queue-1m.sqlite";
}

Address address(std::uint8_t tag) {
    Address a;
    a.bytes[0] = tag;
    a.bytes[19] = tag;
    return a;
}

const Address kOutbox = address(0xb0);
const Address kBenchOutbox = address(0xbe);
const Address kRelayer = address(0xa1);

void put_u64(Bytes& out, std::uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8)
        out.push_back(static_cast<std::uint8_t>(v >> shift));
}

// A packet packed per docs/design.md §2 with a 64-byte body.
NewPacket make_packet(const Route& route, std::uint64_t nonce) {
    NewPacket p;
    p.route = route;
    p.nonce = Nonce{nonce};
    p.sender.bytes[31] = 0x51;
    p.recipient.bytes[31] = 0x52;
    p.source_block = nonce;
    p.encoded.reserve(97 + 64);
    p.encoded.push_back(1);
    put_u64(p.encoded, nonce);
    put_u64(p.encoded, ferry::crypto::to_u64(route.src));
    p.encoded.insert(p.encoded.end(), p.sender.bytes.begin(), p.sender.bytes.end());
    put_u64(p.encoded, ferry::crypto::to_u64(route.dst));
    p.encoded.insert(p.encoded.end(), p.recipient.bytes.begin(), p.recipient.bytes.end());
    put_u64(p.encoded, 0);
    for (int i = 0; i < 64; ++i) p.encoded.push_back(static_cast<std::uint8_t>(i));
    p.id = ferry::crypto::keccak256(p.encoded);
    return p;
}

Hash32 hash_of(std::uint64_t n, std::uint8_t tag) {
    Hash32 h;
    h.bytes[0] = tag;
    for (std::size_t i = 0; i < 8; ++i) h.bytes[31 - i] = static_cast<std::uint8_t>(n >> (8 * i));
    return h;
}

std::vector<Attestation> attestations_for(const std::vector<PacketId>& ids) {
    std::vector<Attestation> out;
    out.reserve(ids.size() * 3);
    for (const auto& id : ids)
        for (std::uint8_t v = 1; v <= 3; ++v) {
            Attestation a{id, address(v), {}};
            std::copy(id.bytes.begin(), id.bytes.end(), a.signature.bytes.begin());
            a.signature.bytes[64] = 27;
            out.push_back(a);
        }
    return out;
}

[[noreturn]] void die(const char* what, const Queue& q) {
    std::fprintf(stderr, "storage bench: %s failed: %.*s\n", what,
                 static_cast<int>(q.last_error().size()), q.last_error().data());
    std::exit(1);
}

// Builds (or completes) the 1M-packet database through the queue's own API.
void build_database(const std::string& path) {
    std::string detail;
    auto opened = SqliteQueue::open(path, {}, &detail);
    if (!opened) {
        std::fprintf(stderr, "storage bench: cannot open %s: %s\n", path.c_str(), detail.c_str());
        std::exit(1);
    }
    SqliteQueue& q = **opened;
    auto cursor = q.cursor(ChainId{1}, kOutbox);
    if (!cursor) die("cursor", q);
    // The cursor's block counts chunks inserted, round-robin over the routes.
    std::uint64_t block = cursor->has_value() ? (*cursor)->block_number : 0;
    const std::uint64_t chunks_per_route = kPerRoute / kChunk;
    const std::uint64_t total_chunks = chunks_per_route * std::size(kRoutes);
    std::uint64_t account_nonce = q.account_nonce(ChainId{10}, kRelayer).value().value_or(0);
    const auto started = std::chrono::steady_clock::now();
    for (; block < total_chunks; ++block) {
        const Route& route = kRoutes[block % std::size(kRoutes)];
        const std::uint64_t first = (block / std::size(kRoutes)) * kChunk + 1;
        const std::uint64_t last = first + kChunk - 1;
        const UnixMillis now = kT0 + static_cast<UnixMillis>(block) * 1000;
        std::vector<NewPacket> packets;
        std::vector<PacketId> ids;
        for (std::uint64_t n = first; n <= last; ++n) {
            packets.push_back(make_packet(route, n));
            ids.push_back(packets.back().id);
        }
        Cursor c{ChainId{1}, kOutbox, block + 1, hash_of(block + 1, 0xbb)};
        if (!q.insert_packets(packets, c, now)) die("insert", q);
        if (last > kAttestedUpTo) continue;  // the observed backlog
        if (!q.store_attestations(attestations_for(ids), now)) die("attest", q);
        if (!q.mark_attested(ids, now)) die("mark_attested", q);
        if (last > kSubmittedUpTo) continue;  // the attested backlog
        Delivery d;
        d.chain = route.dst;
        d.tx_hash = hash_of(block, 0x7e);
        d.account = kRelayer;
        d.account_nonce = account_nonce++;
        d.gas_limit = 30'000'000;
        d.packets = ids;
        if (!q.record_delivery(d, now)) die("record_delivery", q);
        if (last > kDeliveredUpTo) continue;  // in flight
        Receipt r;
        r.tx_hash = d.tx_hash;
        r.block_number = block;
        r.status = true;
        for (const auto& id : ids) r.delivered.push_back({id, true});
        if (!q.record_receipt(r, now + 500)) die("record_receipt", q);
        if ((block + 1) % 200 == 0) {
            const double s =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            std::fprintf(stderr, "storage bench: built %llu of %llu packets (%.0f s)\n",
                         static_cast<unsigned long long>((block + 1) * kChunk),
                         static_cast<unsigned long long>(total_chunks * kChunk), s);
        }
    }
}

// Builds the database in a child process, so that this process's memory figures are its own.
void ensure_database(const std::string& path) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    const pid_t pid = ::fork();
    if (pid < 0) {
        std::perror("fork");
        std::exit(1);
    }
    if (pid == 0) {
        build_database(path);
        std::fflush(nullptr);
        ::_exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::fprintf(stderr, "storage bench: building %s failed\n", path.c_str());
        std::exit(1);
    }
}

// VmHWM / VmRSS of this process in MiB, from /proc/self/status.
double proc_status_mib(const std::string& key) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(key + ":", 0) == 0) return std::stod(line.substr(key.size() + 1)) / 1024.0;
    return -1;
}

void reset_peak_rss() {
    std::ofstream out("/proc/self/clear_refs");
    out << "5";  // resets VmHWM to the current RSS
}

// Drops the database files' pages from the OS page cache (only these files), so that the next
// open reads from the disk.
void evict_from_page_cache(const std::string& path) {
    for (const char* suffix : {"", "-wal", "-shm"}) {
        const int fd = ::open((path + suffix).c_str(), O_RDONLY);
        if (fd < 0) continue;
        ::fdatasync(fd);
        ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        ::close(fd);
    }
}

// Opens the 1M database (a new connection each time) and answers what the status API and the
// pipeline ask first: counts per route and state, oldest pending per route, the next attested
// batch of every route, due retries and live deliveries. With range(0) = 1 the file's pages are
// first evicted from the OS page cache (a cold start).
void open_and_answer_pending(benchmark::State& state) {
    const std::string path = db_path();
    const bool cold = state.range(0) == 1;
    reset_peak_rss();
    std::uint64_t total = 0, pending = 0, next_batch = 0, live = 0;
    for (auto _ : state) {
        if (cold) {
            state.PauseTiming();
            evict_from_page_cache(path);
            state.ResumeTiming();
        }
        auto opened = SqliteQueue::open(path);
        if (!opened) {
            state.SkipWithError("cannot open the 1M database");
            return;
        }
        SqliteQueue& q = **opened;
        auto counts = q.counts();
        auto ages = q.oldest_pending();
        auto routes = q.routes();
        auto due = q.due_retries(kT0 + 1'000'000'000, 100);
        if (!counts || !ages || !routes || !due) {
            state.SkipWithError("a query failed");
            return;
        }
        total = pending = next_batch = live = 0;
        for (const auto& c : *counts) {
            total += c.count;
            if (is_pending(c.state)) pending += c.count;
        }
        for (const auto& r : *routes) {
            auto batch = q.next_attested(r.route, 100);
            auto deliveries = q.pending_deliveries(r.route.dst, 100);
            if (!batch || !deliveries) {
                state.SkipWithError("a query failed");
                return;
            }
            next_batch += batch->size();
            live += deliveries->size();
        }
        benchmark::DoNotOptimize(ages->data());
    }
    state.counters["packets"] = static_cast<double>(total);
    state.counters["pending"] = static_cast<double>(pending);
    state.counters["next_attested"] = static_cast<double>(next_batch);
    state.counters["live_deliveries"] = static_cast<double>(live);
    state.counters["peak_rss_MiB"] = proc_status_mib("VmHWM");
    state.counters["rss_MiB"] = proc_status_mib("VmRSS");
}

// One batch through the whole lifecycle per iteration: insert with the cursor, 3 attestations
// each, attested, read back as the next batch, submitted with its delivery row, delivered with
// its receipt. Each step is its own transaction, as in the pipeline.
void lifecycle(benchmark::State& state) {
    const auto batch = static_cast<std::uint64_t>(state.range(0));
    auto opened = SqliteQueue::open(db_path());
    if (!opened) {
        state.SkipWithError("cannot open the 1M database");
        return;
    }
    SqliteQueue& q = **opened;
    const Route route{ChainId{1}, ChainId{1000 + batch}};
    std::uint64_t nonce = 0;
    if (auto routes = q.routes())
        for (const auto& r : *routes)
            if (r.route == route) nonce = ferry::crypto::to_u64(r.highest);
    std::uint64_t account_nonce = q.account_nonce(route.dst, kRelayer).value().value_or(0);
    auto cursor = q.cursor(ChainId{1}, kBenchOutbox).value();
    std::uint64_t block = cursor ? cursor->block_number : 0;
    UnixMillis now = kT0 + 1'000'000'000;

    for (auto _ : state) {
        state.PauseTiming();
        std::vector<NewPacket> packets;
        std::vector<PacketId> ids;
        for (std::uint64_t i = 0; i < batch; ++i) {
            packets.push_back(make_packet(route, ++nonce));
            ids.push_back(packets.back().id);
        }
        const auto atts = attestations_for(ids);
        Delivery d;
        d.chain = route.dst;
        d.tx_hash = hash_of(nonce, static_cast<std::uint8_t>(0x80 + (batch % 100)));
        d.tx_hash.bytes[1] = static_cast<std::uint8_t>(batch >> 8);
        d.account = kRelayer;
        d.account_nonce = account_nonce++;
        d.gas_limit = 30'000'000;
        d.packets = ids;
        Receipt r;
        r.tx_hash = d.tx_hash;
        r.status = true;
        for (const auto& id : ids) r.delivered.push_back({id, true});
        ++block;
        now += 1000;
        state.ResumeTiming();

        if (!q.insert_packets(packets, Cursor{ChainId{1}, kBenchOutbox, block, {}}, now))
            die("insert", q);
        if (!q.store_attestations(atts, now)) die("attest", q);
        if (!q.mark_attested(ids, now)) die("mark_attested", q);
        auto next = q.next_attested(route, batch);
        if (!next || next->size() != batch) die("next_attested", q);
        if (!q.record_delivery(d, now)) die("record_delivery", q);
        if (!q.record_receipt(r, now)) die("record_receipt", q);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
    state.counters["batch"] = static_cast<double>(batch);
}

// The same machine's plain SQLite insert rate: one prepared INSERT of a 32-byte key and a
// 161-byte blob per row, `batch` rows per transaction, same file, WAL, synchronous=NORMAL.
void raw_sqlite_insert(benchmark::State& state) {
    const auto batch = state.range(0);
    sqlite3* db = nullptr;
    if (sqlite3_open(db_path().c_str(), &db) != SQLITE_OK) {
        state.SkipWithError("cannot open the database");
        sqlite3_close(db);
        return;
    }
    sqlite3_exec(db,
                 "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                 "PRAGMA cache_size = -8192; "
                 "CREATE TABLE IF NOT EXISTS bench_raw (id BLOB PRIMARY KEY, n INTEGER, "
                 "data BLOB) WITHOUT ROWID",
                 nullptr, nullptr, nullptr);
    sqlite3_stmt* insert = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO bench_raw (id, n, data) VALUES (?1, ?2, ?3)", -1, &insert,
                       nullptr);
    std::int64_t n = 0;
    {
        sqlite3_stmt* max = nullptr;
        sqlite3_prepare_v2(db, "SELECT coalesce(max(n), 0) FROM bench_raw", -1, &max, nullptr);
        if (sqlite3_step(max) == SQLITE_ROW) n = sqlite3_column_int64(max, 0);
        sqlite3_finalize(max);
    }
    const Bytes data(161, 0x5a);
    for (auto _ : state) {
        sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
        for (std::int64_t i = 0; i < batch; ++i) {
            ++n;
            const Hash32 key =
                ferry::crypto::keccak256(hash_of(static_cast<std::uint64_t>(n), 0).view());
            sqlite3_bind_blob(insert, 1, key.data(), 32, SQLITE_STATIC);
            sqlite3_bind_int64(insert, 2, n);
            sqlite3_bind_blob(insert, 3, data.data(), static_cast<int>(data.size()), SQLITE_STATIC);
            if (sqlite3_step(insert) != SQLITE_DONE) {
                state.SkipWithError(sqlite3_errmsg(db));
                break;
            }
            sqlite3_reset(insert);
        }
        sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    }
    sqlite3_finalize(insert);
    sqlite3_close(db);
    state.SetItemsProcessed(state.iterations() * batch);
}

}  // namespace

// Registered first so that it runs on a fresh process.
BENCHMARK(open_and_answer_pending)
    ->ArgName("cold")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);
BENCHMARK(lifecycle)->Arg(1)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(raw_sqlite_insert)
    ->Arg(1)
    ->Arg(100)
    ->Arg(1000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    const std::string path = db_path();
    std::fprintf(stderr, "storage bench: database %s\n", path.c_str());
    ensure_database(path);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
