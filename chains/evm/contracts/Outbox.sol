// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

/// @title Ferry Outbox: the source-chain end of a route (protocol v1, DESIGN.md §2).
/// @notice Numbers packets per destination chain, starting at 1, and emits each one for validators
///         to attest and relayers to carry to the destination chain's Inbox.
contract Outbox {
    /// Protocol version written into the first byte of every packet.
    uint8 public constant VERSION = 1;

    /// Largest body `send` accepts, in bytes (32768 in the default deployment).
    uint256 public immutable maxBodyBytes;

    /// Last nonce used towards each destination chain (0: none yet).
    mapping(uint64 dstChainId => uint64 nonce) private _lastNonce;

    /// `packet` is the packed v1 packet and `id` its keccak256.
    event PacketSent(
        bytes32 indexed id, uint64 indexed dstChainId, uint64 indexed nonce, bytes packet
    );

    error BodyTooLarge(uint256 size, uint256 maxSize);

    constructor(uint256 maxBodyBytes_) {
        maxBodyBytes = maxBodyBytes_;
    }

    /// @notice Sends `body` to `recipient` on chain `dstChainId`.
    /// @param expiry unix seconds after which the Inbox refuses the packet; 0 = never.
    /// @return id keccak256 of the packet.
    function send(uint64 dstChainId, bytes32 recipient, uint64 expiry, bytes calldata body)
        external
        returns (bytes32 id)
    {
        if (body.length > maxBodyBytes) revert BodyTooLarge(body.length, maxBodyBytes);
        uint64 nonce = _lastNonce[dstChainId] + 1;
        _lastNonce[dstChainId] = nonce;
        bytes memory packet = abi.encodePacked(
            VERSION,
            nonce,
            uint64(block.chainid),
            bytes32(uint256(uint160(msg.sender))),
            dstChainId,
            recipient,
            expiry,
            body
        );
        id = keccak256(packet);
        emit PacketSent(id, dstChainId, nonce, packet);
    }

    /// @notice The nonce the next packet towards `dstChainId` will carry.
    function nextNonce(uint64 dstChainId) external view returns (uint64) {
        return _lastNonce[dstChainId] + 1;
    }
}
