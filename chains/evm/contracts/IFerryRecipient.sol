// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

/// @title Receiver of Ferry packets (protocol v1, DESIGN.md §2).
/// @notice The Inbox calls `handle` once per delivered packet with a fixed gas allowance. A
///         recipient that reverts gets its packet marked failed, to be retried with
///         `Inbox.retryFailed`. A recipient should check that `msg.sender` is the Inbox it trusts
///         and that (`srcChainId`, `sender`) is a source it expects.
interface IFerryRecipient {
    /// @param srcChainId EIP-155 id of the chain the packet was sent from.
    /// @param sender     the account that called `Outbox.send`, left-padded to 32 bytes.
    /// @param body       the packet body, as given to `Outbox.send`.
    function handle(uint64 srcChainId, bytes32 sender, bytes calldata body) external;
}
