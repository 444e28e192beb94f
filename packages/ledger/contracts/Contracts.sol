// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Registry} from "./Registry.sol";

/// @title Veil contract registry
/// @notice Contract code (uploaded as calldata and carried in an event, so every worker can fetch it),
/// deployments to a cluster, ownership, delayed upgrades and the keys the KMS publishes per contract.
contract Contracts {
    struct Code {
        uint32 size;
        uint64 blockNumber; // where the CodeUploaded event carrying the bytes was emitted
        address uploader;
    }

    struct ContractInfo {
        address owner;
        uint64 cluster;
        uint64 deployedAt; // block number
        bytes32 codeHash;
        uint64 upgradeDelay; // seconds between scheduling and applying an upgrade
        uint64 pendingReadyAt; // timestamp from which the pending upgrade may be applied
        bytes32 pendingCodeHash; // zero when no upgrade is pending
        bytes32 x25519PublicKey; // zero until the KMS has published the contract's keys
        address signer; // the contract's own secp256k1 address
    }

    uint256 public constant MAX_CODE_BYTES = 512 * 1024;
    uint256 public constant MAX_INIT_PAYLOAD_BYTES = 128 * 1024;
    uint64 public constant MAX_UPGRADE_DELAY = 30 days;

    Registry public immutable registry;
    uint64 public contractCount;

    mapping(bytes32 codeHash => Code) private _codes;
    mapping(uint64 contractId => ContractInfo) private _contracts;

    event CodeUploaded(bytes32 indexed codeHash, address indexed uploader, bytes code);
    event ContractDeployed(
        uint64 indexed contractId,
        uint64 indexed cluster,
        address indexed owner,
        bytes32 codeHash,
        uint64 upgradeDelay,
        bytes initPayload
    );
    event UpgradeScheduled(uint64 indexed contractId, bytes32 codeHash, uint64 readyAt);
    event UpgradeCancelled(uint64 indexed contractId, bytes32 codeHash);
    event ContractUpgraded(uint64 indexed contractId, bytes32 previousCodeHash, bytes32 codeHash);
    event ContractOwnershipTransferred(uint64 indexed contractId, address indexed previousOwner, address indexed newOwner);
    event ContractKeysSet(uint64 indexed contractId, bytes32 x25519PublicKey, address signer);

    error EmptyCode();
    error CodeTooLarge(uint256 size, uint256 max);
    error UnknownCode(bytes32 codeHash);
    error UnknownCluster(uint64 cluster);
    error UnknownContract(uint64 contractId);
    error NotContractOwner(uint64 contractId, address account);
    error NotKmsSigner(address account);
    error InitPayloadTooLarge(uint256 size, uint256 max);
    error UpgradeDelayTooLong(uint64 delay, uint64 max);
    error NoPendingUpgrade(uint64 contractId);
    error UpgradeNotReady(uint64 contractId, uint64 readyAt);
    error InvalidAddress();
    error InvalidPublicKey();

    modifier onlyContractOwner(uint64 contractId) {
        ContractInfo storage c = _existing(contractId);
        if (c.owner != msg.sender) revert NotContractOwner(contractId, msg.sender);
        _;
    }

    constructor(Registry registry_) {
        registry = registry_;
    }

    /// @notice Uploads contract code. Idempotent: uploading known code returns its hash without a new event.
    function uploadCode(bytes calldata code) external returns (bytes32 codeHash) {
        if (code.length == 0) revert EmptyCode();
        if (code.length > MAX_CODE_BYTES) revert CodeTooLarge(code.length, MAX_CODE_BYTES);
        codeHash = keccak256(code);
        if (_codes[codeHash].size != 0) return codeHash;
        _codes[codeHash] = Code({size: uint32(code.length), blockNumber: uint64(block.number), uploader: msg.sender});
        emit CodeUploaded(codeHash, msg.sender, code);
    }

    /// @notice Deploys uploaded code to a cluster; the caller owns the new contract.
    /// @param upgradeDelay Seconds an upgrade must stay pending (visible to users) before it applies; fixed here.
    function deploy(uint64 cluster, bytes32 codeHash, bytes calldata initPayload, uint64 upgradeDelay)
        external
        returns (uint64 contractId)
    {
        if (!registry.clusterExists(cluster)) revert UnknownCluster(cluster);
        if (_codes[codeHash].size == 0) revert UnknownCode(codeHash);
        if (initPayload.length > MAX_INIT_PAYLOAD_BYTES) {
            revert InitPayloadTooLarge(initPayload.length, MAX_INIT_PAYLOAD_BYTES);
        }
        if (upgradeDelay > MAX_UPGRADE_DELAY) revert UpgradeDelayTooLong(upgradeDelay, MAX_UPGRADE_DELAY);
        contractId = ++contractCount;
        ContractInfo storage c = _contracts[contractId];
        c.owner = msg.sender;
        c.cluster = cluster;
        c.deployedAt = uint64(block.number);
        c.codeHash = codeHash;
        c.upgradeDelay = upgradeDelay;
        emit ContractDeployed(contractId, cluster, msg.sender, codeHash, upgradeDelay, initPayload);
    }

    /// @notice Upgrades the code, at once when the contract has no delay, otherwise schedules it.
    /// Scheduling again replaces the pending upgrade and restarts its delay.
    function upgrade(uint64 contractId, bytes32 codeHash) external onlyContractOwner(contractId) {
        if (_codes[codeHash].size == 0) revert UnknownCode(codeHash);
        ContractInfo storage c = _contracts[contractId];
        if (c.upgradeDelay == 0) {
            _apply(contractId, c, codeHash);
            return;
        }
        uint64 readyAt = uint64(block.timestamp) + c.upgradeDelay;
        c.pendingCodeHash = codeHash;
        c.pendingReadyAt = readyAt;
        emit UpgradeScheduled(contractId, codeHash, readyAt);
    }

    /// @notice Applies a pending upgrade once its delay has passed. Anyone may call it.
    function applyUpgrade(uint64 contractId) external {
        ContractInfo storage c = _existing(contractId);
        if (c.pendingCodeHash == bytes32(0)) revert NoPendingUpgrade(contractId);
        if (block.timestamp < c.pendingReadyAt) revert UpgradeNotReady(contractId, c.pendingReadyAt);
        _apply(contractId, c, c.pendingCodeHash);
    }

    function cancelUpgrade(uint64 contractId) external onlyContractOwner(contractId) {
        ContractInfo storage c = _contracts[contractId];
        bytes32 pending = c.pendingCodeHash;
        if (pending == bytes32(0)) revert NoPendingUpgrade(contractId);
        c.pendingCodeHash = bytes32(0);
        c.pendingReadyAt = 0;
        emit UpgradeCancelled(contractId, pending);
    }

    function transferContractOwnership(uint64 contractId, address newOwner) external onlyContractOwner(contractId) {
        if (newOwner == address(0)) revert InvalidAddress();
        emit ContractOwnershipTransferred(contractId, _contracts[contractId].owner, newOwner);
        _contracts[contractId].owner = newOwner;
    }

    /// @notice Publishes the contract's public keys; only a KMS signer, which derived them, may do so.
    function setContractKeys(uint64 contractId, bytes32 x25519PublicKey, address signer) external {
        if (!registry.isKmsSigner(msg.sender)) revert NotKmsSigner(msg.sender);
        ContractInfo storage c = _existing(contractId);
        if (x25519PublicKey == bytes32(0)) revert InvalidPublicKey();
        if (signer == address(0)) revert InvalidAddress();
        c.x25519PublicKey = x25519PublicKey;
        c.signer = signer;
        emit ContractKeysSet(contractId, x25519PublicKey, signer);
    }

    function exists(uint64 contractId) public view returns (bool) {
        return contractId != 0 && contractId <= contractCount;
    }

    function getContract(uint64 contractId) external view returns (ContractInfo memory) {
        return _existing(contractId);
    }

    function getCode(bytes32 codeHash) external view returns (Code memory) {
        return _codes[codeHash];
    }

    function _existing(uint64 contractId) private view returns (ContractInfo storage c) {
        if (!exists(contractId)) revert UnknownContract(contractId);
        c = _contracts[contractId];
    }

    function _apply(uint64 contractId, ContractInfo storage c, bytes32 codeHash) private {
        bytes32 previous = c.codeHash;
        c.codeHash = codeHash;
        c.pendingCodeHash = bytes32(0);
        c.pendingReadyAt = 0;
        emit ContractUpgraded(contractId, previous, codeHash);
    }
}
