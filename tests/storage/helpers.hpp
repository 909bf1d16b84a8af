// Helpers shared by the storage tests: packets packed as docs/design.md §2 says, and temp
// databases.
#pragma once

#include "crypto/keccak.hpp"
#include "crypto/types.hpp"
#include "storage/queue.hpp"
#include "storage/sqlite_queue.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace ferry::test {

using namespace ferry::storage;

inline constexpr UnixMillis kT0 = 1'700'000'000'000;  // a fixed "now"
using namespace ferry::crypto::literals;

inline constexpr Address kOutbox = "0x00000000000000000000000000000000000000b0"_address;
inline constexpr Address kRelayer = "0x00000000000000000000000000000000000000a1"_address;

inline void put_u64(crypto::Bytes& out, std::uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8)
        out.push_back(static_cast<std::uint8_t>(v >> shift));
}

/// A packet packed per docs/design.md §2; its id is keccak256 of the packed bytes.
inline NewPacket make_packet(Route route, std::uint64_t nonce, std::uint64_t expiry = 0,
                             std::uint8_t salt = 0) {
    NewPacket p;
    p.route = route;
    p.nonce = Nonce{nonce};
    p.sender.bytes[31] = 0x51;
    p.recipient.bytes[31] = 0x52;
    p.expiry = expiry;
    p.source_block = nonce;
    p.encoded.push_back(1);
    put_u64(p.encoded, nonce);
    put_u64(p.encoded, crypto::to_u64(route.src));
    p.encoded.insert(p.encoded.end(), p.sender.bytes.begin(), p.sender.bytes.end());
    put_u64(p.encoded, crypto::to_u64(route.dst));
    p.encoded.insert(p.encoded.end(), p.recipient.bytes.begin(), p.recipient.bytes.end());
    put_u64(p.encoded, expiry);
    p.encoded.push_back(salt);  // one-byte body; a different salt gives a different id
    p.id = crypto::keccak256(p.encoded);
    return p;
}

inline Hash32 hash_of(std::uint64_t n, std::uint8_t tag) {
    Hash32 h;
    h.bytes[0] = tag;
    for (std::size_t i = 0; i < 8; ++i) h.bytes[31 - i] = static_cast<std::uint8_t>(n >> (8 * i));
    return h;
}

inline Cursor cursor_at(ChainId chain, std::uint64_t block) {
    return Cursor{chain, kOutbox, block, hash_of(block, 0xbb)};
}

inline Address validator(std::uint8_t n) {
    Address a;
    a.bytes[19] = n;
    return a;
}

inline Signature signature(std::uint8_t validator_n, const PacketId& id) {
    Signature s;
    s.bytes[0] = validator_n;
    std::copy(id.bytes.begin(), id.bytes.end(), s.bytes.begin() + 1);
    s.bytes[64] = 27;
    return s;
}

/// A fresh directory under the test temp dir, removed (with its files) on destruction.
class TempDir {
public:
    TempDir() {
        std::string tmpl =
            (std::filesystem::path(::testing::TempDir()) / "ferry-storage-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
    std::filesystem::path path_;
};

}  // namespace ferry::test

namespace ferry::test {

enum class Backend { memory, file };

inline std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
    return info.param == Backend::memory ? "memory" : "file";
}

/// Opens queues on the parameter's backend: ":memory:" or a new file in a temp directory.
class QueueFixture : public ::testing::TestWithParam<Backend> {
protected:
    static constexpr Route kRoute{ChainId{1}, ChainId{10}};
    static constexpr Route kOther{ChainId{1}, ChainId{20}};

    static SqliteQueueOptions test_options() {
        SqliteQueueOptions o;
        o.backoff.initial_delay_ms = 1000;
        o.backoff.multiplier = 2.0;
        o.backoff.max_delay_ms = 5000;
        o.backoff.jitter = 0.0;
        o.backoff.max_attempts = 3;
        o.retention_ms = 60'000;
        return o;
    }

    std::string new_path() {
        if (GetParam() == Backend::memory) return ":memory:";
        return dir_.file("queue-" + std::to_string(++files_) + ".sqlite");
    }

    std::unique_ptr<SqliteQueue> open_queue(const SqliteQueueOptions& options = test_options()) {
        std::string detail;
        auto q = SqliteQueue::open(new_path(), options, &detail);
        if (!q) ADD_FAILURE() << "open failed: " << q.error().message() << ": " << detail;
        return q ? std::move(*q) : nullptr;
    }

    void SetUp() override {
        q_ = open_queue();
        ASSERT_NE(q_, nullptr);
    }

    /// Inserts packets of one source chain with the cursor at `block`; fails the test on error.
    InsertOutcome insert(const std::vector<NewPacket>& packets, std::uint64_t block = 1,
                         UnixMillis now = kT0) {
        const ChainId chain = packets.empty() ? kRoute.src : packets.front().route.src;
        auto r = q_->insert_packets(packets, cursor_at(chain, block), now);
        EXPECT_TRUE(r) << q_->last_error();
        return r ? *r : InsertOutcome{};
    }

    PacketState state_of(const PacketId& id) {
        auto r = q_->packet(id);
        EXPECT_TRUE(r && r->has_value()) << "packet " << id.hex() << " missing";
        return r && r->has_value() ? (*r)->state : PacketState::observed;
    }

    PacketRecord record_of(const PacketId& id) {
        auto r = q_->packet(id);
        EXPECT_TRUE(r && r->has_value()) << "packet " << id.hex() << " missing";
        return r && r->has_value() ? **r : PacketRecord{};
    }

    void attest(const std::vector<PacketId>& ids, UnixMillis now = kT0) {
        std::vector<Attestation> atts;
        for (const auto& id : ids)
            for (std::uint8_t v = 1; v <= 3; ++v)
                atts.push_back({id, validator(v), signature(v, id)});
        auto s = q_->store_attestations(atts, now);
        ASSERT_TRUE(s) << q_->last_error();
        auto m = q_->mark_attested(ids, now);
        ASSERT_TRUE(m) << q_->last_error();
    }

    static Delivery delivery(const std::vector<PacketId>& ids, std::uint64_t tx_n,
                             std::uint64_t account_nonce, ChainId chain = kRoute.dst) {
        Delivery d;
        d.chain = chain;
        d.tx_hash = hash_of(tx_n, 0x7e);
        d.account = kRelayer;
        d.account_nonce = account_nonce;
        d.max_fee_per_gas = 30'000'000'000;
        d.max_priority_fee_per_gas = 1'000'000'000;
        d.gas_limit = 500'000;
        d.packets = ids;
        return d;
    }

    static Receipt receipt_for(const Hash32& tx, const std::vector<PacketId>& delivered) {
        Receipt r;
        r.tx_hash = tx;
        r.block_number = 100;
        r.block_hash = hash_of(100, 0xbc);
        r.status = true;
        r.gas_used = 210'000;
        r.effective_gas_price = 20'000'000'000;
        for (const auto& id : delivered) r.delivered.push_back({id, true});
        return r;
    }

    static std::vector<PacketId> ids_of(const std::vector<NewPacket>& ps) {
        std::vector<PacketId> ids;
        for (const auto& p : ps) ids.push_back(p.id);
        return ids;
    }

    static std::vector<NewPacket> packets(Route route, std::uint64_t first, std::uint64_t count) {
        std::vector<NewPacket> out;
        for (std::uint64_t n = first; n < first + count; ++n) out.push_back(make_packet(route, n));
        return out;
    }

    TempDir dir_;
    int files_ = 0;
    std::unique_ptr<SqliteQueue> q_;
};

}  // namespace ferry::test
