#include "cli/cli_ops.hpp"

#include "crypto/quote.hpp"

#include "chains/evm/http_transport.hpp"
#include "chains/url.hpp"
#include "cli/status_view.hpp"
#include "relayer/config.hpp"

#include <openssl/crypto.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <set>
#include <utility>

namespace ferry::cli {

using relayer::load_config;
namespace {

namespace asio = boost::asio;
namespace evm = chains::evm;
using nlohmann::json;

constexpr std::size_t kMaxResponseBytes = 64 * 1024 * 1024;
constexpr std::size_t kMaxPages = 100'000;

AppError err(std::string message) { return AppError{std::move(message)}; }

std::string connect_error(const ApiEndpoint& ep, std::string_view detail) {
    const std::string refused =
        asio::error::make_error_code(asio::error::connection_refused).message();
    return "cannot reach the node API at " + ep.url + ": " +
           (detail == refused ? std::string("connection refused") : std::string(detail)) +
           " \xE2\x80\x94 is `ferry start` running? (--api to change)";
}

/// Says why the node API could not be asked; the transport's message names the stage first.
AppError transport_failure(const ApiEndpoint& ep, const evm::RpcError& e,
                           std::chrono::milliseconds timeout) {
    const auto secs = std::to_string(
        std::max<long long>(1, std::chrono::duration_cast<std::chrono::seconds>(timeout).count()));
    if (e.code == evm::RpcError::Code::timeout)
        return err("the node API at " + ep.url + " did not answer within " + secs +
                   " s (--timeout to change)");
    const auto colon = e.message.find(": ");
    const std::string stage = e.message.substr(0, colon);
    const std::string detail = colon == std::string::npos ? e.message : e.message.substr(colon + 2);
    if (stage == "resolve")
        return err("cannot resolve the node API host " + crypto::quote_input(ep.host) + " (" +
                   ep.url + "): " + detail);
    if (stage == "connect") return err(connect_error(ep, detail));
    if (e.code == evm::RpcError::Code::response_too_large && detail.starts_with("response body"))
        return err("the node API at " + ep.url + " sent an answer larger than " +
                   std::to_string(kMaxResponseBytes >> 20) + " MiB");
    return err("the connection to the node API at " + ep.url + " failed (" +
               (stage == "send" ? std::string("write") : stage) + "): " + detail);
}

/// One POST on a fresh connection (not kept alive), on its own io_context; connecting and
/// then the exchange each within `timeout`. `authorization` is wiped by the transport.
AppResult<evm::HttpResponse> post_to_api(const ApiEndpoint& ep, std::string body,
                                         std::string authorization,
                                         std::chrono::milliseconds timeout) {
    asio::io_context io;
    evm::HttpOptions options;
    options.connect_timeout = timeout;
    options.request_timeout = timeout;
    options.max_response_bytes = kMaxResponseBytes;
    options.max_idle_connections = 0;
    auto transport = evm::HttpTransport::create(io.get_executor(), ep.url, options);
    if (!transport) return err(transport.error().message);
    std::optional<evm::RpcResult<evm::HttpResponse>> answer;
    asio::co_spawn(io, transport->post(std::move(body), std::move(authorization)),
                   [&](std::exception_ptr failure, evm::RpcResult<evm::HttpResponse> result) {
                       if (failure) std::rethrow_exception(failure);
                       answer = std::move(result);
                   });
    io.run();
    if (!answer->has_value()) return transport_failure(ep, answer->error(), timeout);
    return std::move(**answer);
}

std::string first_line(std::string_view text, std::size_t max = 200) {
    std::string out;
    for (const char ch : text) {
        if (ch == '\n' || ch == '\r') break;
        const auto c = static_cast<unsigned char>(ch);
        out += (c < 0x20 || c == 0x7f) ? '?' : ch;
        if (out.size() >= max) {
            out += "...";
            break;
        }
    }
    return out;
}

/// The endpoint and the admin token variable for these options.
struct Target {
    ApiEndpoint endpoint;
    std::string token_env;
};

AppResult<Target> resolve_target(const ApiOptions& options) {
    Target t;
    t.token_env = std::string(kDefaultAdminTokenEnv);
    if (!options.config.empty()) {
        auto config = load_config(options.config);
        if (!config) {
            std::string text = config.error().to_string(options.config);
            while (!text.empty() && text.back() == '\n') text.pop_back();
            return err("cannot use -c " + crypto::quote_input(options.config) + ": " + text);
        }
        if (!config->api.admin_token_env.empty()) t.token_env = config->api.admin_token_env;
        if (options.api_url.empty()) {
            std::string host = config->api.host;
            if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
            if (host == "::") host = "::1";
            if (config->api.port == 0)
                return err("the config " + crypto::quote_input(options.config) +
                           " sets api port 0 (a free port chosen at start): pass the address "
                           "ferry start printed with --api");
            const bool v6 = host.find(':') != std::string::npos;
            auto ep = parse_api_url(
                "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(config->api.port),
                "the config's api.host/api.port");
            if (!ep) return ep.error();
            t.endpoint = std::move(*ep);
            return t;
        }
    }
    auto ep = parse_api_url(options.api_url.empty() ? kDefaultApiUrl : options.api_url);
    if (!ep) return ep.error();
    t.endpoint = std::move(*ep);
    return t;
}

void add_api_options(CLI::App& cmd, ApiOptions& options) {
    auto* api = cmd.add_option("--api", options.api_url,
                               "URL of the node API (default " + std::string(kDefaultApiUrl) +
                                   ", or the config's api.host and api.port with -c)");
    auto* config = cmd.add_option("-c,--config", options.config,
                                  "the node's config file: take the API address (api.host, "
                                  "api.port) and api.admin_token_env from it");
    (void)api;
    (void)config;
    cmd.add_flag("--json", options.json, "print the API's JSON result (machine output)");
    cmd.add_option("--timeout", options.timeout_seconds, "seconds to wait for the node API")
        ->check(CLI::Range(1u, 3600u))
        ->capture_default_str();
}

ApiClient make_client(const Target& t, const ApiOptions& options) {
    return ApiClient(t.endpoint, std::chrono::seconds(options.timeout_seconds));
}

bool valid_packet_id(std::string_view id) {
    if (id.size() != 66 || id[0] != '0' || (id[1] != 'x' && id[1] != 'X')) return false;
    return std::all_of(id.begin() + 2, id.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    });
}

int fail(std::ostream& e, std::string_view command, std::string_view message) {
    e << "ferry " << command << ": error: " << message << std::endl;
    return kExitFailure;
}

int usage(std::ostream& e, std::string_view command, std::string_view message) {
    e << "ferry " << command << ": " << message << "\nRun with --help for more information."
      << std::endl;
    return kExitUsage;
}

const std::vector<std::string>& packet_states() {
    static const std::vector<std::string> states = {
        "observed", "attested", "submitted", "delivered", "failed", "dead", "rejected", "expired"};
    return states;
}

}  // namespace

