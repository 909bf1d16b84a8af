// Proves the API server speaks JSON-RPC 2.0 and GET correctly over real loopback TCP, enforces
// its limits and timeouts, survives garbage, and stops cleanly.
#include "api/api_server.hpp"
#include "tests/support/http_client.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using ferry::api::ApiServer;
using ferry::api::ApiServerOptions;
using ferry::api::ApiServerStats;
using ferry::api::HttpReply;
using ferry::api::MethodResult;
using ferry::api::RequestContext;
using ferry::api::RpcMethodError;
using ferry::chains::Task;
using ferry::test::get_request;
using ferry::test::HttpAnswer;
using ferry::test::post_request;
using Client = ferry::test::HttpClient;
using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

void expect_error(const json& answer, int code, const json& id) {
    ASSERT_TRUE(answer.is_object()) << answer.dump();
    EXPECT_EQ(answer.value("jsonrpc", ""), "2.0") << answer.dump();
    ASSERT_TRUE(answer.contains("error")) << answer.dump();
    EXPECT_FALSE(answer.contains("result")) << answer.dump();
    EXPECT_EQ(answer["error"]["code"], code) << answer.dump();
    EXPECT_TRUE(answer["error"]["message"].is_string()) << answer.dump();
    EXPECT_EQ(answer["id"], id) << answer.dump();
}

class ApiServerTest : public ::testing::Test {
protected:
    void start(ApiServerOptions options = {}) {
        auto created = ApiServer::create(ioc_.get_executor(), std::move(options));
        ASSERT_TRUE(created) << created.error();
        server_ = std::move(*created);
        register_handlers();
        server_->set_log_sink([this](std::string_view line) {
            const std::lock_guard lock(log_mutex_);
            log_.emplace_back(line);
        });
        server_->start();
        thread_ = std::thread([this] {
            ioc_.run();
            run_returned_.set_value();
        });
    }

    void TearDown() override {
        stop_and_wait();
        server_.reset();
    }

    /// Stops the server on its thread; true when io_context::run() then returns by itself.
    bool stop_and_wait(std::chrono::milliseconds timeout = 10s) {
        if (!thread_.joinable()) return true;
        boost::asio::post(ioc_, [this] { server_->stop(); });
        const bool returned =
            run_returned_.get_future().wait_for(timeout) == std::future_status::ready;
        if (!returned) ioc_.stop();
        thread_.join();
        return returned;
    }

    ApiServerStats stats() {
        std::promise<ApiServerStats> copy;
        boost::asio::post(ioc_, [&] { copy.set_value(server_->stats()); });
        return copy.get_future().get();
    }

    std::vector<std::string> log_lines() {
        const std::lock_guard lock(log_mutex_);
        return log_;
    }

    std::uint16_t port() const { return server_->port(); }

    /// Sends one raw request on a fresh connection and reads one answer.
    HttpAnswer exchange(const std::string& raw) {
        Client client(port());
        EXPECT_TRUE(client.connected());
        EXPECT_TRUE(client.send(raw));
        auto answer = client.read_answer();
        EXPECT_TRUE(answer.has_value()) << raw.substr(0, 200);
        return answer.value_or(HttpAnswer{});
    }

    HttpAnswer post(std::string_view body, std::string_view headers = "") {
        return exchange(post_request(body, headers));
    }

    /// POSTs a JSON-RPC body; the parsed JSON answer (200, application/json expected).
    json rpc(std::string_view body, std::string_view headers = "") {
        const HttpAnswer answer = post(body, headers);
        EXPECT_EQ(answer.status, 200u) << body;
        EXPECT_EQ(answer.headers.count("content-type") ? answer.headers.at("content-type") : "",
                  "application/json");
        return json::parse(answer.body, nullptr, false);
    }

