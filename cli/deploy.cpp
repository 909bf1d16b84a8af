#include "cli/deploy.hpp"

#include "chains/evm/contracts.hpp"
#include "chains/evm/deployment.hpp"
#include "chains/evm/tx_sender.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

namespace ferry::cli {

namespace {

namespace evm = chains::evm;
using chains::Task;
using evm::SourceSpec;
using evm::TxSender;

constexpr std::string_view kCommand = "deploy";

class Progress {
public:
    explicit Progress(std::size_t total) : total_(total) {}
    void start(const std::string& what) {
        ++step_;
        std::cout << '[' << step_ << '/' << total_ << "] " << what << " ... " << std::flush;
    }
    void done(const std::string& what) { std::cout << what << std::endl; }
    void failed() { std::cout << "failed" << std::endl; }

private:
    std::size_t total_;
    std::size_t step_ = 0;
};

Task<int> deploy(boost::asio::any_io_executor executor, const DeployOptions& options) {
    const bool both = !options.outbox && !options.inbox;
    const bool want_outbox = both || options.outbox;
    const bool want_inbox = both || options.inbox;

    std::vector<SourceSpec> sources;
    for (const auto& text : options.sources) {
        auto spec = parse_source(text);
        if (!spec) {
            print_error(kCommand, spec.error().message);
            co_return kExitFailure;
        }
        sources.push_back(std::move(*spec));
    }
    if (!sources.empty() && !want_inbox) {
        print_error(kCommand, "--source configures the Inbox, but --outbox alone deploys none");
        co_return kExitUsage;
    }
    const std::filesystem::path out_path(options.out);
    {
        std::error_code ec;
        const auto dir = out_path.parent_path();
        if (!dir.empty() && !std::filesystem::is_directory(dir, ec)) {
            print_error(kCommand, "--out: directory " + dir.string() + " does not exist");
            co_return kExitFailure;
        }
    }
    auto client = co_await open_signing_client(executor, options.key, options.rpc);
    if (!client) {
        print_error(kCommand, client.error().message);
        co_return kExitFailure;
    }
    const Signer* signer = &client->signer;
    chains::evm::RpcClient* rpc = &client->rpc;
    const std::uint64_t* chain_id = &client->chain_id;
    TxSender sender(*rpc, crypto::ChainId{*chain_id}, signer->key, signer->address);

    nlohmann::ordered_json result;
    result["chainId"] = *chain_id;
    result["deployer"] = signer->address.hex();
    nlohmann::ordered_json blocks = nlohmann::ordered_json::object();

    Progress progress(std::size_t{want_outbox} + std::size_t{want_inbox} + sources.size());
    std::cout << "deploying to chain " << *chain_id << " from " << signer->address.hex()
              << std::endl;

    const auto deploy_one = [&](evm::Contract contract,
                                crypto::Bytes args) -> Task<std::optional<evm::Receipt>> {
        const std::string name(evm::contract_name(contract));
        progress.start("deploying " + name);
        auto receipt = co_await evm::deploy_contract(sender, contract, std::move(args));
        if (!receipt) {
            progress.failed();
            print_error(kCommand, "deploying " + name +
                                      " failed: " + evm::describe_chain_error(receipt.error()));
            co_return std::nullopt;
        }
        progress.done(receipt->contract_address->hex() + " (block " +
                      std::to_string(receipt->block_number) + ")");
        co_return std::move(*receipt);
    };

    if (want_outbox) {
        auto receipt = co_await deploy_one(evm::Contract::outbox,
                                           evm::outbox_constructor_args(options.max_body_bytes));
        if (!receipt) co_return kExitFailure;
        result["outbox"] = receipt->contract_address->hex();
        blocks["outbox"] = receipt->block_number;
    }
    std::optional<crypto::Address> inbox;
    if (want_inbox) {
        auto receipt = co_await deploy_one(evm::Contract::inbox,
                                           evm::inbox_constructor_args(options.handle_gas_limit));
        if (!receipt) co_return kExitFailure;
        inbox = *receipt->contract_address;
        result["inbox"] = inbox->hex();
        blocks["inbox"] = receipt->block_number;
    }
    nlohmann::ordered_json configured = nlohmann::ordered_json::array();
    for (const auto& source : sources) {
        progress.start("configuring source " + std::to_string(crypto::to_u64(source.chain_id)) +
                       " on the Inbox");
        auto receipt = co_await evm::configure_source(sender, *inbox, source);
        if (!receipt) {
            progress.failed();
            print_error(kCommand, "configuring source " +
                                      std::to_string(crypto::to_u64(source.chain_id)) +
                                      " failed: " + evm::describe_chain_error(receipt.error()));
            co_return kExitFailure;
        }
        progress.done("tx " + receipt->tx_hash.hex() + " (block " +
                      std::to_string(receipt->block_number) + ")");
        nlohmann::ordered_json validators = nlohmann::ordered_json::array();
        for (const auto& v : source.validators) validators.push_back(v.hex());
        configured.push_back({{"chainId", crypto::to_u64(source.chain_id)},
                              {"outbox", source.outbox.hex()},
                              {"validators", std::move(validators)},
                              {"threshold", source.threshold},
                              {"ordered", source.ordered},
                              {"block", receipt->block_number}});
    }
    result["blocks"] = std::move(blocks);
    if (want_inbox) result["sources"] = std::move(configured);

    const std::string text = result.dump(2) + "\n";
    std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
        print_error(kCommand,
                    "cannot write --out " + out_path.string() + "; the deployment was:\n" + text);
        co_return kExitFailure;
    }
    std::cout << "wrote " << out_path.string() << std::endl;
    co_return kExitOk;
}

}  // namespace