AppResult<ApiEndpoint> parse_api_url(std::string_view url, std::string_view what) {
    const std::string bad = std::string(what) + " " + crypto::quote_input(url);
    // "HOST:PORT" without a scheme means http.
    const bool bare = url.find("://") == std::string_view::npos;
    const std::string full = bare ? "http://" + std::string(url) : std::string(url);
    auto parsed = chains::parse_http_url(full);
    if (!parsed) {
        const auto authority = std::string_view(full).substr(full.find("://") + 3);
        const auto host_port = authority.substr(0, authority.find('/'));
        if (host_port.find('[') == std::string_view::npos &&
            std::count(host_port.begin(), host_port.end(), ':') > 1)
            return err(bad + ": put an IPv6 address in brackets: http://[::1]:8645");
        if (parsed.error().code == chains::UrlError::bad_scheme)
            return err(bad + ": expected http://HOST:PORT");
        return err(bad + ": " + parsed.error().message());
    }
    if (parsed->tls)
        return err(bad +
                   ": https is not supported; the node API is plain HTTP on a loopback "
                   "address (use http://)");
    if (!parsed->userinfo.empty()) return err(bad + ": the node API takes no user:password@");
    ApiEndpoint ep;
    ep.host = std::move(parsed->host);
    ep.port = std::to_string(parsed->port);
    ep.target = std::move(parsed->target);
    const bool v6 = ep.host.find(':') != std::string::npos;
    ep.url = "http://" + (v6 ? "[" + ep.host + "]" : ep.host) + ":" + ep.port +
             (ep.target == "/" ? std::string() : ep.target);
    return ep;
}

