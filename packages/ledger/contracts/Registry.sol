// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";

/// @title Veil worker registry
/// @notice Workers, the KMS signers that approve them, the measurement allowlist and the clusters that
/// group workers. A worker registers itself (msg.sender is its TEE-generated identity) with its quote in
/// calldata, so anyone can audit it; a KMS signer that verified the quote off-chain approves it.
/// @dev Every state-changing function is O(1): no loop over workers, signers or cluster members.
contract Registry is Ownable2Step, EIP712 {
    using EnumerableSet for EnumerableSet.AddressSet;

    enum WorkerStatus {
        None,
        Pending,
        Active,
        Offline,
        Revoked
    }

    struct Worker {
        address operator;
        uint64 registeredAt; // block number
        uint64 cluster; // 0 = not in a cluster
        WorkerStatus status;
        bytes32 x25519PublicKey;
        bytes32 measurement;
        bytes32 quoteHash;
        string endpoint;
    }

    uint256 public constant MAX_QUOTE_BYTES = 16 * 1024;

    /// @notice EIP-712 type of a worker's signed answer to a query (see docs/protocol.md).
    bytes32 public constant ANSWER_TYPEHASH =
        keccak256("Answer(bytes32 request,bytes32 response,uint64 contractId,uint64 block)");
    /// @notice One signature over many answers: the Merkle root of their `Answer` struct hashes.
    bytes32 public constant ANSWER_BATCH_TYPEHASH = keccak256("AnswerBatch(bytes32 root)");
    uint256 public constant MAX_ENDPOINT_BYTES = 256;

    /// @notice True while the ledger accepts simulated (development) attestation. Can only be turned off.
    bool public devMode;
    uint64 public clusterCount;

    mapping(address worker => Worker) private _workers;
    EnumerableSet.AddressSet private _allWorkers;
    mapping(bytes32 measurement => bool) public measurementAllowed;
    EnumerableSet.AddressSet private _kmsSigners;
    mapping(uint64 cluster => EnumerableSet.AddressSet) private _clusterMembers;

    event WorkerRegistered(
        address indexed worker,
        address indexed operator,
        bytes32 x25519PublicKey,
        bytes32 measurement,
        string endpoint,
        bytes quote
    );
    event WorkerApproved(address indexed worker, address indexed kmsSigner);
    event WorkerRevoked(address indexed worker, address indexed by);
    event WorkerEndpointUpdated(address indexed worker, string endpoint);
    event MeasurementAllowed(bytes32 indexed measurement);
    event MeasurementDisallowed(bytes32 indexed measurement);
    event KmsSignerAdded(address indexed signer);
    event KmsSignerRemoved(address indexed signer);
    event ClusterCreated(uint64 indexed cluster);
    event ClusterMemberAdded(uint64 indexed cluster, address indexed worker);
    event ClusterMemberRemoved(uint64 indexed cluster, address indexed worker);
    event DevModeDisabled();

    error NotKmsSigner(address account);
    error NotOwnerOrKmsSigner(address account);
    error WorkerAlreadyRegistered(address worker);
    error UnknownWorker(address worker);
    error WorkerNotPending(address worker, WorkerStatus status);
    error WorkerIsRevoked(address worker);
    error InvalidPublicKey();
    error InvalidEndpoint(uint256 length);
    error InvalidQuote(uint256 length);
    error InvalidAddress();
    error MeasurementNotAllowed(bytes32 measurement);
    error UnknownCluster(uint64 cluster);
    error WorkerInCluster(address worker, uint64 cluster);
    error NotClusterMember(uint64 cluster, address worker);
    error DevModeAlreadyDisabled();

    modifier onlyKmsSigner() {
        if (!_kmsSigners.contains(msg.sender)) revert NotKmsSigner(msg.sender);
        _;
    }

    error RenounceDisabled();
    error NotActiveWorker(address signer);

    constructor(address initialOwner, bool devMode_) Ownable(initialOwner) EIP712("Veil", "1") {
        devMode = devMode_;
    }

    /// @notice Disabled: without an owner, measurements, KMS signers and clusters could never change
    /// again. Hand the registry over with transferOwnership / acceptOwnership instead.
    function renounceOwnership() public view override onlyOwner {
        revert RenounceDisabled();
    }

    // ---------------------------------------------------------------- workers

    /// @notice Registers the caller as a pending worker. The quote's report data must bind
    /// keccak256(caller, x25519PublicKey, chain id, this registry); the KMS checks that off-chain.
    function registerWorker(
        bytes32 x25519PublicKey,
        string calldata endpoint,
        bytes32 measurement,
        address operator,
        bytes calldata quote
    ) external {
        if (_workers[msg.sender].status != WorkerStatus.None) revert WorkerAlreadyRegistered(msg.sender);
        if (x25519PublicKey == bytes32(0)) revert InvalidPublicKey();
        _checkEndpoint(endpoint);
        if (quote.length == 0 || quote.length > MAX_QUOTE_BYTES) revert InvalidQuote(quote.length);
        if (operator == address(0)) revert InvalidAddress();

        _workers[msg.sender] = Worker({
            operator: operator,
            registeredAt: uint64(block.number),
            cluster: 0,
            status: WorkerStatus.Pending,
            x25519PublicKey: x25519PublicKey,
            measurement: measurement,
            quoteHash: keccak256(quote),
            endpoint: endpoint
        });
        _allWorkers.add(msg.sender);
        emit WorkerRegistered(msg.sender, operator, x25519PublicKey, measurement, endpoint, quote);
    }

    /// @notice Approves a pending worker whose quote the calling KMS signer has verified.
    function approveWorker(address worker) external onlyKmsSigner {
        Worker storage w = _workers[worker];
        if (w.status != WorkerStatus.Pending) revert WorkerNotPending(worker, w.status);
        if (!measurementAllowed[w.measurement]) revert MeasurementNotAllowed(w.measurement);
        w.status = WorkerStatus.Active;
        emit WorkerApproved(worker, msg.sender);
    }

    /// @notice Revokes a worker for good and removes it from its cluster. Owner or a KMS signer.
    function revokeWorker(address worker) external {
        if (msg.sender != owner() && !_kmsSigners.contains(msg.sender)) revert NotOwnerOrKmsSigner(msg.sender);
        Worker storage w = _workers[worker];
        if (w.status == WorkerStatus.None) revert UnknownWorker(worker);
        if (w.status == WorkerStatus.Revoked) revert WorkerIsRevoked(worker);
        uint64 cluster = w.cluster;
        if (cluster != 0) {
            _clusterMembers[cluster].remove(worker);
            w.cluster = 0;
            emit ClusterMemberRemoved(cluster, worker);
        }
        w.status = WorkerStatus.Revoked;
        emit WorkerRevoked(worker, msg.sender);
    }

    /// @notice Lets a worker announce a new endpoint URL (e.g. after moving to another port or host).
    function updateEndpoint(string calldata endpoint) external {
        Worker storage w = _workers[msg.sender];
        if (w.status == WorkerStatus.None) revert UnknownWorker(msg.sender);
        if (w.status == WorkerStatus.Revoked) revert WorkerIsRevoked(msg.sender);
        _checkEndpoint(endpoint);
        w.endpoint = endpoint;
        emit WorkerEndpointUpdated(msg.sender, endpoint);
    }

    function getWorker(address worker) external view returns (Worker memory) {
        return _workers[worker];
    }

    function isActiveWorker(address worker) public view returns (bool) {
        return _workers[worker].status == WorkerStatus.Active;
    }

    function workerCount() external view returns (uint256) {
        return _allWorkers.length();
    }

    /// @notice A page of registered workers, for discovery (view only; never called in a transaction).
    function workers(uint256 offset, uint256 limit) external view returns (address[] memory page) {
        uint256 total = _allWorkers.length();
        if (offset >= total) return new address[](0);
        // Compare against what is left rather than computing offset + limit, which overflows for
        // "everything from offset on" (limit = type(uint256).max).
        uint256 end = limit > total - offset ? total : offset + limit;
        page = new address[](end - offset);
        for (uint256 i = offset; i < end; i++) {
            page[i - offset] = _allWorkers.at(i);
        }
    }

    /// @notice Checks a worker's signed answer to a query: recovers the EIP-712 `Answer` signer and
    /// returns it if it is an active worker; reverts with NotActiveWorker otherwise (a bad signature
    /// reverts with OpenZeppelin's ECDSA errors).
    /// @param request keccak256(enc ‖ ciphertext) of the sealed query
    /// @param response keccak256(ciphertext) of the sealed answer
    function verifyAnswer(
        bytes32 request,
        bytes32 response,
        uint64 contractId,
        uint64 blockNumber,
        bytes calldata signature
    ) external view returns (address worker) {
        bytes32 digest =
            _hashTypedDataV4(keccak256(abi.encode(ANSWER_TYPEHASH, request, response, contractId, blockNumber)));
        worker = ECDSA.recover(digest, signature);
        if (!isActiveWorker(worker)) revert NotActiveWorker(worker);
    }

    /// @notice Checks an answer a worker signed as one of a batch (an answer that carries a `proof`):
    /// the answer's `Answer` struct hash and the proof lead to a Merkle root (OpenZeppelin MerkleProof,
    /// sorted pairs); recovers the EIP-712 `AnswerBatch(root)` signer and returns it if it is an active
    /// worker; reverts with NotActiveWorker otherwise.
    /// @param proof the answer's sibling hashes, leaf level first
    function verifyBatchedAnswer(
        bytes32 request,
        bytes32 response,
        uint64 contractId,
        uint64 blockNumber,
        bytes32[] calldata proof,
        bytes calldata signature
    ) external view returns (address worker) {
        bytes32 leaf = keccak256(abi.encode(ANSWER_TYPEHASH, request, response, contractId, blockNumber));
        bytes32 root = MerkleProof.processProofCalldata(proof, leaf);
        worker = ECDSA.recover(_hashTypedDataV4(keccak256(abi.encode(ANSWER_BATCH_TYPEHASH, root))), signature);
        if (!isActiveWorker(worker)) revert NotActiveWorker(worker);
    }

    // ---------------------------------------------------------- measurements

    function allowMeasurement(bytes32 measurement) external onlyOwner {
        if (measurementAllowed[measurement]) return;
        measurementAllowed[measurement] = true;
        emit MeasurementAllowed(measurement);
    }

    function disallowMeasurement(bytes32 measurement) external onlyOwner {
        if (!measurementAllowed[measurement]) return;
        measurementAllowed[measurement] = false;
        emit MeasurementDisallowed(measurement);
    }

    // ------------------------------------------------------------ KMS signers

    function addKmsSigner(address signer) external onlyOwner {
        if (signer == address(0)) revert InvalidAddress();
        if (_kmsSigners.add(signer)) emit KmsSignerAdded(signer);
    }

    function removeKmsSigner(address signer) external onlyOwner {
        if (_kmsSigners.remove(signer)) emit KmsSignerRemoved(signer);
    }

    function isKmsSigner(address account) external view returns (bool) {
        return _kmsSigners.contains(account);
    }

    function kmsSigners() external view returns (address[] memory) {
        return _kmsSigners.values();
    }

    // --------------------------------------------------------------- clusters

    function createCluster() external onlyOwner returns (uint64 cluster) {
        cluster = ++clusterCount;
        emit ClusterCreated(cluster);
    }

    /// @notice Adds a worker to a cluster. The owner, or a KMS signer (which assigns the workers it
    /// approves when it is configured to).
    function addClusterMember(uint64 cluster, address worker) external {
        if (msg.sender != owner() && !_kmsSigners.contains(msg.sender)) revert NotOwnerOrKmsSigner(msg.sender);
        if (!clusterExists(cluster)) revert UnknownCluster(cluster);
        Worker storage w = _workers[worker];
        if (w.status == WorkerStatus.None) revert UnknownWorker(worker);
        if (w.status == WorkerStatus.Revoked) revert WorkerIsRevoked(worker);
        if (w.cluster != 0) revert WorkerInCluster(worker, w.cluster);
        w.cluster = cluster;
        _clusterMembers[cluster].add(worker);
        emit ClusterMemberAdded(cluster, worker);
    }

    function removeClusterMember(uint64 cluster, address worker) external onlyOwner {
        if (!_clusterMembers[cluster].remove(worker)) revert NotClusterMember(cluster, worker);
        _workers[worker].cluster = 0;
        emit ClusterMemberRemoved(cluster, worker);
    }

    function clusterExists(uint64 cluster) public view returns (bool) {
        return cluster != 0 && cluster <= clusterCount;
    }

    function clusterMembers(uint64 cluster) external view returns (address[] memory) {
        return _clusterMembers[cluster].values();
    }

    /// @notice True when `worker` is active and a member of `cluster`.
    function isActiveMember(uint64 cluster, address worker) external view returns (bool) {
        Worker storage w = _workers[worker];
        return w.status == WorkerStatus.Active && w.cluster == cluster && cluster != 0;
    }

    // --------------------------------------------------------------- dev mode

    /// @notice Turns development mode off for good: simulated attestation is refused from now on.
    function disableDevMode() external onlyOwner {
        if (!devMode) revert DevModeAlreadyDisabled();
        devMode = false;
        emit DevModeDisabled();
    }

    function _checkEndpoint(string calldata endpoint) private pure {
        uint256 length = bytes(endpoint).length;
        if (length == 0 || length > MAX_ENDPOINT_BYTES) revert InvalidEndpoint(length);
    }
}