    void register_handlers() {
        server_->add_method(
            "add", [](const json& params, const RequestContext&) -> Task<MethodResult> {
                if (!params.is_array() || params.size() != 2 || !params[0].is_number_integer() ||
                    !params[1].is_number_integer())
                    co_return RpcMethodError{-32602, "invalid params: expected [a, b]", nullptr};
                co_return json(params[0].get<std::int64_t>() + params[1].get<std::int64_t>());
            });
        server_->add_method("echo",
                            [](const json& params, const RequestContext&) -> Task<MethodResult> {
                                co_return params;
                            });
        server_->add_method("fail", [](const json&, const RequestContext&) -> Task<MethodResult> {
            co_return RpcMethodError{-32000, "custom failure", json{{"reason", "test"}}};
        });
        server_->add_method("fail_default",
                            [](const json&, const RequestContext&) -> Task<MethodResult> {
                                RpcMethodError error;
                                error.message = "no data here";
                                co_return error;
                            });
        server_->add_method("throw", [](const json&, const RequestContext&) -> Task<MethodResult> {
            throw std::runtime_error("secret key 0xdeadbeef");
            co_return json();
        });
        // Throws before a coroutine exists.
        server_->add_method("throw_early",
                            [](const json&, const RequestContext&) -> Task<MethodResult> {
                                throw std::runtime_error("secret key 0xdeadbeef");
                            });
        server_->add_method("whoami",
                            [](const json&, const RequestContext& context) -> Task<MethodResult> {
                                json token = nullptr;
                                if (context.bearer_token) token = *context.bearer_token;
                                co_return json{{"remote", context.remote}, {"token", token}};
                            });
        // Keeps state in its capture: the server must keep the callable alive while it runs.
        server_->add_method(
            "count",
            [this, calls = 0](const json&, const RequestContext&) mutable -> Task<MethodResult> {
                auto executor = co_await boost::asio::this_coro::executor;
                boost::asio::steady_timer tick(executor, 1ms);
                co_await tick.async_wait(boost::asio::use_awaitable);
                ++calls;
                counter_ = calls;
                co_return json(calls);
            });
        server_->add_method("sleep", [](const json&, const RequestContext&) -> Task<MethodResult> {
            auto executor = co_await boost::asio::this_coro::executor;
            boost::asio::steady_timer timer(executor, 200ms);
            co_await timer.async_wait(boost::asio::use_awaitable);
            co_return json("slept");
        });
        server_->add_get("/health", [](const RequestContext&) -> Task<HttpReply> {
            co_return HttpReply{200, "text/plain; charset=utf-8", "ok\n"};
        });
        server_->add_get("/boom", [](const RequestContext&) -> Task<HttpReply> {
            throw std::runtime_error("secret");
            co_return HttpReply{};
        });
    }

    boost::asio::io_context ioc_;
    std::unique_ptr<ApiServer> server_;
    std::thread thread_;
    std::promise<void> run_returned_;
    std::atomic<int> counter_{0};
    std::mutex log_mutex_;
    std::vector<std::string> log_;
};

TEST_F(ApiServerTest, single_call_returns_result_with_echoed_id) {
    start();
    EXPECT_EQ(server_->listen_address(), "127.0.0.1:" + std::to_string(port()));
    EXPECT_NE(port(), 0);
    const json answer = rpc(R"({"jsonrpc":"2.0","id":1,"method":"add","params":[2,3]})");
    EXPECT_EQ(answer, json::parse(R"({"jsonrpc":"2.0","id":1,"result":5})"));
    // Named params and no params at all reach the handler as given (null when absent).
    EXPECT_EQ(
        rpc(R"({"jsonrpc":"2.0","id":2,"method":"echo","params":{"a":[1,{"b":null}]}})")["result"],
        json::parse(R"({"a":[1,{"b":null}]})"));
    const json no_params = rpc(R"({"jsonrpc":"2.0","id":3,"method":"echo"})");
    ASSERT_TRUE(no_params.contains("result"));
    EXPECT_TRUE(no_params["result"].is_null());
    const auto s = stats();
    EXPECT_EQ(s.http_requests, 3u);
    EXPECT_EQ(s.rpc_calls, 3u);
    EXPECT_EQ(s.rpc_errors, 0u);
}

TEST_F(ApiServerTest, ids_are_echoed_verbatim_and_bad_ids_refused) {
    start();
    for (const std::string id :
         {R"("abc")", R"("")", "0", "-7", "18446744073709551615", "1.5", "null", R"("ünï")"}) {
        const HttpAnswer answer =
            post(R"({"jsonrpc":"2.0","method":"echo","params":[true],"id":)" + id + "}");
        ASSERT_EQ(answer.status, 200u) << id;
        const json parsed = json::parse(answer.body);
        EXPECT_EQ(parsed["id"], json::parse(id)) << answer.body;
        EXPECT_EQ(parsed["result"], json::parse("[true]")) << answer.body;
        EXPECT_NE(answer.body.find("\"id\":" + id), std::string::npos) << answer.body;
    }
    for (const std::string id : {"{}", "[1]", "true"}) {
        expect_error(rpc(R"({"jsonrpc":"2.0","method":"echo","id":)" + id + "}"), -32600, nullptr);
    }
}

