// Proves https endpoints verify certificates: an untrusted or mismatched one fails clearly, a
// trusted CA works.
#include "chains/evm/rpc_client.hpp"
#include "tests/support/http_test_server.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

using namespace ferry::chains::evm;
using namespace std::chrono_literals;
using ferry::test::HttpReply;
using ferry::test::HttpRequest;
using ferry::test::HttpTestServer;
using ferry::test::TlsFiles;
using nlohmann::json;
using Code = RpcError::Code;

namespace {

template <class T>
T run(boost::asio::io_context& ioc, ferry::chains::Task<T> task) {
    auto future = boost::asio::co_spawn(ioc, std::move(task), boost::asio::use_future);
    ioc.restart();
    ioc.run();
    return future.get();
}

HttpReply chain_id_answer(const HttpRequest& r) {
    const json req = json::parse(r.body);
    return HttpReply::json(
        json{{"jsonrpc", "2.0"}, {"id", req["id"]}, {"result", "0x1092"}}.dump());
}

/// Self-signed certificates made by the openssl tool in a fresh temp dir per test.
class RpcTls : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "ferry-tls-XXXXXX").string();
        ASSERT_NE(mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    void TearDown() override {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }

    /// A P-256 self-signed certificate whose subjectAltName is `san` ("IP:127.0.0.1").
    TlsFiles make_cert(const std::string& name, const std::string& san) {
        const TlsFiles files{(dir_ / (name + ".crt")).string(), (dir_ / (name + ".key")).string()};
        const std::string cmd =
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
            " -subj /CN=ferry-test -addext subjectAltName=" +
            san + " -keyout " + files.key_file + " -out " + files.cert_file + " >/dev/null 2>&1";
        if (std::system(cmd.c_str()) != 0) ADD_FAILURE() << "openssl failed: " << cmd;
        return files;
    }

    RpcClientConfig config(const std::string& url, const std::string& ca_file = {}) {
        RpcClientConfig c;
        c.endpoints = {url};
        c.http.connect_timeout = 2s;  // key exchange on a loaded machine
        c.http.request_timeout = 2s;
        c.http.extra_ca_file = ca_file;
        return c;
    }

    std::filesystem::path dir_;
};

using rpc_tls = RpcTls;

}  // namespace

TEST_F(rpc_tls, untrusted_certificate_fails_verification) {
    const TlsFiles cert = make_cert("server", "IP:127.0.0.1");
    HttpTestServer server(chain_id_answer, cert);
    ASSERT_EQ(server.url().substr(0, 8), "https://");
    boost::asio::io_context ioc;
    auto client = RpcClient::create(ioc.get_executor(), config(server.url())).value();
    const auto r = run(ioc, client.chain_id());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Code::tls_failed);
    EXPECT_EQ(r.error().kind, RpcError::Kind::transient);
    EXPECT_NE(r.error().message.find("certificate"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("self-signed"), std::string::npos) << r.error().message;
    EXPECT_EQ(server.requests(), 0u);
}

TEST_F(rpc_tls, trusted_ca_file_makes_it_work) {
    const TlsFiles cert = make_cert("server", "IP:127.0.0.1");
    HttpTestServer server(chain_id_answer, cert);
    boost::asio::io_context ioc;
    auto client =
        RpcClient::create(ioc.get_executor(), config(server.url(), cert.cert_file)).value();
    const auto r = run(ioc, client.chain_id());
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(*r, 4242u);
    EXPECT_EQ(run(ioc, client.chain_id()).value(), 4242u);
    EXPECT_EQ(server.connections(), 1u);  // kept alive over TLS
}

TEST_F(rpc_tls, certificate_for_another_host_fails_even_when_trusted) {
    const TlsFiles cert = make_cert("other", "DNS:other.invalid");
    HttpTestServer server(chain_id_answer, cert);
    boost::asio::io_context ioc;
    auto client =
        RpcClient::create(ioc.get_executor(), config(server.url(), cert.cert_file)).value();
    const auto r = run(ioc, client.chain_id());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Code::tls_failed);
    EXPECT_NE(r.error().message.find("certificate"), std::string::npos) << r.error().message;
}

TEST_F(rpc_tls, unreadable_ca_file_is_a_configuration_error) {
    boost::asio::io_context ioc;
    const auto r = RpcClient::create(
        ioc.get_executor(), config("https://127.0.0.1:1/", (dir_ / "missing.pem").string()));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Code::invalid_argument);
    EXPECT_NE(r.error().message.find("missing.pem"), std::string::npos);
}