AppResult<json> ApiClient::call(std::string_view method, const json& params,
                                const std::optional<std::string>& bearer) {
    last_rpc_code_ = 0;
    json request = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", std::string(method)}};
    if (!params.is_null()) request["params"] = params;
    std::string auth;
    if (bearer) auth = "Bearer " + *bearer;
    auto answer = post_to_api(endpoint_, request.dump(), auth, timeout_);
    OPENSSL_cleanse(auth.data(), auth.size());
    if (!answer) return answer.error();
    const std::string where = "the node API at " + endpoint_.url;
    if (answer->status == 429)
        return err(where + " is rate limiting this client (HTTP 429" +
                   (answer->retry_after.empty()
                        ? std::string()
                        : "; retry after " + first_line(answer->retry_after, 20) + " s") +
                   ")");
    json body = json::parse(answer->body, nullptr, false);
    if (answer->status != 200 && (body.is_discarded() || !body.is_object())) {
        return err(where + " answered HTTP " + std::to_string(answer->status) +
                   (answer->body.empty() ? std::string() : ": " + first_line(answer->body)));
    }
    if (body.is_discarded() || !body.is_object())
        return err(where + " answered something that is not a JSON-RPC response: " +
                   first_line(answer->body, 80));
    if (const auto e = body.find("error"); e != body.end() && !e->is_null()) {
        const json& code = e->is_object() ? e->value("code", json()) : json();
        const json& message = e->is_object() ? e->value("message", json()) : json();
        if (code.is_number_integer()) last_rpc_code_ = code.get<int>();
        std::string text = message.is_string()
                               ? first_line(message.get_ref<const std::string&>(), 300)
                               : std::string("(no message)");
        return err(std::string(method) + " failed: " + text +
                   (last_rpc_code_ != 0 ? " (code " + std::to_string(last_rpc_code_) + ")"
                                        : std::string()));
    }
    const auto result = body.find("result");
    if (result == body.end()) return err(where + " answered without a result or an error");
    return AppResult<json>(boost::system::in_place_value, std::move(*result));
}

AppResult<std::string> normalize_route(std::string_view text) {
    const std::string bad = "--route " + crypto::quote_input(text);
    if (text.empty()) return err(bad + ": expected SRC->DST (chain names), e.g. alpha->beta");
    std::string_view src;
    std::string_view dst;
    if (const auto arrow = text.find("->"); arrow != std::string_view::npos) {
        src = text.substr(0, arrow);
        dst = text.substr(arrow + 2);
    } else {
        const auto dash = text.find('-');
        if (dash == std::string_view::npos)
            return err(bad + ": expected SRC->DST or SRC-DST, e.g. alpha->beta");
        if (text.find('-', dash + 1) != std::string_view::npos)
            return err(bad + ": ambiguous (a chain name has a '-'); write it as SRC->DST");
        src = text.substr(0, dash);
        dst = text.substr(dash + 1);
    }
    if (src.empty() || dst.empty() || dst.find("->") != std::string_view::npos)
        return err(bad + ": expected SRC->DST, e.g. alpha->beta");
    return AppResult<std::string>(boost::system::in_place_value,
                                  std::string(src) + "->" + std::string(dst));
}

CLI::App* add_status_command(CLI::App& app, StatusOptions& options) {
    auto* cmd = app.add_subcommand(
        "status",
        "Show the running node at a glance: chains (head, scanned block, lag, RPC, wallet), "
        "routes (packets per state, oldest pending, what they wait for) and what needs "
        "attention");
    add_api_options(*cmd, options.api);
    cmd->add_option("--low-balance", options.low_balance_eth,
                    "list a relayer wallet holding less than this many ETH under attention")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    cmd->footer("Calls ferry_status on the node API. Exit 0 when the node answered, 1 when not.");
    return cmd;
}

