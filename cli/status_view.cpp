#include "cli/status_view.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry::cli {
namespace {

using nlohmann::json;

constexpr std::string_view kNone = "-";
constexpr std::size_t kMaxCell = 48;

/// A cell shown on one line: control characters become '?', long text is cut with "...".
std::string clean(std::string_view text, std::size_t max = kMaxCell) {
    std::string out;
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        out += (c < 0x20 || c == 0x7f) ? '?' : ch;
    }
    if (max > 3 && out.size() > max) {
        // Cut at a UTF-8 character boundary.
        std::size_t cut = max - 3;
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
        out = out.substr(0, cut) + "...";
    }
    return out;
}

const json& field(const json& j, std::string_view key) {
    static const json null_value;
    if (!j.is_object()) return null_value;
    const auto it = j.find(key);
    return it == j.end() ? null_value : *it;
}

std::string text_of(const json& v, std::size_t max = kMaxCell) {
    if (v.is_string()) {
        const auto& s = v.get_ref<const std::string&>();
        return s.empty() ? std::string(kNone) : clean(s, max);
    }
    if (v.is_number_unsigned()) return std::to_string(v.get<std::uint64_t>());
    if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
    if (v.is_number_float()) {
        char buffer[64];
        std::snprintf(buffer, sizeof buffer, "%g", v.get<double>());
        return buffer;
    }
    if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
    if (v.is_null()) return std::string(kNone);
    return clean(v.dump(), max);
}

std::string str(const json& j, std::string_view key, std::size_t max = kMaxCell) {
    return text_of(field(j, key), max);
}

std::optional<double> number(const json& j, std::string_view key) {
    const json& v = field(j, key);
    if (!v.is_number()) return std::nullopt;
    const double d = v.get<double>();
    if (!std::isfinite(d)) return std::nullopt;
    return d;
}

std::uint64_t count_of(const json& counts, std::string_view state) {
    const json& v = field(counts, state);
    if (v.is_number_unsigned()) return v.get<std::uint64_t>();
    if (v.is_number_integer() && v.get<std::int64_t>() > 0)
        return static_cast<std::uint64_t>(v.get<std::int64_t>());
    return 0;
}

std::string plural(std::uint64_t n, std::string_view one, std::string_view many) {
    return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

/// A plain-text table: columns separated by two spaces, numbers right-aligned.
class Table {
public:
    Table(std::vector<std::string> headers, std::vector<bool> right)
        : headers_(std::move(headers)), right_(std::move(right)) {
        right_.resize(headers_.size(), false);
    }
    void add(std::vector<std::string> row) {
        row.resize(headers_.size());
        rows_.push_back(std::move(row));
    }
    std::string render(std::string_view indent = "  ") const {
        std::vector<std::size_t> widths(headers_.size());
        auto width_of = [](const std::string& s) {
            // Count UTF-8 characters, not bytes.
            return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) {
                return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
            }));
        };
        for (std::size_t i = 0; i < headers_.size(); ++i) {
            widths[i] = width_of(headers_[i]);
            for (const auto& row : rows_) widths[i] = std::max(widths[i], width_of(row[i]));
        }
        std::string out;
        auto line = [&](const std::vector<std::string>& cells) {
            std::string text(indent);
            for (std::size_t i = 0; i < cells.size(); ++i) {
                const std::size_t pad = widths[i] - width_of(cells[i]);
                const bool last = i + 1 == cells.size();
                if (right_[i]) text.append(pad, ' ');
                text += cells[i];
                if (!right_[i] && !last) text.append(pad, ' ');
                if (!last) text += "  ";
            }
            while (!text.empty() && text.back() == ' ') text.pop_back();
            out += text + '\n';
        };
        line(headers_);
        for (const auto& row : rows_) line(row);
        return out;
    }

private:
    std::vector<std::string> headers_;
    std::vector<bool> right_;
    std::vector<std::vector<std::string>> rows_;
};

std::string eth_text(double eth) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.4f", eth);
    return buffer;
}

std::string time_field(const json& j, std::string_view key) {
    const json& v = field(j, key);
    if (v.is_number_integer()) return format_unix_ms(v.get<std::int64_t>());
    if (v.is_number_unsigned())
        return format_unix_ms(static_cast<std::int64_t>(
            std::min<std::uint64_t>(v.get<std::uint64_t>(), std::uint64_t{1} << 62)));
    return text_of(v);
}

