// The devnet's chain-side tasks, used by the Devnet class (devnet/devnet.cpp): deploying and
// configuring Ferry's contracts with a dev account, sending packets as fast as anvil takes
// them, and reading Inbox.delivered for many packets in batched calls.
#pragma once

#include "chains/evm/deployment.hpp"
#include "chains/evm/rpc_client.hpp"
#include "chains/task.hpp"
#include "devnet/devnet.hpp"

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace ferry::devnet {

namespace evm = chains::evm;
using chains::Task;

/// Deploys the Outbox, the Inbox and the TestRecipient on `chain` from `owner`; fills in
/// their addresses.
Task<AppResult<void>> deploy_contracts(evm::RpcClient& rpc, DevnetChain& chain, DevAccount owner);

/// Inbox.configureSource for `source` on `chain`'s Inbox.
Task<AppResult<void>> configure_inbox(evm::RpcClient& rpc, const DevnetChain& chain,
                                      DevAccount owner, evm::SourceSpec source);

/// Inbox.delivered(id) on `inbox`.
Task<AppResult<bool>> delivered_task(evm::RpcClient& rpc, crypto::Address inbox,
                                     crypto::PacketId id);

/// Sends `count` packets from `src` to `dst`'s TestRecipient, or packet k (1-based) to
/// `recipient_of(k)` when given (see Devnet::send_packets).
Task<AppResult<std::vector<SentPacket>>> send_packets_task(
    evm::RpcClient& rpc, const DevnetChain& src, const DevnetChain& dst, DevAccount sender,
    std::size_t count, std::string body_prefix,
    std::function<crypto::Address(std::size_t)> recipient_of = {});

/// The entries of `indices` whose packet Inbox.delivered reports true.
Task<AppResult<std::vector<std::size_t>>> check_delivered(evm::RpcClient& rpc,
                                                          crypto::Address inbox,
                                                          std::span<const SentPacket> packets,
                                                          std::vector<std::size_t> indices);

}  // namespace ferry::devnet