CLI::App* add_packets_command(CLI::App& app, PacketsOptions& options) {
    auto* cmd = app.add_subcommand(
        "packets",
        "List packets in the node's queue, newest state first, filtered by state and "
        "route");
    add_api_options(*cmd, options.api);
    cmd->add_option("--state", options.state, "only packets in this state")
        ->check(CLI::IsMember(packet_states()));
    cmd->add_option("--route", options.route,
                    "only packets of this route: SRC->DST or SRC-DST (chain names)");
    cmd->add_option("--limit", options.limit, "packets per page (1..1000)")
        ->check(CLI::Range(1u, 1000u))
        ->capture_default_str();
    auto* cursor = cmd->add_option("--cursor", options.cursor,
                                   "continue from the next_cursor of an earlier page");
    cmd->add_flag("--all", options.all, "follow the cursors and list every matching packet")
        ->excludes(cursor);
    cmd->footer(
        "Calls ferry_packets on the node API. Example: ferry packets --state dead "
        "--route alpha->beta");
    return cmd;
}

CLI::App* add_packet_command(CLI::App& app, PacketOptions& options) {
    auto* cmd = app.add_subcommand(
        "packet",
        "Show one packet: state, attempts, last error, attestations, deliveries and "
        "receipt");
    add_api_options(*cmd, options.api);
    cmd->add_option("id", options.id, "the packet id: 0x and 64 hex digits")->required();
    cmd->footer("Calls ferry_packet on the node API; exit 1 when the node does not know the id.");
    return cmd;
}

CLI::App* add_retry_command(CLI::App& app, RetryOptions& options) {
    auto* cmd = app.add_subcommand(
        "retry",
        "Send a dead or failed packet back for delivery now (ferry retry <id>), or "
        "every dead packet of a route (ferry retry --route a->b --dead)");
    add_api_options(*cmd, options.api);
    auto* id = cmd->add_option("id", options.id, "the packet id: 0x and 64 hex digits");
    auto* route = cmd->add_option("--route", options.route,
                                  "retry packets of this route: SRC->DST or SRC-DST");
    auto* dead = cmd->add_flag("--dead", options.dead, "with --route: every dead packet");
    id->excludes(route)->excludes(dead);
    route->needs(dead);
    dead->needs(route);
    cmd->add_option("--admin-token-env", options.admin_token_env,
                    "environment variable holding the admin token (default: the config's "
                    "api.admin_token_env, else " +
                        std::string(kDefaultAdminTokenEnv) + ")");
    cmd->footer(
        "Calls ferry_retry, an admin method: the token is read from the environment and sent "
        "as 'Authorization: Bearer'; it is never printed.");
    return cmd;
}

int run_status(const StatusOptions& options, std::ostream& out, std::ostream& e) {
    auto target = resolve_target(options.api);
    if (!target) return fail(e, "status", target.error().message);
    auto client = make_client(*target, options.api);
    auto result = client.call("ferry_status", nullptr);
    if (!result) return fail(e, "status", result.error().message);
    if (options.api.json) {
        out << result->dump(2) << '\n';
    } else {
        StatusViewOptions view;
        view.low_balance_eth = options.low_balance_eth;
        out << render_status(*result, view);
    }
    out.flush();
    return kExitOk;
}