/// "a, b, c" of a JSON array of strings.
std::string list_text(const json& v) {
    if (!v.is_array() || v.empty()) return std::string(kNone);
    std::string out;
    for (const auto& item : v) {
        if (!out.empty()) out += ", ";
        out += text_of(item);
    }
    return out;
}

const json& array_field(const json& j, std::string_view key) {
    static const json empty = json::array();
    const json& v = field(j, key);
    return v.is_array() ? v : empty;
}

}  // namespace

std::string humanize_seconds(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return std::string(kNone);
    auto s = static_cast<std::uint64_t>(std::floor(seconds));
    if (s < 60) return std::to_string(s) + "s";
    const std::uint64_t d = s / 86400;
    const std::uint64_t h = (s % 86400) / 3600;
    const std::uint64_t m = (s % 3600) / 60;
    s %= 60;
    if (d > 0) return std::to_string(d) + "d " + std::to_string(h) + "h";
    if (h > 0) return std::to_string(h) + "h " + std::to_string(m) + "m";
    return std::to_string(m) + "m " + std::to_string(s) + "s";
}

std::string format_unix_ms(std::int64_t ms) {
    if (ms <= 0) return std::string(kNone);
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    if (gmtime_r(&secs, &tm) == nullptr) return std::string(kNone);
    char buffer[80];
    std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02d %02d:%02d:%02dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buffer;
}

