#include "cli/send.hpp"

#include "chains/evm/ferry_abi.hpp"
#include "chains/evm/packet.hpp"
#include "chains/evm/tx_sender.hpp"
#include "crypto/hex.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <optional>
#include <string>
#include <utility>

namespace ferry::cli {

using chains::evm::TxRequest;
using chains::evm::TxSender;
namespace {

namespace evm = chains::evm;
using chains::Task;

constexpr std::string_view kCommand = "send";

AppResult<crypto::Hash32> parse_recipient(std::string_view text) {
    auto bytes = crypto::from_hex(text, crypto::HexPrefix::required);
    if (bytes && bytes->size() == crypto::Address::size())
        return evm::address_to_bytes32(crypto::Address::from_bytes(*bytes).value());
    if (bytes && bytes->size() == crypto::Hash32::size())
        return crypto::Hash32::from_bytes(*bytes).value();
    return AppError{"--recipient: '" + std::string(text.substr(0, 80)) +
                    "' is not a 20-byte address or a 32-byte value (0x and 40 or 64 hex digits)"};
}

Task<int> send(boost::asio::any_io_executor executor, const SendOptions& options) {
    auto outbox = parse_address(options.outbox, "--outbox");
    if (!outbox) {
        print_error(kCommand, outbox.error().message);
        co_return kExitFailure;
    }
    auto recipient = parse_recipient(options.recipient);
    if (!recipient) {
        print_error(kCommand, recipient.error().message);
        co_return kExitFailure;
    }
    crypto::Bytes body;
    if (!options.body_hex.empty()) {
        auto decoded = crypto::from_hex(options.body_hex, crypto::HexPrefix::required);
        if (!decoded) {
            print_error(kCommand, "--body-hex: not hex bytes with a 0x prefix (" +
                                      decoded.error().message() + ")");
            co_return kExitFailure;
        }
        body = std::move(*decoded);
    } else {
        body.assign(options.body_text.begin(), options.body_text.end());
    }
    if (options.dst_chain == 0) {
        print_error(kCommand, "--dst-chain: 0 is not a chain id");
        co_return kExitFailure;
    }
    auto client = co_await open_signing_client(executor, options.key, options.rpc);
    if (!client) {
        print_error(kCommand, client.error().message);
        co_return kExitFailure;
    }
    const Signer* signer = &client->signer;
    chains::evm::RpcClient* rpc = &client->rpc;
    const std::uint64_t* chain_id = &client->chain_id;
    nlohmann::json params = nlohmann::json::array();
    params.push_back(outbox->hex());
    params.push_back(std::string("latest"));
    auto code = co_await rpc->request("eth_getCode", std::move(params));
    if (!code) {
        print_error(kCommand, to_chain_error(code.error(), "eth_getCode").message);
        co_return kExitFailure;
    }
    if (!code->is_string() || code->get<std::string>().size() <= 2) {
        print_error(kCommand, "--outbox " + outbox->hex() +
                                  ": no contract at this address on chain " +
                                  std::to_string(*chain_id));
        co_return kExitFailure;
    }
    TxSender sender(*rpc, crypto::ChainId{*chain_id}, signer->key, signer->address);
    TxRequest request;
    request.to = *outbox;
    request.data = evm::outbox_send_calldata(crypto::ChainId{options.dst_chain}, *recipient,
                                             options.expiry, body);
    auto receipt = co_await sender.send_and_wait(std::move(request));
    if (!receipt) {
        std::string message =
            "sending through Outbox " + outbox->hex() + " failed: " + receipt.error().message;
        if (receipt.error().revert_reason)
            message += " (reverted: " + *receipt.error().revert_reason + ")";
        print_error(kCommand, message);
        co_return kExitFailure;
    }

    std::optional<evm::PacketSentEvent> sent;
    const auto topic = evm::packet_sent_topic();
    for (const auto& log : receipt->logs) {
        if (log.address != *outbox || log.topics.empty() || log.topics[0] != topic) continue;
        auto event = evm::decode_packet_sent(log);
        if (!event) {
            print_error(kCommand,
                        "transaction " + receipt->tx_hash.hex() +
                            " has a malformed PacketSent log: " + event.error().message());
            co_return kExitFailure;
        }
        if (auto packet =
                evm::decode_sent_packet(*event, std::max(body.size(), evm::kDefaultMaxBodyBytes));
            !packet) {
            print_error(kCommand,
                        "transaction " + receipt->tx_hash.hex() +
                            " has a PacketSent log with a bad packet: " + packet.error().message());
            co_return kExitFailure;
        }
        sent = std::move(*event);
        break;
    }
    if (!sent) {
        print_error(kCommand, "transaction " + receipt->tx_hash.hex() +
                                  " emitted no PacketSent "
                                  "from " +
                                  outbox->hex() + " (is it an Outbox?)");
        co_return kExitFailure;
    }
    const auto nonce = crypto::to_u64(sent->nonce);
    if (options.json) {
        nlohmann::ordered_json out = {{"id", sent->id.hex()},
                                      {"nonce", nonce},
                                      {"tx", receipt->tx_hash.hex()},
                                      {"block", receipt->block_number},
                                      {"packet", crypto::to_hex(sent->packet)}};
        std::cout << out.dump() << std::endl;
    } else {
        std::cout << "id " << sent->id.hex() << " nonce " << nonce << " tx "
                  << receipt->tx_hash.hex() << " block " << receipt->block_number << std::endl;
    }
    co_return kExitOk;
}

}  // namespace

CLI::App* add_send_command(CLI::App& app, SendOptions& options) {
    auto* cmd =
        app.add_subcommand("send", "Send one packet through an Outbox and print its id and nonce");
    cmd->footer(
        "Waits for the receipt and reads the packet back from its PacketSent log. Prints\n"
        "  id 0x.. nonce N tx 0x.. block B\n"
        "or, with --json, {\"id\":..,\"nonce\":..,\"tx\":..,\"block\":..,\"packet\":..}.\n"
        "Example:\n  FERRY_KEY=0x... ferry send --rpc http://127.0.0.1:8545 --key-env FERRY_KEY "
        "\\\n    --outbox 0x... --dst-chain 31338 --recipient 0x... --body hello");
    add_rpc_options(*cmd, options.rpc);
    add_key_options(*cmd, options.key);
    cmd->add_option("--outbox", options.outbox, "address of the Outbox")->required();
    cmd->add_option("--dst-chain", options.dst_chain, "destination chain id")->required();
    cmd->add_option("--recipient", options.recipient,
                    "recipient on the destination chain: a 20-byte address or 32 bytes, as hex")
        ->required();
    cmd->add_option("--expiry", options.expiry,
                    "unix time after which the packet expires (0: never)")
        ->capture_default_str();
    auto* hex = cmd->add_option("--body-hex", options.body_hex, "packet body as 0x-prefixed hex");
    auto* text = cmd->add_option("--body", options.body_text, "packet body as text (its bytes)");
    hex->excludes(text);
    cmd->add_flag("--json", options.json, "print the result as one JSON object");
    return cmd;
}

int run_send(const SendOptions& options) {
    return run_task(kCommand, [&options](boost::asio::any_io_executor executor) {
        return send(std::move(executor), options);
    });
}

}  // namespace ferry::cli
