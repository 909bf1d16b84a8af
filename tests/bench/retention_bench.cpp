// Database size over a long run, with and without the pruner: a SQLite queue file takes
// `--rounds` rounds of `--packets` packets (each inserted, attested by two validators, delivered
// in transactions of 50 and mined); a round stands for an hour of traffic. With pruning, every
// round ends with the pruner's pass (retention `--retention-rounds` rounds, batches of 500).
// Prints one JSON object: the file size after each round for both runs, and the bytes per
// packet before and after pruning. Usage: ferry_retention_bench [--rounds R] [--packets N]
// [--body-bytes B] [--retention-rounds K] [--dir DIR]
#include "chains/evm/packet.hpp"
#include "storage/sqlite_queue.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace ferry;
using namespace ferry::storage;

namespace {

constexpr UnixMillis kHour = 3'600'000;
constexpr UnixMillis kStart = 1'700'000'000'000;
const Route kRoute{crypto::ChainId{4301}, crypto::ChainId{4302}};

struct Options {
    std::size_t rounds = 48;
    std::size_t packets = 5'000;
    std::size_t body_bytes = 200;
    std::size_t retention_rounds = 6;
    std::string dir;
};

/// A packet of kRoute with a body of `body_bytes`, packed by the product's encoder.
NewPacket make_packet(std::uint64_t nonce, std::size_t body_bytes) {
    chains::evm::Packet packet;
    packet.nonce = crypto::Nonce{nonce};
    packet.src_chain = kRoute.src;
    packet.sender.bytes[31] = 0x51;
    packet.dst_chain = kRoute.dst;
    packet.recipient.bytes[31] = 0x52;
    for (std::size_t i = 0; i < body_bytes; ++i)
        packet.body.push_back(static_cast<std::uint8_t>(nonce + i));
    NewPacket p;
    p.route = kRoute;
    p.nonce = packet.nonce;
    p.sender = packet.sender;
    p.recipient = packet.recipient;
    p.source_block = nonce / 100 + 1;
    p.encoded = chains::evm::encode(packet);
    p.id = chains::evm::packet_id(p.encoded);
    return p;
}

crypto::Hash32 tagged(std::uint64_t n, std::uint8_t tag) {
    crypto::Hash32 h;
    h.bytes[0] = tag;
    for (std::size_t i = 0; i < 8; ++i) h.bytes[31 - i] = static_cast<std::uint8_t>(n >> (8 * i));
    return h;
}

template <class T>
void check(const Result<T>& r, SqliteQueue& q, const char* what) {
    if (!r) throw std::runtime_error(std::string(what) + ": " + std::string(q.last_error()));
}

/// One hour of traffic: `o.packets` packets from nonce `first`, at `now`.
void one_round(SqliteQueue& q, const Options& o, std::uint64_t first, UnixMillis now) {
    std::vector<NewPacket> ps;
    std::vector<crypto::PacketId> ids;
    std::vector<Attestation> atts;
    for (std::uint64_t n = first; n < first + o.packets; ++n) {
        ps.push_back(make_packet(n, o.body_bytes));
        ids.push_back(ps.back().id);
        for (std::uint8_t v = 1; v <= 2; ++v) {
            Attestation a;
            a.packet = ps.back().id;
            a.validator.bytes[19] = v;
            a.signature.bytes[0] = v;
            std::copy(a.packet.bytes.begin(), a.packet.bytes.end(), a.signature.bytes.begin() + 1);
            a.signature.bytes[64] = 27;
            atts.push_back(a);
        }
    }
    const Cursor cursor{kRoute.src, crypto::Address{}, ps.back().source_block,
                        tagged(ps.back().source_block, 0xbb)};
    check(q.insert_packets(ps, cursor, now), q, "inserting packets");
    check(q.store_attestations(atts, now), q, "storing attestations");
    check(q.mark_attested(ids, now), q, "marking attested");
    for (std::size_t k = 0; k < ids.size(); k += 50) {
        Delivery d;
        d.chain = kRoute.dst;
        d.tx_hash = tagged(first + k, 0x7e);
        d.account.bytes[19] = 0xa1;
        d.account_nonce = (first + k) / 50;
        d.gas_limit = 5'000'000;
        d.packets.assign(ids.begin() + static_cast<std::ptrdiff_t>(k),
                         ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), k + 50)));
        check(q.record_delivery(d, now), q, "recording a delivery");
        Receipt r;
        r.tx_hash = d.tx_hash;
        r.block_number = first + k;
        r.block_hash = tagged(first + k, 0xbc);
        r.status = true;
        r.gas_used = 2'000'000;
        for (const auto& id : d.packets) r.delivered.push_back({id, true});
        check(q.record_receipt(r, now), q, "recording a receipt");
    }
}