std::string render_status(const nlohmann::json& status, const StatusViewOptions& options) {
    std::string out;
    std::vector<std::string> attention;

    // Header.
    std::string header = "ferry " + str(status, "version");
    if (auto up = number(status, "uptime_s")) header += "  |  up " + humanize_seconds(*up);
    header += "  |  roles: " + list_text(field(status, "roles"));
    out += header + "\n\n";

    // Chains.
    const json& chains = array_field(status, "chains");
    out += "CHAINS\n";
    if (chains.empty()) {
        out += "  (none)\n";
    } else {
        Table table({"NAME", "ID", "HEAD", "SCANNED", "LAG", "RPC", "HEAD AGE", "WALLET (ETH)"},
                    {false, true, true, true, true, false, true, true});
        for (const auto& c : chains) {
            const std::string name = str(c, "name");
            const auto head = number(c, "head");
            const auto scanned = number(c, "scanned_block");
            std::string lag(kNone);
            if (head && scanned) {
                const auto h = field(c, "head").get<double>();
                const auto s = field(c, "scanned_block").get<double>();
                lag = h >= s ? std::to_string(static_cast<std::uint64_t>(h - s)) : "0";
            }
            const json& reachable = field(c, "reachable");
            std::size_t demoted = 0;
            const json& endpoints = array_field(c, "endpoints");
            for (const auto& e : endpoints)
                if (field(e, "demoted").is_boolean() && field(e, "demoted").get<bool>()) ++demoted;
            std::string rpc = !reachable.is_boolean() ? std::string(kNone)
                              : reachable.get<bool>() ? "ok"
                                                      : "down";
            if (rpc == "ok" && demoted > 0)
                rpc = "ok (" + std::to_string(demoted) + "/" + std::to_string(endpoints.size()) +
                      " demoted)";
            const auto head_age = number(c, "head_age_s");

            std::string wallet(kNone);
            const json& w = field(c, "wallet");
            if (auto eth = number(w, "balance_eth")) {
                wallet = eth_text(*eth);
                if (*eth < options.low_balance_eth) {
                    wallet += " LOW";
                    attention.push_back("chain " + name + ": relayer wallet " +
                                        str(w, "address", 66) + " holds " + eth_text(*eth) +
                                        " ETH (below " + eth_text(options.low_balance_eth) +
                                        "); fund it or deliveries will stop");
                }
            } else if (w.is_object()) {
                wallet = "?";
            }
            table.add({name, str(c, "chain_id"), str(c, "head"), str(c, "scanned_block"), lag, rpc,
                       head_age ? humanize_seconds(*head_age) : std::string(kNone), wallet});

            if (reachable.is_boolean() && !reachable.get<bool>()) {
                std::string why = str(c, "last_error", 200);
                attention.push_back("chain " + name + ": RPC unreachable" +
                                    (why == kNone ? std::string() : ": " + why));
            } else if (head_age && *head_age >= options.stalled_after_s) {
                attention.push_back("chain " + name + ": head has not moved for " +
                                    humanize_seconds(*head_age));
            }
            for (const auto& e : endpoints) {
                if (!(field(e, "demoted").is_boolean() && field(e, "demoted").get<bool>()))
                    continue;
                std::string why = str(e, "last_error", 200);
                attention.push_back("chain " + name + ": endpoint " + str(e, "name") + " demoted" +
                                    (why == kNone ? std::string() : ": " + why));
            }
        }
        out += table.render();
    }
    out += '\n';

    // Routes.
    const json& routes = array_field(status, "routes");
    out += "ROUTES\n";
    if (routes.empty()) {
        out += "  (none)\n";
    } else {
        Table table({"ROUTE", "OBSERVED", "ATTESTED", "SUBMITTED", "DELIVERED", "FAILED", "DEAD",
                     "OLDEST PENDING", "WAITING"},
                    {false, true, true, true, true, true, true, true, false});
        for (const auto& r : routes) {
            const std::string route = str(r, "route");
            const json& counts = field(r, "counts");
            const auto oldest = number(r, "oldest_pending_s");
            const std::string waiting = str(r, "waiting", 40);
            table.add({route, std::to_string(count_of(counts, "observed")),
                       std::to_string(count_of(counts, "attested")),
                       std::to_string(count_of(counts, "submitted")),
                       std::to_string(count_of(counts, "delivered")),
                       std::to_string(count_of(counts, "failed")),
                       std::to_string(count_of(counts, "dead")),
                       oldest ? humanize_seconds(*oldest) : std::string(kNone), waiting});

            if (const auto dead = count_of(counts, "dead"); dead > 0)
                attention.push_back(
                    "route " + route + ": " + plural(dead, "dead packet", "dead packets") +
                    "; see `ferry packets --route " + route +
                    " --state dead`, revive with `ferry retry --route " + route + " --dead`");
            if (const auto failed = count_of(counts, "failed"); failed > 0)
                attention.push_back("route " + route + ": " + plural(failed, "packet", "packets") +
                                    " failed and will be retried; see `ferry packets --route " +
                                    route + " --state failed`");
            if (const std::string why = str(r, "waiting", 300); why != kNone)
                attention.push_back("route " + route + ": waiting: " + why +
                                    (oldest ? " (oldest pending " + humanize_seconds(*oldest) + ")"
                                            : std::string()));
            const auto rejected = count_of(counts, "rejected");
            const auto expired = count_of(counts, "expired");
            if (rejected > 0)
                attention.push_back("route " + route + ": " +
                                    plural(rejected, "packet", "packets") +
                                    " rejected (malformed, bad signatures or equivocation)");
            if (expired > 0)
                attention.push_back("route " + route + ": " + plural(expired, "packet", "packets") +
                                    " expired before delivery");
        }
        out += table.render();
    }
    out += '\n';

    out += "ATTENTION\n";
    if (attention.empty()) {
        out += "  nothing stuck: every chain reachable, no dead or failed packets\n";
    } else {
        for (const auto& a : attention) out += "  ! " + a + '\n';
    }
    return out;
}

std::string render_packets(const nlohmann::json& result) {
    const json& packets = array_field(result, "packets");
    std::string out;
    if (packets.empty()) {
        out += "no packets match\n";
    } else {
        Table table({"ID", "ROUTE", "NONCE", "STATE", "ATTEMPTS", "UPDATED", "LAST ERROR"},
                    {false, false, true, false, true, false, false});
        for (const auto& p : packets)
            table.add({str(p, "id", 66), str(p, "route"), str(p, "nonce"), str(p, "state"),
                       str(p, "attempts"), time_field(p, "updated_at"), str(p, "last_error", 60)});
        out += table.render("");
        out += '\n' + plural(packets.size(), "packet", "packets");
    }
    const json& next = field(result, "next_cursor");
    if (next.is_string() && !next.get_ref<const std::string&>().empty()) {
        out += packets.empty() ? "" : "; ";
        out += "more: --all, or --cursor " + clean(next.get_ref<const std::string&>(), 200);
    }
    if (!packets.empty() || next.is_string()) out += '\n';
    return out;
}

