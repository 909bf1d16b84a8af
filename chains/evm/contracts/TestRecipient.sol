// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

import {IFerryRecipient} from "./IFerryRecipient.sol";

/// @title A recipient for tests: records what it receives and can be told to fail.
/// @notice Not for production: anyone may call every function.
contract TestRecipient is IFerryRecipient {
    /// Packets handled so far.
    uint64 public count;
    /// Source chain of the last packet handled.
    uint64 public lastSrcChainId;
    /// When true, `handle` reverts with `Refused`.
    bool public shouldRevert;
    /// Gas `handle` burns before recording, to exercise the Inbox's gas limit.
    uint64 public gasToBurn;
    /// Sender of the last packet handled.
    bytes32 public lastSender;
    /// Body of the last packet handled.
    bytes public lastBody;
    /// How many times a body with this keccak256 was handled.
    mapping(bytes32 bodyHash => uint256 times) public timesReceived;

    event Received(uint64 indexed srcChainId, bytes32 indexed sender, bytes32 indexed bodyHash);

    error Refused();

    function setShouldRevert(bool shouldRevert_) external {
        shouldRevert = shouldRevert_;
    }

    function setGasToBurn(uint64 gasToBurn_) external {
        gasToBurn = gasToBurn_;
    }

    function handle(uint64 srcChainId, bytes32 sender, bytes calldata body) external {
        if (shouldRevert) revert Refused();
        uint256 start = gasleft();
        uint256 burn = gasToBurn;
        while (start - gasleft() < burn) {}
        ++count;
        lastSrcChainId = srcChainId;
        lastSender = sender;
        lastBody = body;
        bytes32 bodyHash = keccak256(body);
        ++timesReceived[bodyHash];
        emit Received(srcChainId, sender, bodyHash);
    }
}