TEST_F(ApiServerTest, batch_mixes_results_and_errors_and_skips_notifications) {
    start();
    const json answer = rpc(R"([
        {"jsonrpc":"2.0","id":1,"method":"add","params":[1,2]},
        {"jsonrpc":"2.0","method":"count"},
        {"jsonrpc":"2.0","id":"b","method":"nope"},
        42,
        {"jsonrpc":"2.0","id":3,"method":"fail"},
        {"jsonrpc":"2.0","method":"nope"},
        {"jsonrpc":"2.0","method":"fail"}
    ])");
    ASSERT_TRUE(answer.is_array()) << answer.dump();
    ASSERT_EQ(answer.size(), 4u) << answer.dump();
    EXPECT_EQ(answer[0], json::parse(R"({"jsonrpc":"2.0","id":1,"result":3})"));
    expect_error(answer[1], -32601, "b");
    EXPECT_EQ(answer[1]["error"]["message"], "method 'nope' not found");
    expect_error(answer[2], -32600, nullptr);
    expect_error(answer[3], -32000, 3);
    EXPECT_EQ(answer[3]["error"]["data"], json::parse(R"({"reason":"test"})"));
    EXPECT_EQ(counter_.load(), 1);  // the notification ran
    const auto s = stats();
    EXPECT_EQ(s.rpc_calls, 7u);
    EXPECT_EQ(s.rpc_errors, 5u);  // notifications' errors are counted, not answered
    EXPECT_EQ(s.errors_by_code.at(-32601), 2u);
    EXPECT_EQ(s.errors_by_code.at(-32600), 1u);
    EXPECT_EQ(s.errors_by_code.at(-32000), 2u);
}

TEST_F(ApiServerTest, notifications_only_get_204_without_body) {
    start();
    HttpAnswer answer = post(
        R"([{"jsonrpc":"2.0","method":"count"},{"jsonrpc":"2.0","method":"count","params":[]}])");
    EXPECT_EQ(answer.status, 204u);
    EXPECT_TRUE(answer.body.empty());
    EXPECT_EQ(counter_.load(), 2);
    answer = post(R"({"jsonrpc":"2.0","method":"count"})");
    EXPECT_EQ(answer.status, 204u);
    EXPECT_TRUE(answer.body.empty());
    EXPECT_EQ(counter_.load(), 3);
}

TEST_F(ApiServerTest, empty_and_oversized_batches_are_invalid_requests) {
    ApiServerOptions options;
    options.max_batch = 3;
    start(options);
    expect_error(rpc("[]"), -32600, nullptr);
    const std::string call = R"({"jsonrpc":"2.0","id":1,"method":"add","params":[1,1]})";
    const json too_many = rpc("[" + call + "," + call + "," + call + "," + call + "]");
    expect_error(too_many, -32600, nullptr);
    const std::string message = too_many["error"]["message"];
    EXPECT_NE(message.find("4"), std::string::npos) << message;
    EXPECT_NE(message.find("3"), std::string::npos) << message;
    const json at_limit = rpc("[" + call + "," + call + "," + call + "]");
    ASSERT_TRUE(at_limit.is_array());
    EXPECT_EQ(at_limit.size(), 3u);
    for (const auto& entry : at_limit) EXPECT_EQ(entry["result"], 2);
}