/// The run's file sizes (main file plus WAL) after each round, in bytes.
std::vector<std::uintmax_t> run(const Options& o, bool prune, const fs::path& file) {
    fs::remove(file);
    fs::remove(file.string() + "-wal");
    fs::remove(file.string() + "-shm");
    SqliteQueueOptions qo;
    qo.retention_ms = static_cast<UnixMillis>(o.retention_rounds) * kHour;
    auto opened = SqliteQueue::open(file.string(), qo);
    if (!opened) throw std::runtime_error("cannot open " + file.string());
    SqliteQueue& q = **opened;
    std::vector<std::uintmax_t> sizes;
    for (std::size_t round = 0; round < o.rounds; ++round) {
        const UnixMillis now = kStart + static_cast<UnixMillis>(round) * kHour;
        one_round(q, o, 1 + round * o.packets, now);
        if (prune) {
            for (;;) {
                auto n = q.prune_delivered(now, 500);
                check(n, q, "pruning");
                if (*n < 500) break;
            }
        }
        // The WAL written back and emptied: the size is the database's own.
        if (auto r = q.database().exec("PRAGMA wal_checkpoint(TRUNCATE)"); !r)
            throw std::runtime_error("checkpointing the WAL");
        const std::uintmax_t size = fs::file_size(file);
        sizes.push_back(size);
        std::cerr << "[retention-bench] " << (prune ? "pruned" : "kept") << " round " << round + 1
                  << "/" << o.rounds << ": " << size / 1024 << " KiB\n";
    }
    return sizes;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{
        "Ferry retention benchmark: the queue file's size over a long run, with and without "
        "the pruner; one JSON object on stdout"};
    app.add_option("--rounds", o.rounds, "Rounds (each stands for an hour)")->capture_default_str();
    app.add_option("--packets", o.packets, "Packets per round")->capture_default_str();
    app.add_option("--body-bytes", o.body_bytes, "Body bytes per packet")->capture_default_str();
    app.add_option("--retention-rounds", o.retention_rounds, "Retention, in rounds")
        ->capture_default_str();
    app.add_option("--dir", o.dir, "Where the database files go (default: a temp dir)");
    CLI11_PARSE(app, argc, argv);
    if (o.rounds == 0 || o.packets == 0) {
        std::cerr << "ferry_retention_bench: --rounds and --packets must be at least 1\n";
        return 2;
    }
    try {
        const fs::path dir =
            o.dir.empty() ? fs::temp_directory_path() / "ferry-retention-bench" : fs::path(o.dir);
        fs::create_directories(dir);
        const auto kept = run(o, false, dir / "kept.db");
        const auto pruned = run(o, true, dir / "pruned.db");
        fs::remove_all(dir);
        const double total = static_cast<double>(o.rounds * o.packets);
        nlohmann::json j;
        j["rounds"] = o.rounds;
        j["packets_per_round"] = o.packets;
        j["body_bytes"] = o.body_bytes;
        j["retention_rounds"] = o.retention_rounds;
        j["bytes_kept"] = kept;
        j["bytes_pruned"] = pruned;
        j["bytes_per_packet_kept"] = static_cast<double>(kept.back()) / total;
        j["bytes_per_packet_pruned_run"] = static_cast<double>(pruned.back()) / total;
        // Growth over the last half of the run, per packet: what a long run keeps adding.
        const std::size_t half = o.rounds / 2;
        const double late = static_cast<double>((o.rounds - half) * o.packets);
        j["late_growth_bytes_per_packet_kept"] =
            static_cast<double>(kept.back() - kept[half]) / late;
        j["late_growth_bytes_per_packet_pruned"] =
            static_cast<double>(pruned.back() - pruned[half]) / late;
        std::cout << j.dump() << std::endl;
    } catch (const std::exception& e) {
        std::cerr << "ferry_retention_bench: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
