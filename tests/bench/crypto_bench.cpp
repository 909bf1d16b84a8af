// Measures Ferry's keccak256, sign and recover_address beside the raw library calls they wrap.
#include "crypto/keccak.hpp"
#include "crypto/secp256k1.hpp"

#include <benchmark/benchmark.h>
#include <cryptopp/keccak.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

using namespace ferry::crypto;

namespace {

// Deterministic, varied inputs so both sides of a pair do identical work.
std::array<std::uint8_t, 32> fill(std::uint8_t seed) {
    std::array<std::uint8_t, 32> out{};
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = static_cast<std::uint8_t>(std::size_t{seed} * 31 + i * 7 + 1);
    return out;
}

struct Fixture {
    static constexpr std::size_t kCount = 64;
    std::vector<PrivateKey> keys;
    std::vector<Hash32> digests;
    std::vector<Signature> sigs;

    Fixture() {
        const auto& ctx = Secp256k1Context::instance();
        for (std::size_t i = 0; i < kCount; ++i) {
            keys.emplace_back(fill(static_cast<std::uint8_t>(i)));
            Hash32 d;
            d.bytes = fill(static_cast<std::uint8_t>(i + 100));
            digests.push_back(d);
            sigs.push_back(ctx.sign(d, keys.back()).value());
        }
    }

    static const Fixture& get() {
        static const Fixture f;
        return f;
    }
};

void bm_keccak256_ferry(benchmark::State& state) {
    std::vector<std::uint8_t> data(256, 0xa5);
    for (auto _ : state) {
        Hash32 h = keccak256(data);
        benchmark::DoNotOptimize(h);
        data[0] = h[0];
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_keccak256_ferry);

void bm_keccak256_raw(benchmark::State& state) {
    std::vector<std::uint8_t> data(256, 0xa5);
    for (auto _ : state) {
        CryptoPP::Keccak_256 k;
        k.Update(data.data(), data.size());
        std::array<std::uint8_t, 32> h{};
        k.Final(h.data());
        benchmark::DoNotOptimize(h);
        data[0] = h[0];
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_keccak256_raw);

void bm_recover_address_ferry(benchmark::State& state) {
    const auto& f = Fixture::get();
    const auto& ctx = Secp256k1Context::instance();
    std::size_t i = 0;
    for (auto _ : state) {
        auto addr = ctx.recover_address(f.digests[i], f.sigs[i]);
        benchmark::DoNotOptimize(addr);
        i = (i + 1) % Fixture::kCount;
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_recover_address_ferry);

void bm_recover_address_raw(benchmark::State& state) {
    const auto& f = Fixture::get();
    const secp256k1_context* ctx = Secp256k1Context::instance().raw();
    std::size_t i = 0;
    for (auto _ : state) {
        const Signature& sig = f.sigs[i];
        secp256k1_ecdsa_recoverable_signature rsig;
        secp256k1_pubkey pub;
        std::array<std::uint8_t, 65> ser{};
        std::size_t len = ser.size();
        std::array<std::uint8_t, 32> h{};
        if (secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rsig, sig.data(),
                                                                sig[64] - 27) == 1 &&
            secp256k1_ecdsa_recover(ctx, &pub, &rsig, f.digests[i].data()) == 1) {
            secp256k1_ec_pubkey_serialize(ctx, ser.data(), &len, &pub, SECP256K1_EC_UNCOMPRESSED);
            CryptoPP::Keccak_256 k;
            k.Update(ser.data() + 1, 64);
            k.Final(h.data());
        }
        benchmark::DoNotOptimize(h);
        i = (i + 1) % Fixture::kCount;
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_recover_address_raw);

void bm_sign_ferry(benchmark::State& state) {
    const auto& f = Fixture::get();
    const auto& ctx = Secp256k1Context::instance();
    std::size_t i = 0;
    for (auto _ : state) {
        auto sig = ctx.sign(f.digests[i], f.keys[i]);
        benchmark::DoNotOptimize(sig);
        i = (i + 1) % Fixture::kCount;
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_sign_ferry);

void bm_sign_raw(benchmark::State& state) {
    const auto& f = Fixture::get();
    const secp256k1_context* ctx = Secp256k1Context::instance().raw();
    std::size_t i = 0;
    for (auto _ : state) {
        secp256k1_ecdsa_recoverable_signature rsig;
        std::array<std::uint8_t, 65> out{};
        int recid = 0;
        if (secp256k1_ecdsa_sign_recoverable(ctx, &rsig, f.digests[i].data(), f.keys[i].data(),
                                             nullptr, nullptr) == 1) {
            secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, out.data(), &recid, &rsig);
            out[64] = static_cast<std::uint8_t>(27 + recid);
        }
        benchmark::DoNotOptimize(out);
        i = (i + 1) % Fixture::kCount;
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_sign_raw);

}  // namespace

BENCHMARK_MAIN();