TEST_F(ApiServerTest, every_error_code_is_produced) {
    start();
    // -32700: malformed JSON, id null.
    json answer = rpc(R"({"jsonrpc":"2.0","id":1,"method":)");
    expect_error(answer, -32700, nullptr);
    expect_error(rpc("not json at all"), -32700, nullptr);
    expect_error(rpc(""), -32700, nullptr);
    expect_error(rpc(std::string(100000, '[')), -32700, nullptr);
    expect_error(rpc("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":[\"\xff\"]}"),
                 -32700, nullptr);
    // -32600: wrong or missing version, bad method, bad params, not an object.
    expect_error(rpc(R"({"jsonrpc":"1.0","id":1,"method":"echo"})"), -32600, 1);
    expect_error(rpc(R"({"id":2,"method":"echo"})"), -32600, 2);
    expect_error(rpc(R"({"jsonrpc":2.0,"id":3,"method":"echo"})"), -32600, 3);
    expect_error(rpc(R"({"jsonrpc":"2.0","id":4,"method":5})"), -32600, 4);
    expect_error(rpc(R"({"jsonrpc":"2.0","id":5})"), -32600, 5);
    expect_error(rpc(R"({"jsonrpc":"2.0","id":6,"method":"echo","params":5})"), -32600, 6);
    expect_error(rpc(R"({"jsonrpc":"2.0","id":7,"method":"echo","params":"x"})"), -32600, 7);
    expect_error(rpc(R"({"jsonrpc":"2.0","id":8,"method":"echo","params":null})"), -32600, 8);
    expect_error(rpc(R"("hello")"), -32600, nullptr);
    expect_error(rpc(R"({"jsonrpc":"1.0","method":"echo"})"), -32600, nullptr);  // still answered
    // -32601.
    answer = rpc(R"({"jsonrpc":"2.0","id":"x","method":"nope"})");
    expect_error(answer, -32601, "x");
    EXPECT_EQ(answer["error"]["message"], "method 'nope' not found");
    // -32602 and -32603 from handlers; data omitted when null, kept otherwise.
    answer = rpc(R"({"jsonrpc":"2.0","id":9,"method":"add","params":{"a":1}})");
    expect_error(answer, -32602, 9);
    EXPECT_EQ(answer["error"]["message"], "invalid params: expected [a, b]");
    EXPECT_FALSE(answer["error"].contains("data"));
    answer = rpc(R"({"jsonrpc":"2.0","id":10,"method":"fail_default"})");
    expect_error(answer, -32603, 10);
    EXPECT_EQ(answer["error"]["message"], "no data here");
    EXPECT_FALSE(answer["error"].contains("data"));
    answer = rpc(R"({"jsonrpc":"2.0","id":11,"method":"fail"})");
    expect_error(answer, -32000, 11);
    EXPECT_EQ(answer["error"]["data"]["reason"], "test");

    const auto s = stats();
    EXPECT_EQ(s.errors_by_code.at(-32700), 5u);
    EXPECT_EQ(s.errors_by_code.at(-32600), 10u);
    EXPECT_EQ(s.errors_by_code.at(-32601), 1u);
    EXPECT_EQ(s.errors_by_code.at(-32602), 1u);
    EXPECT_EQ(s.errors_by_code.at(-32603), 1u);
    EXPECT_EQ(s.errors_by_code.at(-32000), 1u);
    EXPECT_EQ(s.rpc_errors, 19u);
    EXPECT_EQ(s.rpc_calls, 19u);
}

TEST_F(ApiServerTest, throwing_handler_gives_internal_error_without_its_text) {
    start();
    for (const std::string method : {"throw", "throw_early"}) {
        const HttpAnswer answer = post(R"({"jsonrpc":"2.0","id":1,"method":")" + method + R"("})");
        ASSERT_EQ(answer.status, 200u);
        EXPECT_EQ(answer.body.find("secret"), std::string::npos) << answer.body;
        const json parsed = json::parse(answer.body);
        expect_error(parsed, -32603, 1);
        EXPECT_EQ(parsed["error"]["message"], "internal error");
        EXPECT_EQ(parsed["error"]["data"]["method"], method);
    }
    const auto lines = log_lines();
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_NE(lines[0].find("'throw'"), std::string::npos) << lines[0];
    EXPECT_NE(lines[1].find("'throw_early'"), std::string::npos) << lines[1];
    for (const auto& line : lines) EXPECT_EQ(line.find("secret"), std::string::npos) << line;
    // Still serving.
    EXPECT_EQ(rpc(R"({"jsonrpc":"2.0","id":2,"method":"add","params":[4,5]})")["result"], 9);
}

TEST_F(ApiServerTest, get_paths_answer_404_and_other_verbs_405) {
    start();
    HttpAnswer answer = exchange(get_request("/health"));
    EXPECT_EQ(answer.status, 200u);
    EXPECT_EQ(answer.body, "ok\n");
    EXPECT_EQ(answer.headers["content-type"], "text/plain; charset=utf-8");
    EXPECT_EQ(exchange(get_request("/health?verbose=1")).status, 200u);
    EXPECT_EQ(exchange(get_request("/nope")).status, 404u);
    EXPECT_EQ(exchange(get_request("/")).status, 404u);
    answer = exchange(get_request("/boom"));
    EXPECT_EQ(answer.status, 500u);
    EXPECT_EQ(answer.body.find("secret"), std::string::npos);
    answer = exchange(get_request("/", "PUT"));
    EXPECT_EQ(answer.status, 405u);
    EXPECT_EQ(answer.headers["allow"], "GET, POST");
    EXPECT_EQ(exchange(get_request("/health", "DELETE")).status, 405u);
    // POST on any path is JSON-RPC.
    const std::string call = R"({"jsonrpc":"2.0","id":1,"method":"add","params":[1,1]})";
    answer = exchange("POST /rpc/v1 HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                      std::to_string(call.size()) + "\r\n\r\n" + call);
    EXPECT_EQ(answer.status, 200u);
    EXPECT_EQ(json::parse(answer.body, nullptr, false)["result"], 2) << answer.body;
    EXPECT_EQ(stats().bad_requests, 2u);
}

TEST_F(ApiServerTest, bearer_token_and_remote_reach_handlers) {
    start();
    const std::string call = R"({"jsonrpc":"2.0","id":1,"method":"whoami"})";
    json result = rpc(call, "Authorization: Bearer s3cr3t-token\r\n")["result"];
    EXPECT_EQ(result["token"], "s3cr3t-token");
    const std::string remote = result["remote"];
    EXPECT_EQ(remote.rfind("127.0.0.1:", 0), 0u) << remote;
    EXPECT_GT(remote.size(), std::string("127.0.0.1:").size());
    EXPECT_EQ(rpc(call, "authorization: bearer  abc \r\n")["result"]["token"], "abc");
    EXPECT_TRUE(rpc(call)["result"]["token"].is_null());
    EXPECT_TRUE(rpc(call, "Authorization: Basic dXNlcjpwYXNz\r\n")["result"]["token"].is_null());
    EXPECT_TRUE(rpc(call, "Authorization: Bearer \r\n")["result"]["token"].is_null());
}

TEST_F(ApiServerTest, oversized_body_is_413_and_not_read) {
    start();  // max_body_bytes = 1 MiB
    constexpr std::size_t kTwoMiB = 2 << 20;
    {  // Only the head is sent: the answer comes without waiting for the body.
        Client client(port());
        ASSERT_TRUE(client.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                std::to_string(kTwoMiB) + "\r\n\r\n{"));
        const auto answer = client.read_answer();
        ASSERT_TRUE(answer);
        EXPECT_EQ(answer->status, 413u);
        EXPECT_TRUE(client.closed_within(10s));
    }
    {  // The whole 2 MiB body, sent while the answer is read.
        Client client(port());
        const std::string body(kTwoMiB, ' ');
        std::thread sender([&] { client.send(post_request(body)); });
        const auto answer = client.read_answer();
        sender.join();
        ASSERT_TRUE(answer);
        EXPECT_EQ(answer->status, 413u);
    }
    {  // Chunked: no length up front, refused once the limit is passed.
        Client client(port());
        std::thread sender([&] {
            if (!client.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"))
                return;
            const std::string chunk = "10000\r\n" + std::string(0x10000, ' ') + "\r\n";
            for (std::size_t sent = 0; sent < kTwoMiB; sent += 0x10000) {
                if (!client.send(chunk)) return;
            }
            client.send("0\r\n\r\n");
        });
        const auto answer = client.read_answer();
        sender.join();
        ASSERT_TRUE(answer);
        EXPECT_EQ(answer->status, 413u);
    }
    // A body of exactly the limit is fine.
    std::string body = R"({"jsonrpc":"2.0","id":1,"method":"add","params":[20,22]})";
    body.resize(1 << 20, ' ');
    EXPECT_EQ(rpc(body)["result"], 42);
    EXPECT_EQ(stats().bad_requests, 3u);
}

TEST_F(ApiServerTest, oversized_header_is_431) {
    start();  // max_header_bytes = 16 KiB
    const HttpAnswer answer =
        exchange("POST / HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(20000, 'a') +
                 "\r\nContent-Length: 2\r\n\r\n{}");
    EXPECT_EQ(answer.status, 431u);
    EXPECT_EQ(stats().bad_requests, 1u);
    // A large but allowed header passes.
    EXPECT_EQ(rpc(R"({"jsonrpc":"2.0","id":1,"method":"add","params":[1,2]})",
                  "X-Pad: " + std::string(8000, 'a') + "\r\n")["result"],
              3);
}

TEST_F(ApiServerTest, keep_alive_serves_several_requests_on_one_connection) {
    start();
    Client client(port());
    ASSERT_TRUE(client.connected());
    for (int i = 0; i < 2; ++i) {
        ASSERT_TRUE(client.send(post_request(R"({"jsonrpc":"2.0","id":)" + std::to_string(i) +
                                             R"(,"method":"add","params":[)" + std::to_string(i) +
                                             ",10]}")));
        const auto answer = client.read_answer();
        ASSERT_TRUE(answer) << i;
        EXPECT_EQ(json::parse(answer->body)["result"], i + 10);
    }
    // Pipelined: two requests in one write, two answers in order.
    ASSERT_TRUE(
        client.send(post_request(R"({"jsonrpc":"2.0","id":"p","method":"add","params":[1,1]})") +
                    get_request("/health")));
    auto answer = client.read_answer();
    ASSERT_TRUE(answer);
    EXPECT_EQ(json::parse(answer->body)["id"], "p");
    answer = client.read_answer();
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->body, "ok\n");
    // Expect: 100-continue gets the interim answer, then the real one.
    const std::string body = R"({"jsonrpc":"2.0","id":5,"method":"add","params":[2,2]})";
    ASSERT_TRUE(
        client.send("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n"));
    answer = client.read_answer();
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 100u);
    ASSERT_TRUE(client.send(body));
    answer = client.read_answer();
    ASSERT_TRUE(answer);
    EXPECT_EQ(json::parse(answer->body)["result"], 4);
    // Connection: close is honoured.
    ASSERT_TRUE(client.send("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    answer = client.read_answer();
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 200u);
    EXPECT_TRUE(client.closed_within(5s));
    EXPECT_EQ(stats().http_requests, 6u);
}

TEST_F(ApiServerTest, slow_clients_are_disconnected_after_read_timeout) {
    ApiServerOptions options;
    options.read_timeout = 300ms;
    start(options);
    {  // Half a header, then silence.
        Client client(port());
        ASSERT_TRUE(client.send("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
        const auto begin = Clock::now();
        EXPECT_TRUE(client.closed_within(10s));
        EXPECT_GE(Clock::now() - begin, 200ms);
    }
    {  // A header trickled one field every 50 ms: the deadline covers the whole request.
        Client client(port());
        ASSERT_TRUE(client.send("POST / HTTP/1.1\r\n"));
        const auto deadline = Clock::now() + 10s;
        bool closed = false;
        while (!closed && Clock::now() < deadline) {
            if (!client.send("X-A: b\r\n")) {
                closed = true;
                break;
            }
            closed = client.read_some(Clock::now() + 50ms) == 0;
        }
        EXPECT_TRUE(closed);
    }
    // Never even starting a request counts as slow too.
    Client silent(port());
    EXPECT_TRUE(silent.closed_within(10s));
}

TEST_F(ApiServerTest, idle_keep_alive_connection_is_closed_after_idle_timeout) {
    ApiServerOptions options;
    options.idle_timeout = 300ms;
    start(options);
    Client client(port());
    ASSERT_TRUE(client.send(get_request("/health")));
    ASSERT_TRUE(client.read_answer());
    EXPECT_TRUE(client.closed_within(10s));
}

TEST_F(ApiServerTest, connections_beyond_max_are_closed_at_once) {
    ApiServerOptions options;
    options.max_connections = 2;
    start(options);
    auto first = std::make_unique<Client>(port());
    Client second(port());
    for (Client* c : {first.get(), &second}) {
        ASSERT_TRUE(c->send(get_request("/health")));
        ASSERT_TRUE(c->read_answer());
    }
    Client third(port());
    EXPECT_TRUE(third.closed_within(10s));
    EXPECT_EQ(stats().rejected_connections, 1u);
    // The two kept-alive connections still work.
    ASSERT_TRUE(second.send(get_request("/health")));
    ASSERT_TRUE(second.read_answer());
    // Once one closes, its place is free again.
    first.reset();
    bool served = false;
    for (const auto deadline = Clock::now() + 10s; !served && Clock::now() < deadline;) {
        Client next(port());
        served = next.send(get_request("/health")) && next.read_answer(2s).has_value();
        if (!served) std::this_thread::sleep_for(20ms);
    }
    EXPECT_TRUE(served);
}

TEST_F(ApiServerTest, stop_closes_open_connections_and_lets_run_return) {
    start();
    Client idle(port());
    ASSERT_TRUE(idle.send(get_request("/health")));
    ASSERT_TRUE(idle.read_answer());
    Client half(port());
    ASSERT_TRUE(half.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"));
    Client silent(port());
    Client busy(port());
    ASSERT_TRUE(busy.send(post_request(R"({"jsonrpc":"2.0","id":1,"method":"sleep"})")));
    // Wait until the server has read the sleeping call (it is then inside the handler).
    for (const auto deadline = Clock::now() + 10s;
         stats().http_requests < 2 && Clock::now() < deadline;)
        std::this_thread::sleep_for(5ms);
    EXPECT_EQ(stats().http_requests, 2u);

    EXPECT_TRUE(stop_and_wait());
    for (Client* c : {&idle, &half, &silent, &busy}) EXPECT_TRUE(c->closed_within(5s));
    server_->stop();  // twice is fine
    EXPECT_FALSE(Client(port()).connected());
}

TEST_F(ApiServerTest, garbage_never_breaks_the_server) {
    start();
    std::mt19937 rng(20240601);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<std::size_t> length(1, 1500);
    for (int i = 0; i < 200; ++i) {
        std::string junk(length(rng), '\0');
        for (auto& c : junk) c = static_cast<char>(byte(rng));
        if (i % 4 == 1) junk = "POST / HTTP/1.1\r\n" + junk;  // junk after a good request line
        Client client(port());
        ASSERT_TRUE(client.connected()) << i;
        client.send(junk);
        client.shutdown_write();
        EXPECT_TRUE(client.closed_within(10s)) << i;
    }
    // Random JSON-ish bodies all get a JSON answer.
    const std::string alphabet = R"({}[]":,0123456789 .-eEtrufalsn\)";
    std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
    for (int i = 0; i < 200; ++i) {
        std::string body(length(rng) % 64, ' ');
        for (auto& c : body) c = alphabet[pick(rng)];
        const HttpAnswer answer = post(body);
        EXPECT_TRUE(answer.status == 200u || answer.status == 204u) << body;
        if (answer.status == 200u) {
            EXPECT_FALSE(json::parse(answer.body, nullptr, false).is_discarded()) << body;
        }
    }
    EXPECT_EQ(rpc(R"({"jsonrpc":"2.0","id":1,"method":"add","params":[40,2]})")["result"], 42);
    EXPECT_GT(stats().bad_requests, 0u);
}

/// Sends `n` pipelined POSTs of `body` on one connection from `source`; the statuses in order.
std::vector<unsigned> pipelined_statuses(std::uint16_t port, std::size_t n, const char* source,
                                         std::vector<HttpAnswer>* answers = nullptr) {
    Client client(port, source);
    EXPECT_TRUE(client.connected());
    std::string batch;
    for (std::size_t i = 0; i < n; ++i)
        batch += post_request(R"({"jsonrpc":"2.0","id":1,"method":"add","params":[1,1]})");
    EXPECT_TRUE(client.send(batch));
    std::vector<unsigned> statuses;
    for (std::size_t i = 0; i < n; ++i) {
        auto answer = client.read_answer();
        if (!answer) break;
        statuses.push_back(answer->status);
        if (answers != nullptr) answers->push_back(std::move(*answer));
    }
    return statuses;
}

TEST_F(ApiServerTest, rate_limit_answers_429_with_retry_after_then_refills) {
    ApiServerOptions options;
    options.rate_limit = {1, 5};  // 1/s, burst 5
    start(options);
    Client client(port());
    ASSERT_TRUE(client.connected());
    std::string burst;
    for (int i = 0; i < 8; ++i)
        burst += post_request(R"({"jsonrpc":"2.0","id":7,"method":"add","params":[1,2]})");
    ASSERT_TRUE(client.send(burst));
    std::vector<HttpAnswer> answers;
    for (int i = 0; i < 8; ++i) {
        auto answer = client.read_answer();
        ASSERT_TRUE(answer) << "answer " << i;
        answers.push_back(std::move(*answer));
    }
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(answers[static_cast<std::size_t>(i)].status, 200u) << i;
        EXPECT_EQ(json::parse(answers[static_cast<std::size_t>(i)].body)["result"], 3);
    }
    for (int i = 5; i < 8; ++i) {
        const auto& a = answers[static_cast<std::size_t>(i)];
        EXPECT_EQ(a.status, 429u) << i;
        ASSERT_TRUE(a.headers.count("retry-after")) << i;
        EXPECT_EQ(a.headers.at("retry-after"), "1");
        const json body = json::parse(a.body, nullptr, false);
        expect_error(body, -32005, nullptr);
        EXPECT_NE(body["error"]["message"].get<std::string>().find("127.0.0.1"), std::string::npos)
            << a.body;
    }
    // A GET is limited too, with a text answer.
    ASSERT_TRUE(client.send(get_request("/health")));
    auto get = client.read_answer();
    ASSERT_TRUE(get);
    EXPECT_EQ(get->status, 429u);
    EXPECT_NE(get->body.find("rate limited"), std::string::npos) << get->body;
    EXPECT_EQ(stats().rate_limited, 4u);

    // The connection stays open; the bucket refills at 1 token/s.
    std::this_thread::sleep_for(1100ms);
    ASSERT_TRUE(
        client.send(post_request(R"({"jsonrpc":"2.0","id":8,"method":"add","params":[2,2]})")));
    auto later = client.read_answer();
    ASSERT_TRUE(later);
    EXPECT_EQ(later->status, 200u);
    EXPECT_EQ(json::parse(later->body)["result"], 4);
    EXPECT_EQ(stats().rate_limited, 4u);
}

TEST_F(ApiServerTest, rate_limit_is_per_client_address) {
    ApiServerOptions options;
    options.rate_limit = {1, 3};
    start(options);
    EXPECT_EQ(pipelined_statuses(port(), 5, "127.0.0.1"),
              (std::vector<unsigned>{200, 200, 200, 429, 429}));
    // Another loopback address is another client with its own bucket.
    EXPECT_EQ(pipelined_statuses(port(), 4, "127.0.0.2"),
              (std::vector<unsigned>{200, 200, 200, 429}));
    // A new connection does not reset a client's bucket.
    EXPECT_EQ(pipelined_statuses(port(), 1, "127.0.0.1"), (std::vector<unsigned>{429}));
    EXPECT_EQ(stats().rate_limited, 4u);
}

TEST_F(ApiServerTest, rate_limit_tracks_a_bounded_number_of_clients) {
    ApiServerOptions options;
    options.rate_limit = {1, 2};
    options.rate_limit_max_clients = 1;
    start(options);
    EXPECT_EQ(pipelined_statuses(port(), 3, "127.0.0.2"), (std::vector<unsigned>{200, 200, 429}));
    // No room for more clients (127.0.0.2's bucket is not full): the others share one bucket.
    EXPECT_EQ(pipelined_statuses(port(), 1, "127.0.0.3"), (std::vector<unsigned>{200}));
    EXPECT_EQ(pipelined_statuses(port(), 2, "127.0.0.4"), (std::vector<unsigned>{200, 429}));
}

TEST_F(ApiServerTest, rate_limit_zero_turns_it_off) {
    ApiServerOptions options;
    options.rate_limit = {0, 1};
    start(options);
    const auto statuses = pipelined_statuses(port(), 50, nullptr);
    EXPECT_EQ(statuses, std::vector<unsigned>(50, 200u));
    EXPECT_EQ(stats().rate_limited, 0u);
}

TEST(ApiServerCreate, port_in_use_gives_clear_error) {
    boost::asio::io_context ioc;
    auto first = ApiServer::create(ioc.get_executor(), {});
    ASSERT_TRUE(first) << first.error();
    ApiServerOptions options;
    options.port = (*first)->port();
    auto second = ApiServer::create(ioc.get_executor(), options);
    ASSERT_FALSE(second);
    const std::string& error = second.error();
    EXPECT_NE(error.find("127.0.0.1:" + std::to_string(options.port)), std::string::npos) << error;
    EXPECT_NE(error.find("in use"), std::string::npos) << error;
}

TEST(ApiServerCreate, non_loopback_and_bad_addresses_are_refused) {
    boost::asio::io_context ioc;
    ApiServerOptions options;
    options.host = "0.0.0.0";
    options.port = 8645;
    auto created = ApiServer::create(ioc.get_executor(), options);
    ASSERT_FALSE(created);
    EXPECT_NE(created.error().find("0.0.0.0:8645"), std::string::npos) << created.error();
    EXPECT_NE(created.error().find("loopback"), std::string::npos) << created.error();
    EXPECT_NE(created.error().find("allow_non_loopback"), std::string::npos) << created.error();

    options.host = "::";
    created = ApiServer::create(ioc.get_executor(), options);
    ASSERT_FALSE(created);
    EXPECT_NE(created.error().find("loopback"), std::string::npos) << created.error();

    options.host = "not-an-ip";
    created = ApiServer::create(ioc.get_executor(), options);
    ASSERT_FALSE(created);
    EXPECT_NE(created.error().find("not-an-ip:8645"), std::string::npos) << created.error();
    EXPECT_NE(created.error().find("bad address"), std::string::npos) << created.error();

    options.host = "localhost";
    options.port = 0;
    created = ApiServer::create(ioc.get_executor(), options);
    ASSERT_TRUE(created) << created.error();
    EXPECT_EQ((*created)->listen_address(), "127.0.0.1:" + std::to_string((*created)->port()));
    options.host = "127.0.0.2";  // all of 127.0.0.0/8 is loopback
    created = ApiServer::create(ioc.get_executor(), options);
    ASSERT_TRUE(created) << created.error();
}

}  // namespace
