// The durable packet queue as the pipeline sees it (docs/design.md §3–4): plain records, the packet
// state machine, and the abstract Queue that a backend (SqliteQueue today; a shared PostgreSQL
// queue later) implements. Storage never decodes packets: it keeps their fields and their bytes.
#pragma once

#include "crypto/bytes.hpp"
#include "crypto/types.hpp"
#include "storage/error.hpp"

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::storage {

using crypto::Address;
using crypto::ChainId;
using crypto::Hash32;
using crypto::Nonce;
using crypto::PacketId;
using crypto::Signature;

/// Milliseconds since the Unix epoch. Every operation that depends on time takes `now` as an
/// argument, so the queue has no clock of its own and tests are deterministic.
using UnixMillis = std::int64_t;

/// A packet's place in docs/design.md §3. The numeric values are stored in the database: never
/// reuse or renumber them.
enum class PacketState : std::uint8_t {
    observed = 0,
    attested = 1,
    submitted = 2,
    delivered = 3,
    failed = 4,
    dead = 5,
    rejected = 6,
    expired = 7,
};

inline constexpr std::size_t kPacketStateCount = 8;

/// "observed", "attested", … Never fails for a valid enumerator.
std::string_view to_string(PacketState state) noexcept;
/// Parses the names to_string() produces (exact, lower case); nullopt for anything else.
std::optional<PacketState> packet_state_from_string(std::string_view name) noexcept;

/// Whether docs/design.md §3 allows `from` → `to`:
///   observed → attested | rejected | expired;  attested → submitted | expired | delivered (found
///   delivered on chain by another transaction);  submitted → delivered | attested
///   (dropped/reorged) | failed;  failed → attested | dead;  dead → attested;  delivered →
///   attested (its transaction was reorged out before dst confirmations).  rejected and expired
///   are final; delivered is final once its delivery is confirmed.
/// Two composite moves are built from these: submitted → failed → dead in one step when the
/// failure is permanent or the last attempt; and an equivocation rejects a packet from any state
/// in which it has not been handed to the destination chain (see Queue::insert_packets).
constexpr bool is_legal_transition(PacketState from, PacketState to) noexcept {
    using S = PacketState;
    switch (from) {
        case S::observed:
            return to == S::attested || to == S::rejected || to == S::expired;
        case S::attested:
            return to == S::submitted || to == S::expired || to == S::delivered;
        case S::submitted:
            return to == S::delivered || to == S::attested || to == S::failed;
        case S::failed:
            return to == S::attested || to == S::dead;
        case S::dead:
            return to == S::attested;
        case S::delivered:
            return to == S::attested;
        case S::rejected:
        case S::expired:
            return false;
    }
    return false;
}

/// Pending = still on its way: observed, attested, submitted or failed. (Dead waits for an
/// operator and is counted apart.)
constexpr bool is_pending(PacketState s) noexcept {
    return s == PacketState::observed || s == PacketState::attested ||
           s == PacketState::submitted || s == PacketState::failed;
}

/// A route is the key under which packets are ordered: (source chain, destination chain). Its
/// nonces are per route, first is 1 (docs/design.md §2; one Outbox per source chain).
struct Route {
    ChainId src{};
    ChainId dst{};
    friend constexpr auto operator<=>(const Route&, const Route&) = default;
};

/// "<src>-><dst>", e.g. "1->10", for logs, metrics labels and the API.
std::string route_name(const Route& route);

/// A packet as the watcher found it, ready to enter the queue as `observed`.
struct NewPacket {
    PacketId id;
    Route route;
    Nonce nonce{};
    Hash32 sender;                   ///< bytes32 (an EVM address is left-padded)
    Hash32 recipient;                ///< bytes32
    std::uint64_t expiry = 0;        ///< unix seconds; 0 = never
    std::uint64_t source_block = 0;  ///< block of the PacketSent log
    crypto::Bytes encoded;           ///< the packed packet (docs/design.md §2), kept verbatim
};

/// A packet in the queue.
struct PacketRecord {
    std::uint64_t seq = 0;  ///< insertion order; stable; used as the paging tie-break
    PacketId id;
    Route route;
    Nonce nonce{};
    Hash32 sender;
    Hash32 recipient;
    std::uint64_t expiry = 0;
    std::uint64_t source_block = 0;
    PacketState state = PacketState::observed;
    std::uint32_t attempts = 0;  ///< failed deliveries so far (reset by an operator retry)
    std::optional<UnixMillis> next_attempt_at;  ///< set while failed
    std::string last_error;                     ///< empty when there was none
    std::optional<Hash32>
        delivery_tx;  ///< the live tx while submitted; the mined one once delivered
    std::optional<bool> delivered_success;  ///< PacketDelivered's success flag, once delivered
    bool pruned = false;  ///< delivered and pruned: `encoded` and attestations are gone
    UnixMillis created_at = 0;
    UnixMillis updated_at = 0;
    crypto::Bytes encoded;  ///< empty once pruned
};

/// Where a watcher has scanned to on one chain for one contract.
struct Cursor {
    ChainId chain{};
    Address contract;
    std::uint64_t block_number = 0;
    Hash32 block_hash;
    friend bool operator==(const Cursor&, const Cursor&) = default;
};

/// One validator's signature over one packet.
struct Attestation {
    PacketId packet;
    Address validator;
    Signature signature;
    friend bool operator==(const Attestation&, const Attestation&) = default;
};

enum class DeliveryState : std::uint8_t {
    live = 0,      ///< sent or about to be sent; its packets are submitted
    mined = 1,     ///< its receipt is recorded
    replaced = 2,  ///< superseded by a tx with the same account nonce (replace-by-fee)
    dropped = 3,   ///< left the mempool or was reorged out; its packets went back to attested
    failed = 4,    ///< could not be sent / failed as a whole; its packets went to failed
};

/// A destination-chain transaction carrying packets. Written before it is sent.
struct Delivery {
    ChainId chain{};  ///< destination chain
    Hash32 tx_hash;
    Address account;  ///< the relayer account that signs it
    std::uint64_t account_nonce = 0;
    std::uint64_t max_fee_per_gas = 0;           ///< wei
    std::uint64_t max_priority_fee_per_gas = 0;  ///< wei
    std::uint64_t gas_limit = 0;
    std::vector<PacketId> packets;  ///< in the order they appear in the batch
    // Filled in by the queue when it returns a delivery:
    DeliveryState state = DeliveryState::live;
    UnixMillis created_at = 0;
    std::vector<Hash32> replaced;  ///< earlier txs with the same account nonce (any may be mined)
};

/// One PacketDelivered log found in a receipt.
struct DeliveredPacket {
    PacketId id;
    bool success = false;  ///< the recipient's handle() did not revert
};

/// A mined transaction's receipt, reduced to what the queue keeps.
struct Receipt {
    Hash32 tx_hash;
    std::uint64_t block_number = 0;
    Hash32 block_hash;
    bool status = false;  ///< the transaction did not revert
    std::uint64_t gas_used = 0;
    std::uint64_t effective_gas_price = 0;  ///< wei
    std::vector<DeliveredPacket> delivered;
};

/// A mined delivery whose block is not yet `dst_confirmations` deep, as the receipt tracker
/// re-checks it.
struct MinedDelivery {
    Hash32 tx_hash;
    std::uint64_t block_number = 0;
    Hash32 block_hash;
    std::vector<PacketId> packets;  ///< the packets it delivered
};

/// What record_receipt() did with the delivery's packets.
struct ReceiptOutcome {
    std::size_t delivered = 0;   ///< submitted → delivered
    std::size_t failed = 0;      ///< submitted → failed (no PacketDelivered for them)
    std::size_t dead = 0;        ///< submitted → dead (that was their last attempt)
    std::size_t unexpected = 0;  ///< logs for packets this delivery did not carry (ignored)
};

/// Exponential backoff with jitter, capped. The n-th failure (n ≥ 1) waits
/// min(max_delay, initial_delay · multiplierⁿ⁻¹) · (1 − jitter · u), u ∈ [0, 1) drawn
/// deterministically from (packet id, n); after `max_attempts` failures the packet is dead.
struct BackoffPolicy {
    UnixMillis initial_delay_ms = 5'000;
    double multiplier = 2.0;  ///< ≥ 1
    UnixMillis max_delay_ms = 10 * 60'000;
    double jitter = 0.2;             ///< fraction in [0, 1]
    std::uint32_t max_attempts = 8;  ///< ≥ 1
};

/// True when the policy's numbers are in range (see BackoffPolicy).
bool is_valid(const BackoffPolicy& policy) noexcept;

/// The delay before the next attempt after the `attempts`-th failure (attempts ≥ 1). Pure.
UnixMillis backoff_delay(const BackoffPolicy& policy, std::uint32_t attempts,
                         const PacketId& id) noexcept;

enum class FailureKind {
    transient,  ///< retry with backoff
    permanent,  ///< go straight to dead
};

struct InsertOutcome {
    std::size_t inserted = 0;       ///< new packets, now observed (or rejected)
    std::size_t duplicates = 0;     ///< ids already in the queue (also pruned ones): ignored
    std::size_t equivocations = 0;  ///< new packets whose (src, dst, nonce) another id holds
};

struct RouteStateCount {
    Route route;
    PacketState state = PacketState::observed;
    std::uint64_t count = 0;
};

struct RouteInfo {
    Route route;
    Nonce contiguous{};  ///< every nonce 1..contiguous is in the queue
    Nonce highest{};     ///< highest nonce seen
    std::uint64_t equivocations = 0;
};

struct RoutePendingAge {
    Route route;
    UnixMillis oldest_created_at = 0;  ///< of the oldest pending packet; age = now − this
};

/// Position after which a listing continues: the last record of the previous page.
struct PageKey {
    Route route;
    Nonce nonce{};
    std::uint64_t seq = 0;
};

/// Listing order is (route, nonce, seq). Unset filters match everything.
struct PacketFilter {
    std::optional<PacketState> state;
    std::optional<Route> route;
    std::optional<PageKey> after;
    std::size_t limit = 100;  ///< 1..1000
};

struct PacketPage {
    std::vector<PacketRecord> packets;
    std::optional<PageKey> next;  ///< set when more packets follow
};

/// The queue the pipeline talks to. Each mutating call is one atomic transaction: it applies
/// completely or not at all, and an error leaves the queue as it was. A transition the state
/// machine forbids fails with Error::illegal_transition and last_error() names the packet and
/// both states. Implementations are not thread-safe: one instance per thread or strand, and one
/// writer per database (docs/design.md §6).
class Queue {
public:
    virtual ~Queue() = default;

    /// Detail of the last error returned by this instance (packet, states, backend text); empty
    /// after a success is not guaranteed — read it only right after an error.
    virtual std::string_view last_error() const noexcept = 0;

    // ---- watcher ----

    /// Adds `packets` as observed and sets `cursor`, in one transaction. A packet whose id is
    /// already known is ignored (idempotent). A packet whose route and nonce another id already
    /// holds is equivocation: it is stored as rejected, the other one too unless it is already
    /// submitted or beyond, and the route's equivocation count goes up. Requires: every packet's
    /// source chain equals cursor.chain (else invalid_argument). An empty span only moves the
    /// cursor (also backwards, for a reorg rescan).
    virtual Result<InsertOutcome> insert_packets(std::span<const NewPacket> packets,
                                                 const Cursor& cursor, UnixMillis now) = 0;
    /// The cursor of (chain, contract), or nullopt when none was ever set.
    virtual Result<std::optional<Cursor>> cursor(ChainId chain, const Address& contract) = 0;
    /// The lowest nonce missing below the highest one seen on `route`, or nullopt without a gap.
    virtual Result<std::optional<Nonce>> lowest_nonce_gap(const Route& route) = 0;

    // ---- attestor ----

    /// Stores signatures; one per (packet, validator), a repeat is ignored. Returns how many
    /// were new. Requires: every packet is known (else not_found, nothing stored).
    virtual Result<std::size_t> store_attestations(std::span<const Attestation> attestations,
                                                   UnixMillis now) = 0;
    /// The packet's signatures in ascending validator order (the order the Inbox wants).
    virtual Result<std::vector<Attestation>> attestations(const PacketId& packet) = 0;
    /// observed → attested for each id. The caller has checked the threshold.
    virtual Result<void> mark_attested(std::span<const PacketId> ids, UnixMillis now) = 0;
    /// observed → rejected for each id, with `reason` as its last error.
    virtual Result<void> reject(std::span<const PacketId> ids, std::string_view reason,
                                UnixMillis now) = 0;
    /// observed | attested → expired for every packet whose expiry (seconds) ≤ now. Returns
    /// how many expired.
    virtual Result<std::size_t> expire_due(UnixMillis now) = 0;

    // ---- submitter ----

    /// Up to `limit` attested packets of `route` in ascending nonce order, with their bytes.
    virtual Result<std::vector<PacketRecord>> next_attested(const Route& route,
                                                            std::size_t limit) = 0;
    /// Writes `delivery` (live) and moves its packets attested → submitted; call it before
    /// sending the tx. The account's next nonce becomes at least account_nonce + 1. The commit is
    /// fsynced. Requires: packets non-empty, each attested with destination delivery.chain; no
    /// live, mined or replaced delivery with this tx hash (duplicate_delivery; a failed or
    /// dropped one is the same transaction sent again and is overwritten); no live delivery for
    /// the same account nonce (use replace_delivery).
    virtual Result<void> record_delivery(const Delivery& delivery, UnixMillis now) = 0;
    /// Replace-by-fee: `replacement` (same chain, account and account nonce as the live delivery
    /// `old_tx`, else account_nonce_mismatch) becomes live and takes over its packets; old_tx
    /// becomes replaced. replacement.packets is ignored. The commit is fsynced.
    virtual Result<void> replace_delivery(const Hash32& old_tx, const Delivery& replacement,
                                          UnixMillis now) = 0;
    /// The live delivery `tx` left the mempool or was reorged out: its packets go submitted →
    /// attested and it becomes dropped. Returns how many packets moved.
    virtual Result<std::size_t> drop_delivery(const Hash32& tx, UnixMillis now) = 0;
    /// The live delivery `tx` failed as a whole (could not be sent, …): its packets go
    /// submitted → failed (or dead) with `error`. Returns how many packets moved.
    virtual Result<std::size_t> fail_delivery(const Hash32& tx, std::string_view error,
                                              FailureKind kind, UnixMillis now) = 0;
    /// submitted → failed (or dead) for each id, leaving its delivery. attempts + 1; dead when
    /// `kind` is permanent or attempts reaches the policy's maximum; else next_attempt_at =
    /// now + backoff_delay().
    virtual Result<void> fail_packets(std::span<const PacketId> ids, std::string_view error,
                                      FailureKind kind, UnixMillis now) = 0;
    /// Up to `limit` failed packets whose next attempt is due (≤ now), soonest first.
    virtual Result<std::vector<PacketRecord>> due_retries(UnixMillis now, std::size_t limit) = 0;
    /// failed → attested for each id (attempts are kept).
    virtual Result<void> requeue(std::span<const PacketId> ids, UnixMillis now) = 0;
    /// The next unused nonce of a relayer account, or nullopt when never set.
    virtual Result<std::optional<std::uint64_t>> account_nonce(ChainId chain,
                                                               const Address& account) = 0;
    /// Sets the next unused nonce (after syncing with the chain).
    virtual Result<void> set_account_nonce(ChainId chain, const Address& account,
                                           std::uint64_t next_nonce, UnixMillis now) = 0;

    // ---- receipt tracker ----

    /// Up to `limit` live deliveries on `chain`, oldest first, with their packets and the tx
    /// hashes they replaced.
    virtual Result<std::vector<Delivery>> pending_deliveries(ChainId chain, std::size_t limit) = 0;
    /// Records the receipt of `receipt.tx_hash` once (receipt_exists the second time). The tx
    /// may be the live delivery or one it replaced (the older tx was mined after all). Packets
    /// of that nonce with a PacketDelivered go submitted → delivered; the others go to failed
    /// (or dead). Requires: a known delivery (not_found) still live or replaced by a live one
    /// (delivery_not_live).
    virtual Result<ReceiptOutcome> record_receipt(const Receipt& receipt, UnixMillis now) = 0;

    /// attested → delivered for each id: the destination already reports delivered(id) (another
    /// relayer, or an earlier transaction of ours whose receipt we never saw). No receipt is kept.
    virtual Result<void> mark_delivered_elsewhere(std::span<const PacketId> ids,
                                                  UnixMillis now) = 0;
    /// Mined deliveries on `chain` not yet confirmed whose receipt block ≤ `up_to_block`,
    /// oldest first.
    virtual Result<std::vector<MinedDelivery>> unconfirmed_deliveries(ChainId chain,
                                                                      std::uint64_t up_to_block,
                                                                      std::size_t limit) = 0;
    /// The mined delivery `tx` is final (its packets stay delivered).
    virtual Result<void> confirm_delivery(const Hash32& tx, UnixMillis now) = 0;
    /// The mined, unconfirmed delivery `tx` was reorged out: its delivered packets go back to
    /// attested and it becomes dropped. Returns how many packets moved.
    virtual Result<std::size_t> revert_delivery(const Hash32& tx, UnixMillis now) = 0;

    // ---- operator ----

    /// dead | failed → attested with attempts reset to 0.
    virtual Result<void> retry_packet(const PacketId& id, UnixMillis now) = 0;
    /// Every dead packet of `route` → attested with attempts reset. Returns how many.
    virtual Result<std::size_t> retry_dead(const Route& route, UnixMillis now) = 0;
    /// Delivered packets whose delivery is older than the configured retention lose their bytes,
    /// attestations and delivery rows, and their own row once every lower nonce of the route was
    /// seen (a replay is then recognised by the route's watermark); otherwise id, route, nonce
    /// and state stay, marked pruned. Per-state counts keep counting them. At most `limit` per
    /// call. Returns how many were pruned.
    virtual Result<std::size_t> prune_delivered(UnixMillis now, std::size_t limit) = 0;

    // ---- status ----

    /// The packet, or nullopt when the id was never seen.
    virtual Result<std::optional<PacketRecord>> packet(const PacketId& id) = 0;
    /// One page of packets matching `filter`. Requires: 1 ≤ limit ≤ 1000.
    virtual Result<PacketPage> list_packets(const PacketFilter& filter) = 0;
    /// Packet counts per route and state (states with no packet are left out).
    virtual Result<std::vector<RouteStateCount>> counts() = 0;
    /// For each route with a pending packet, when the oldest one entered the queue.
    virtual Result<std::vector<RoutePendingAge>> oldest_pending() = 0;
    /// Every route seen, with its nonce watermark and equivocation count.
    virtual Result<std::vector<RouteInfo>> routes() = 0;
};

}  // namespace ferry::storage
