// What devnet/devnet.cpp (chains, deployment, configs, packets) and devnet/nodes.cpp (the
// child `ferry` nodes) share inside the Devnet class.
#pragma once

#include "chains/evm/rpc_client.hpp"
#include "devnet/devnet.hpp"
#include "devnet/process.hpp"

#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::devnet {

/// The line a `ferry start` node prints once its API listens.
inline constexpr std::string_view kListeningLine = "ferry: listening on ";
inline constexpr std::string_view kRelayerName = "relayer";

struct Devnet::Impl {
    boost::asio::io_context io;
    std::vector<AnvilNode> anvils;                            // one per chain, in chain order
    std::vector<chains::evm::RpcClient> rpcs;                 // one per chain, in chain order
    std::map<std::string, std::uint16_t, std::less<>> ports;  // API port per node name
    std::map<std::string, ChildProcess, std::less<>> nodes;   // running ferry nodes
    bool deployed = false;
    bool configs_written = false;
};

/// "validator-<i>-<chain>": the node name of validator i for `chain`.
inline std::string validator_node_name(std::size_t i, std::string_view chain) {
    return "validator-" + std::to_string(i) + "-" + std::string(chain);
}

inline std::string loopback_url(std::uint16_t port) {
    return "http://127.0.0.1:" + std::to_string(port);
}

}  // namespace ferry::devnet