CLI::App* add_deploy_command(CLI::App& app, DeployOptions& options) {
    auto* cmd = app.add_subcommand(
        "deploy",
        "Deploy the Outbox and/or the Inbox to a chain, configure the Inbox's sources and write "
        "the addresses to a deployment JSON file");
    cmd->footer(
        "Deploys both contracts unless --outbox or --inbox narrows it. Each transaction is "
        "EIP-1559 (tip from eth_maxPriorityFeePerGas, fee cap 2 x base fee + tip, gas "
        "estimate x 1.2) and is awaited before the next.\n"
        "Output file: {\"chainId\":..,\"deployer\":\"0x..\",\"outbox\":\"0x..\",\"inbox\":\"0x..\","
        "\"blocks\":{\"outbox\":N,\"inbox\":N},\"sources\":[...]}\n"
        "Example:\n  FERRY_KEY=0x... ferry deploy --rpc http://127.0.0.1:8545 --key-env FERRY_KEY "
        "\\\n    --source 31338:0xOutbox:0xVal1,0xVal2,0xVal3:2:ordered --out deployment.json");
    add_rpc_options(*cmd, options.rpc);
    add_key_options(*cmd, options.key);
    cmd->add_flag("--outbox", options.outbox, "deploy the Outbox");
    cmd->add_flag("--inbox", options.inbox, "deploy the Inbox");
    cmd->add_option("--max-body-bytes", options.max_body_bytes,
                    "the Outbox's largest packet body in bytes")
        ->capture_default_str()
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 32));
    cmd->add_option("--handle-gas-limit", options.handle_gas_limit,
                    "gas the Inbox gives the recipient's handle() call; every delivery reserves "
                    "all of it per packet, so it bounds packets per block")
        ->capture_default_str()
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 40));
    cmd->add_option("--source", options.sources,
                    "configure a source on the Inbox: "
                    "\"srcChainId:outbox:val1,val2,...:threshold:ordered|unordered\" (repeatable)")
        ->take_all();
    cmd->add_option("--out", options.out, "deployment JSON file to write")->required();
    return cmd;
}

int run_deploy(const DeployOptions& options) {
    return run_task(kCommand, [&options](boost::asio::any_io_executor executor) {
        return deploy(std::move(executor), options);
    });
}

}  // namespace ferry::cli