int run_packets(const PacketsOptions& options, std::ostream& out, std::ostream& e) {
    json params = json::object();
    if (!options.state.empty()) params["state"] = options.state;
    if (!options.route.empty()) {
        auto route = normalize_route(options.route);
        if (!route) return usage(e, "packets", route.error().message);
        params["route"] = *route;
    }
    params["limit"] = options.limit;
    if (!options.cursor.empty()) params["cursor"] = options.cursor;

    auto target = resolve_target(options.api);
    if (!target) return fail(e, "packets", target.error().message);
    auto client = make_client(*target, options.api);
    const bool progress = options.all && !options.api.json && ::isatty(STDERR_FILENO) == 1;

    json all = json::array();
    json next = nullptr;
    std::set<std::string> seen_cursors;
    for (std::size_t page = 0;; ++page) {
        auto result = client.call("ferry_packets", params);
        if (!result) return fail(e, "packets", result.error().message);
        if (!result->is_object() || !result->contains("packets") ||
            !(*result)["packets"].is_array())
            return fail(e, "packets", "ferry_packets answered without a \"packets\" array");
        if (!options.all) {
            if (options.api.json) {
                out << result->dump(2) << '\n';
            } else {
                out << render_packets(*result);
            }
            out.flush();
            return kExitOk;
        }
        for (auto& p : (*result)["packets"]) all.push_back(std::move(p));
        next = result->value("next_cursor", json());
        if (!next.is_string() || next.get_ref<const std::string&>().empty()) {
            next = nullptr;
            break;
        }
        if (!seen_cursors.insert(next.get<std::string>()).second || page + 1 >= kMaxPages)
            return fail(e, "packets",
                        "ferry_packets repeated the cursor " +
                            crypto::quote_input(next.get<std::string>()) +
                            "; stopping instead of looping");
        params["cursor"] = next;
        if (progress) e << "\rfetched " << all.size() << " packets..." << std::flush;
    }
    if (progress) e << "\r" << std::string(40, ' ') << "\r" << std::flush;
    const json merged = {{"packets", std::move(all)}, {"next_cursor", nullptr}};
    if (options.api.json) {
        out << merged.dump(2) << '\n';
    } else {
        out << render_packets(merged);
    }
    out.flush();
    return kExitOk;
}

int run_packet(const PacketOptions& options, std::ostream& out, std::ostream& e) {
    if (!valid_packet_id(options.id))
        return usage(
            e, "packet",
            "bad packet id " + crypto::quote_input(options.id) + ": expected 0x and 64 hex digits");
    auto target = resolve_target(options.api);
    if (!target) return fail(e, "packet", target.error().message);
    auto client = make_client(*target, options.api);
    auto result = client.call("ferry_packet", json{{"id", options.id}});
    if (!result) {
        if (client.last_rpc_code() == -32004)
            return fail(
                e, "packet",
                "packet " + options.id + " is not known to the node at " + target->endpoint.url);
        return fail(e, "packet", result.error().message);
    }
    if (options.api.json) {
        out << result->dump(2) << '\n';
    } else {
        out << render_packet(*result);
    }
    out.flush();
    return kExitOk;
}

int run_retry(const RetryOptions& options, std::ostream& out, std::ostream& e) {
    json params = json::object();
    std::string what;
    if (!options.id.empty()) {
        if (!valid_packet_id(options.id))
            return usage(e, "retry",
                         "bad packet id " + crypto::quote_input(options.id) +
                             ": expected 0x and 64 hex digits");
        params["id"] = options.id;
        what = "packet " + options.id;
    } else if (!options.route.empty() && options.dead) {
        auto route = normalize_route(options.route);
        if (!route) return usage(e, "retry", route.error().message);
        params["route"] = *route;
        params["dead"] = true;
        what = "dead packets of route " + *route;
    } else {
        return usage(e, "retry", "say what to retry: a packet id, or --route SRC->DST --dead");
    }
    auto target = resolve_target(options.api);
    if (!target) return fail(e, "retry", target.error().message);
    const std::string env =
        options.admin_token_env.empty() ? target->token_env : options.admin_token_env;
    const char* value = std::getenv(env.c_str());
    if (value == nullptr || *value == '\0')
        return fail(e, "retry",
                    "ferry_retry needs the admin token: the environment variable " + env +
                        " is not set (it must hold the node's api.admin_token_env value)");
    std::optional<std::string> token = std::string(value);
    auto client = make_client(*target, options.api);
    auto result = client.call("ferry_retry", params, token);
    OPENSSL_cleanse(token->data(), token->size());
    if (!result) {
        if (client.last_rpc_code() == -32004)
            return fail(e, "retry", "packet " + options.id + " is not known to the node");
        if (client.last_rpc_code() == -32001)
            return fail(e, "retry", result.error().message + "; check the token in " + env);
        return fail(e, "retry", result.error().message);
    }
    if (options.api.json) {
        out << result->dump(2) << '\n';
    } else {
        const json& n = result->is_object() ? result->value("retried", json()) : json();
        const std::string count = n.is_number() ? n.dump() : "?";
        out << "retried " << count << " (" << what << ")\n";
    }
    out.flush();
    return kExitOk;
}

}  // namespace ferry::cli