std::string render_packet(const nlohmann::json& p) {
    std::string out = "packet " + str(p, "id", 66) + "\n";
    std::vector<std::pair<std::string, std::string>> rows;
    std::string route = str(p, "route");
    if (!field(p, "src").is_null() || !field(p, "dst").is_null())
        route += " (chain " + str(p, "src") + " -> chain " + str(p, "dst") + ")";
    rows.emplace_back("route", route);
    rows.emplace_back("nonce", str(p, "nonce"));
    rows.emplace_back("state", str(p, "state"));
    rows.emplace_back("attempts", str(p, "attempts"));
    rows.emplace_back("created", time_field(p, "created_at"));
    rows.emplace_back("updated", time_field(p, "updated_at"));
    if (!field(p, "next_attempt_at").is_null())
        rows.emplace_back("next attempt", time_field(p, "next_attempt_at"));
    {
        const json& e = field(p, "expiry");
        std::string expiry = text_of(e);
        if (e.is_number() && e.get<double>() == 0) {
            expiry = "never";
        } else if (e.is_number_unsigned() && e.get<std::uint64_t>() < (std::uint64_t{1} << 40)) {
            expiry = format_unix_ms(static_cast<std::int64_t>(e.get<std::uint64_t>() * 1000));
        }
        rows.emplace_back("expiry", expiry);
    }
    if (!field(p, "sender").is_null()) rows.emplace_back("sender", str(p, "sender", 66));
    if (!field(p, "recipient").is_null()) rows.emplace_back("recipient", str(p, "recipient", 66));
    {
        const json& b = field(p, "body_bytes");
        rows.emplace_back("body", b.is_number() ? text_of(b) + " bytes"
                                                : (field(p, "pruned").is_boolean() &&
                                                           field(p, "pruned").get<bool>()
                                                       ? std::string("pruned")
                                                       : std::string(kNone)));
    }
    rows.emplace_back("last error", str(p, "last_error", 400));
    std::size_t width = 0;
    for (const auto& [k, v] : rows) width = std::max(width, k.size());
    for (const auto& [k, v] : rows)
        out += "  " + k + std::string(width - k.size() + 2, ' ') + v + '\n';

    const json& attestations = array_field(p, "attestations");
    out += "\nattestations (" + std::to_string(attestations.size()) + ")\n";
    if (attestations.empty()) {
        out += "  none\n";
    } else {
        Table table({"VALIDATOR", "SIGNATURE"}, {false, false});
        for (const auto& a : attestations) {
            std::string sig = str(a, "signature", 200);
            if (sig.size() > 26) sig = sig.substr(0, 12) + "..." + sig.substr(sig.size() - 10);
            table.add({str(a, "validator", 66), sig});
        }
        out += table.render();
    }

    const json& deliveries = array_field(p, "deliveries");
    out += "\ndeliveries (" + std::to_string(deliveries.size()) + ")\n";
    if (deliveries.empty()) {
        out += "  none\n";
    } else {
        Table table({"TX", "STATE", "ACCOUNT NONCE", "BLOCK"}, {false, false, true, true});
        for (const auto& d : deliveries)
            table.add(
                {str(d, "tx_hash", 66), str(d, "state"), str(d, "account_nonce"), str(d, "block")});
        out += table.render();
    }

    const json& receipt = field(p, "receipt");
    out += "\nreceipt\n";
    if (!receipt.is_object()) {
        out += "  none\n";
    } else {
        std::size_t w = 0;
        for (const auto& [k, v] : receipt.items()) w = std::max(w, k.size());
        for (const auto& [k, v] : receipt.items())
            out += "  " + clean(k) + std::string(w - k.size() + 2, ' ') + text_of(v, 200) + '\n';
    }

    const std::string state = str(p, "state");
    if (state == "dead" || state == "failed")
        out += "\nretry it now with: ferry retry " + str(p, "id", 66) + '\n';
    return out;
}

}  // namespace ferry::cli
