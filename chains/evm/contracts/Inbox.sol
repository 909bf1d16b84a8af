// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

import {IFerryRecipient} from "./IFerryRecipient.sol";

/// @title Ferry Inbox: the destination-chain end of a route (protocol v1, DESIGN.md §2).
/// @notice Accepts packets attested by a threshold of a source's validators, at most once each (and
///         in nonce order on an ordered source), and hands each body to its recipient.
contract Inbox {
    /// One slot per source chain. `outbox == address(0)` means not configured.
    struct Source {
        address outbox;
        uint8 threshold;
        bool ordered;
        uint64 nextNonce; // next nonce an ordered source accepts; 1 after the first configuration
    }

    /// Outcome of the checks shared by `deliver` and `deliverBatch`, in the order they run.
    enum Status {
        Ok,
        PacketTooShort,
        UnsupportedVersion,
        WrongDestination,
        UnknownSource,
        PacketExpired,
        BadSignatureCount,
        MalformedSignature,
        UnknownSigner,
        SignersNotAscending,
        AlreadyDelivered,
        NonceOutOfOrder
    }

    uint8 public constant VERSION = 1;

    /// Bytes before the body: version, nonce, source, sender, destination, recipient, expiry.
    uint256 private constant HEADER_SIZE = 97;
    uint256 private constant SIGNATURE_SIZE = 65;
    /// secp256k1 n / 2: the largest `s` accepted (EIP-2).
    uint256 private constant HALF_N =
        0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;
    /// Gas kept on top of 64/63 of `handleGasLimit`: the call itself and the work after it.
    uint256 private constant GAS_MARGIN = 10_000;

    uint8 private constant STATE_DELIVERED = 1;
    uint8 private constant STATE_FAILED = 2; // delivered, but the recipient reverted

    address public owner;
    /// Gas each `handle` call gets; a delivery needs more than 64/63 of it left before the call.
    uint64 public handleGasLimit;

    mapping(uint64 srcChainId => Source) private _sources;
    mapping(uint64 srcChainId => address[]) private _validators;
    mapping(uint64 srcChainId => mapping(address validator => bool)) private _isValidator;
    /// 0: not delivered, else STATE_DELIVERED or STATE_FAILED.
    mapping(bytes32 id => uint8) private _state;

    event PacketDelivered(
        bytes32 indexed id, uint64 indexed srcChainId, uint64 indexed nonce, bool success
    );
    /// `reason` is the name of the error `deliver` would revert with, e.g. "PacketExpired".
    event PacketRejected(bytes32 indexed id, string reason);
    event PacketRetried(bytes32 indexed id, uint64 indexed srcChainId, uint64 indexed nonce);
    event SourceConfigured(
        uint64 indexed srcChainId,
        address outbox,
        address[] validators,
        uint8 threshold,
        bool ordered
    );
    event NextInboundNonceSet(uint64 indexed srcChainId, uint64 nonce);
    event HandleGasLimitSet(uint64 handleGasLimit);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    // One error per failed check, in check order.
    error PacketTooShort();
    error UnsupportedVersion();
    error WrongDestination();
    error UnknownSource();
    error PacketExpired();
    error BadSignatureCount();
    error MalformedSignature();
    error UnknownSigner();
    error SignersNotAscending();
    error AlreadyDelivered();
    error NonceOutOfOrder();
    // Other failures.
    error InsufficientGas();
    error LengthMismatch();
    error NotFailed(bytes32 id);
    error RecipientReverted(bytes32 id, bytes reason);
    error NotOwner();
    error ZeroAddress();
    error InvalidThreshold();
    error DuplicateValidator(address validator);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    constructor(uint64 handleGasLimit_) {
        owner = msg.sender;
        handleGasLimit = handleGasLimit_;
        emit OwnershipTransferred(address(0), msg.sender);
        emit HandleGasLimitSet(handleGasLimit_);
    }

    // ---------------------------------------------------------------- administration

    /// @notice Sets (or replaces) the Outbox and validator set accepted from `srcChainId`.
    /// @dev Keeps the ordered-route nonce unless the Outbox changes (a new Outbox starts at 1).
    function configureSource(
        uint64 srcChainId,
        address outbox,
        address[] calldata validators,
        uint8 threshold,
        bool ordered
    ) external onlyOwner {
        if (outbox == address(0)) revert ZeroAddress();
        if (threshold == 0 || threshold > validators.length) revert InvalidThreshold();

        mapping(address => bool) storage members = _isValidator[srcChainId];
        address[] storage list = _validators[srcChainId];
        for (uint256 i = 0; i < list.length; ++i) {
            members[list[i]] = false;
        }
        delete _validators[srcChainId];
        for (uint256 i = 0; i < validators.length; ++i) {
            address validator = validators[i];
            if (validator == address(0)) revert ZeroAddress();
            if (members[validator]) revert DuplicateValidator(validator);
            members[validator] = true;
            list.push(validator);
        }

        Source storage source = _sources[srcChainId];
        uint64 nextNonce = source.nextNonce;
        if (nextNonce == 0 || source.outbox != outbox) nextNonce = 1;
        _sources[srcChainId] = Source(outbox, threshold, ordered, nextNonce);
        emit SourceConfigured(srcChainId, outbox, validators, threshold, ordered);
    }

    /// @notice Moves an ordered source's expected nonce, e.g. past a packet that expired before
    ///         delivery and would otherwise block the route.
    function setNextInboundNonce(uint64 srcChainId, uint64 nonce) external onlyOwner {
        Source storage source = _sources[srcChainId];
        if (source.outbox == address(0)) revert UnknownSource();
        source.nextNonce = nonce;
        emit NextInboundNonceSet(srcChainId, nonce);
    }

    function setHandleGasLimit(uint64 handleGasLimit_) external onlyOwner {
        handleGasLimit = handleGasLimit_;
        emit HandleGasLimitSet(handleGasLimit_);
    }

    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZeroAddress();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    // ---------------------------------------------------------------- delivery

    /// @notice Delivers one packet; reverts with the error of the first check that fails.
    /// @param signatures threshold-many 65-byte r‖s‖v signatures, in ascending signer order.
    function deliver(bytes calldata packet, bytes calldata signatures) external {
        (Status status, bytes32 id) = _check(packet, signatures);
        if (status != Status.Ok) _revertWith(status);
        _accept(packet, id);
    }

    /// @notice Delivers each packet in turn. An already delivered packet is skipped silently; one
    ///         that fails another check emits PacketRejected and the batch goes on.
    function deliverBatch(bytes[] calldata packets, bytes[] calldata signatures) external {
        if (packets.length != signatures.length) revert LengthMismatch();
        for (uint256 i = 0; i < packets.length; ++i) {
            bytes calldata packet = packets[i];
            (Status status, bytes32 id) = _check(packet, signatures[i]);
            if (status == Status.Ok) {
                _accept(packet, id);
            } else if (status != Status.AlreadyDelivered) {
                emit PacketRejected(id, _reason(status));
            }
        }
    }

    /// @notice Calls the recipient of a packet whose delivery failed once more, with the same gas.
    ///         Anyone may call it. Reverts with RecipientReverted if the recipient fails again.
    function retryFailed(bytes calldata packet) external {
        bytes32 id = keccak256(packet);
        if (_state[id] != STATE_FAILED) revert NotFailed(id);
        _state[id] = STATE_DELIVERED; // before the call: a re-entering retry finds nothing to do
        if (!_callRecipient(packet)) {
            // The recipient call is the only call this frame made, so the return data is its.
            bytes memory reason = new bytes(_returnDataSize());
            assembly ("memory-safe") {
                returndatacopy(add(reason, 32), 0, mload(reason))
            }
            revert RecipientReverted(id, reason);
        }
        emit PacketRetried(id, _u64(packet, 9), _u64(packet, 1));
    }

    // ---------------------------------------------------------------- views

    /// True once a packet was accepted, whether or not its recipient succeeded.
    function delivered(bytes32 id) external view returns (bool) {
        return _state[id] != 0;
    }

    /// True while a packet's recipient call has failed and not yet succeeded on retry.
    function failed(bytes32 id) external view returns (bool) {
        return _state[id] == STATE_FAILED;
    }

    /// The nonce an ordered source must deliver next; 0 when the source is not configured.
    function nextInboundNonce(uint64 srcChainId) external view returns (uint64) {
        return _sources[srcChainId].nextNonce;
    }

    function validatorSet(uint64 srcChainId)
        external
        view
        returns (address outbox, address[] memory validators, uint8 threshold, bool ordered)
    {
        Source storage source = _sources[srcChainId];
        return (source.outbox, _validators[srcChainId], source.threshold, source.ordered);
    }

    // ---------------------------------------------------------------- internals

    /// The checks of DESIGN.md §2, in its order. Reads state only.
    function _check(bytes calldata packet, bytes calldata signatures)
        private
        view
        returns (Status, bytes32 id)
    {
        id = keccak256(packet);
        if (packet.length == 0) return (Status.PacketTooShort, id);
        if (uint8(packet[0]) != VERSION) return (Status.UnsupportedVersion, id);
        if (packet.length < HEADER_SIZE) return (Status.PacketTooShort, id);
        if (_u64(packet, 49) != block.chainid) return (Status.WrongDestination, id);

        uint64 srcChainId = _u64(packet, 9);
        Source memory source = _sources[srcChainId];
        if (source.outbox == address(0)) return (Status.UnknownSource, id);

        uint64 expiry = _u64(packet, 89);
        if (expiry != 0 && block.timestamp > expiry) return (Status.PacketExpired, id);

        Status status =
            _checkSignatures(id, srcChainId, source.outbox, source.threshold, signatures);
        if (status != Status.Ok) return (status, id);

        if (_state[id] != 0) return (Status.AlreadyDelivered, id);
        if (source.ordered && _u64(packet, 1) != source.nextNonce) {
            return (Status.NonceOutOfOrder, id);
        }
        return (Status.Ok, id);
    }

    function _checkSignatures(
        bytes32 id,
        uint64 srcChainId,
        address outbox,
        uint256 threshold,
        bytes calldata signatures
    ) private view returns (Status) {
        if (signatures.length != threshold * SIGNATURE_SIZE) return Status.BadSignatureCount;
        bytes32 domain = keccak256(abi.encodePacked(srcChainId, outbox, "FERRY"));
        bytes32 message = keccak256(abi.encodePacked(domain, id));
        bytes32 digest = keccak256(abi.encodePacked("\x19Ethereum Signed Message:\n32", message));

        mapping(address => bool) storage members = _isValidator[srcChainId];
        address previous = address(0);
        for (uint256 i = 0; i < threshold; ++i) {
            bytes32 r;
            bytes32 s;
            uint8 v;
            assembly ("memory-safe") {
                let p := add(signatures.offset, mul(i, SIGNATURE_SIZE))
                r := calldataload(p)
                s := calldataload(add(p, 32))
                v := byte(0, calldataload(add(p, 64)))
            }
            if ((v != 27 && v != 28) || uint256(s) > HALF_N) return Status.MalformedSignature;
            address signer = ecrecover(digest, v, r, s);
            if (signer == address(0)) return Status.MalformedSignature;
            if (!members[signer]) return Status.UnknownSigner;
            if (signer <= previous) return Status.SignersNotAscending;
            previous = signer;
        }
        return Status.Ok;
    }

    /// Records a checked packet as delivered, then calls its recipient.
    function _accept(bytes calldata packet, bytes32 id) private {
        uint64 srcChainId = _u64(packet, 9);
        uint64 nonce = _u64(packet, 1);
        // Effects before the call, so a re-entering recipient cannot deliver the packet again.
        _state[id] = STATE_DELIVERED;
        Source storage source = _sources[srcChainId];
        if (source.ordered) source.nextNonce = nonce + 1;
        bool success = _callRecipient(packet);
        if (!success) _state[id] = STATE_FAILED;
        emit PacketDelivered(id, srcChainId, nonce, success);
    }

    /// Calls `handle` on the packet's recipient with exactly `handleGasLimit` gas. False when the
    /// recipient reverts, runs out of gas, has no code, or is not a 20-byte address.
    function _callRecipient(bytes calldata packet) private returns (bool success) {
        uint256 word = uint256(_b32(packet, 57));
        if (word >> 160 != 0) return false;
        address recipient = address(uint160(word));
        if (recipient.code.length == 0) return false;

        bytes memory data = abi.encodeCall(
            IFerryRecipient.handle, (_u64(packet, 9), _b32(packet, 17), packet[HEADER_SIZE:])
        );
        uint256 gasLimit = handleGasLimit;
        // 63/64 rule (EIP-150): the callee gets at most 63/64 of what is left, so a relayer could
        // otherwise starve it and have the packet marked failed. Refuse the whole call instead.
        if (gasleft() < gasLimit * 64 / 63 + GAS_MARGIN) revert InsufficientGas();
        assembly ("memory-safe") {
            // No return data is copied: a recipient cannot make us pay for a large one.
            success := call(gasLimit, recipient, 0, add(data, 32), mload(data), 0, 0)
        }
    }

    function _revertWith(Status status) private pure {
        if (status == Status.PacketTooShort) revert PacketTooShort();
        if (status == Status.UnsupportedVersion) revert UnsupportedVersion();
        if (status == Status.WrongDestination) revert WrongDestination();
        if (status == Status.UnknownSource) revert UnknownSource();
        if (status == Status.PacketExpired) revert PacketExpired();
        if (status == Status.BadSignatureCount) revert BadSignatureCount();
        if (status == Status.MalformedSignature) revert MalformedSignature();
        if (status == Status.UnknownSigner) revert UnknownSigner();
        if (status == Status.SignersNotAscending) revert SignersNotAscending();
        if (status == Status.AlreadyDelivered) revert AlreadyDelivered();
        revert NonceOutOfOrder();
    }

    function _reason(Status status) private pure returns (string memory) {
        if (status == Status.PacketTooShort) return "PacketTooShort";
        if (status == Status.UnsupportedVersion) return "UnsupportedVersion";
        if (status == Status.WrongDestination) return "WrongDestination";
        if (status == Status.UnknownSource) return "UnknownSource";
        if (status == Status.PacketExpired) return "PacketExpired";
        if (status == Status.BadSignatureCount) return "BadSignatureCount";
        if (status == Status.MalformedSignature) return "MalformedSignature";
        if (status == Status.UnknownSigner) return "UnknownSigner";
        if (status == Status.SignersNotAscending) return "SignersNotAscending";
        if (status == Status.AlreadyDelivered) return "AlreadyDelivered";
        return "NonceOutOfOrder";
    }

    /// Big-endian uint64 at `offset`; the caller has checked the packet is long enough.
    function _u64(bytes calldata packet, uint256 offset) private pure returns (uint64 value) {
        assembly ("memory-safe") {
            value := shr(192, calldataload(add(packet.offset, offset)))
        }
    }

    function _b32(bytes calldata packet, uint256 offset) private pure returns (bytes32 value) {
        assembly ("memory-safe") {
            value := calldataload(add(packet.offset, offset))
        }
    }

    function _returnDataSize() private pure returns (uint256 size) {
        assembly ("memory-safe") {
            size := returndatasize()
        }
    }
}
