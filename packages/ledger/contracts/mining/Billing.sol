// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Contracts} from "../Contracts.sol";
import {Registry} from "../Registry.sol";
import {StakingPools} from "./StakingPools.sol";

/// @title Veil billing
/// @notice Contract balances in VEIL, the fuel price, and the usage receipts that pay workers' pools.
///
/// Anyone funds a contract's balance here. Workers charge each command's fuel at `fuelPrice` against
/// that balance in their replicated state (they read `ContractFunded`, `FuelPriceChanged` and
/// `UsageClaimed` in ledger order, so every worker of the cluster agrees on it), and refuse a command
/// the balance cannot pay. The tokens leave this contract only through usage receipts: an attested
/// worker of the contract's cluster signs what it is owed (the queries it answered since its last
/// receipt, priced when it answered them, and the contract's cumulative command charges), and the
/// payment goes to the worker's staking pool, commission first. Each receipt is claimed at most once.
/// @dev Every function is O(1). Command charges are cumulative per contract, so whichever worker of the
/// cluster settles first is paid the part not yet settled, and a later, older total pays nothing.
contract Billing is Ownable2Step, EIP712 {
    using SafeERC20 for IERC20;

    /// @notice What a worker is owed by one contract. Signed by the worker (EIP-712).
    struct UsageReceipt {
        uint64 contractId;
        address worker;
        /// Strictly greater than the worker's previous receipt for this contract.
        uint64 seq;
        /// Queries answered since the previous receipt (for the record).
        uint64 queries;
        /// Fuel those queries used (for the record).
        uint256 queryFuel;
        /// What those queries cost, in token units, at the fuel price in force when each was answered.
        uint256 queryCharge;
        /// Everything the contract's commands have been charged so far, as of the worker's state.
        uint256 commandCharges;
    }

    bytes32 public constant USAGE_RECEIPT_TYPEHASH = keccak256(
        "UsageReceipt(uint64 contractId,address worker,uint64 seq,uint64 queries,uint256 queryFuel,uint256 queryCharge,uint256 commandCharges)"
    );

    Registry public immutable registry;
    Contracts public immutable contracts;
    IERC20 public immutable token;
    StakingPools public immutable pools;
    /// @notice Bounds the owner can move the fuel price within, fixed at deployment.
    uint256 public immutable minFuelPrice;
    uint256 public immutable maxFuelPrice;

    /// @notice Token units charged per unit of fuel (commands and queries).
    uint256 public fuelPrice;

    /// @notice A contract's balance: funded, less what receipts paid out.
    mapping(uint64 contractId => uint256) public balanceOf;
    /// @notice A contract's command charges paid out so far (the cumulative total receipts settled).
    mapping(uint64 contractId => uint256) public commandsSettled;
    /// @notice The last receipt number claimed per worker and contract.
    mapping(address worker => mapping(uint64 contractId => uint64)) public lastReceipt;

    event FuelPriceChanged(uint256 previousPrice, uint256 price);
    event ContractFunded(uint64 indexed contractId, address indexed funder, uint256 amount, uint256 balance);
    event UsageClaimed(
        uint64 indexed contractId,
        address indexed worker,
        uint32 indexed pool,
        uint64 seq,
        uint64 queries,
        uint256 queryFuel,
        uint256 commandPaid,
        uint256 queryPaid
    );

    error RenounceDisabled();
    error InvalidAddress();
    error InvalidFuelPriceBounds(uint256 minFuelPrice, uint256 fuelPrice, uint256 maxFuelPrice);
    error FuelPriceOutOfBounds(uint256 fuelPrice, uint256 minFuelPrice, uint256 maxFuelPrice);
    error UnknownContract(uint64 contractId);
    error ZeroAmount();
    error BadReceiptSignature(address worker, address signer);
    error NotActiveWorker(address worker);
    error NotClusterMember(address worker, uint64 contractId, uint64 cluster);
    error WorkerNotBound(address worker);
    error ReceiptAlreadyClaimed(address worker, uint64 contractId, uint64 seq, uint64 lastSeq);

    /// @param initialOwner sets the fuel price within its bounds
    /// @param registry_ the worker registry (who is an active member of which cluster)
    /// @param contracts_ the contract registry (which contracts exist, and their clusters)
    /// @param token_ the token balances are held in
    /// @param pools_ the staking pools receipts pay; they must name this contract with `setBilling`
    /// @param fuelPrice_ initial token units per unit of fuel
    /// @param minFuelPrice_ lowest fuel price the owner may set
    /// @param maxFuelPrice_ highest fuel price the owner may set
    constructor(
        address initialOwner,
        Registry registry_,
        Contracts contracts_,
        IERC20 token_,
        StakingPools pools_,
        uint256 fuelPrice_,
        uint256 minFuelPrice_,
        uint256 maxFuelPrice_
    ) Ownable(initialOwner) EIP712("Veil Billing", "1") {
        if (
            address(registry_) == address(0) || address(contracts_) == address(0) || address(token_) == address(0)
                || address(pools_) == address(0)
        ) revert InvalidAddress();
        if (minFuelPrice_ > fuelPrice_ || fuelPrice_ > maxFuelPrice_) {
            revert InvalidFuelPriceBounds(minFuelPrice_, fuelPrice_, maxFuelPrice_);
        }
        registry = registry_;
        contracts = contracts_;
        token = token_;
        pools = pools_;
        minFuelPrice = minFuelPrice_;
        maxFuelPrice = maxFuelPrice_;
        fuelPrice = fuelPrice_;
        emit FuelPriceChanged(0, fuelPrice_);
    }

    // ------------------------------------------------------------------ owner

    /// @notice Disabled: the fuel price needs an owner. Transfer ownership instead.
    function renounceOwnership() public view override onlyOwner {
        revert RenounceDisabled();
    }

    /// @notice Sets the fuel price within [minFuelPrice, maxFuelPrice]. Workers apply it from the
    /// command after this transaction in ledger order.
    /// @param price token units per unit of fuel
    function setFuelPrice(uint256 price) external onlyOwner {
        if (price < minFuelPrice || price > maxFuelPrice) {
            revert FuelPriceOutOfBounds(price, minFuelPrice, maxFuelPrice);
        }
        emit FuelPriceChanged(fuelPrice, price);
        fuelPrice = price;
    }

    // --------------------------------------------------------------- balances

    /// @notice Adds `amount` tokens (approved to this contract) to a contract's balance. Anyone may fund
    /// any contract; funds cannot be taken back, only spent on the contract's usage.
    /// @param contractId the Veil contract
    /// @param amount token units
    function fund(uint64 contractId, uint256 amount) external {
        if (!contracts.exists(contractId)) revert UnknownContract(contractId);
        if (amount == 0) revert ZeroAmount();
        uint256 balance = balanceOf[contractId] + amount;
        balanceOf[contractId] = balance;
        emit ContractFunded(contractId, msg.sender, amount, balance);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    // ---------------------------------------------------------------- workers

    /// @notice Pays a signed usage receipt to its worker's pool (anyone may submit it): first the
    /// contract's command charges not settled yet, then the receipt's queries, each as far as the
    /// contract's balance goes. The worker must be active in the Registry, a member of the contract's
    /// cluster and bound to a pool; the receipt's number must exceed the worker's last one.
    /// @param receipt the usage receipt
    /// @param signature the worker's EIP-712 signature of it
    /// @return paid what the pool received
    function claimUsage(UsageReceipt calldata receipt, bytes calldata signature) external returns (uint256 paid) {
        uint32 pool = _authorize(receipt, signature);
        (uint256 commandPaid, uint256 queryPaid) = _debit(receipt);
        emit UsageClaimed(
            receipt.contractId,
            receipt.worker,
            pool,
            receipt.seq,
            receipt.queries,
            receipt.queryFuel,
            commandPaid,
            queryPaid
        );
        paid = commandPaid + queryPaid;
        if (paid > 0) {
            token.safeTransfer(address(pools), paid);
            pools.distributeReward(pool, paid);
        }
    }

    /// @dev Checks the signature and the worker, consumes the receipt number; returns the worker's pool.
    function _authorize(UsageReceipt calldata receipt, bytes calldata signature) private returns (uint32 pool) {
        address worker = receipt.worker;
        address signer = ECDSA.recover(_hashTypedDataV4(_structHash(receipt)), signature);
        if (signer != worker) revert BadReceiptSignature(worker, signer);
        uint64 contractId = receipt.contractId;
        if (!contracts.exists(contractId)) revert UnknownContract(contractId);
        if (!registry.isActiveWorker(worker)) revert NotActiveWorker(worker);
        uint64 cluster = contracts.getContract(contractId).cluster;
        if (!registry.isActiveMember(cluster, worker)) revert NotClusterMember(worker, contractId, cluster);
        pool = pools.workerInfo(worker).pool;
        if (pool == 0) revert WorkerNotBound(worker);
        uint64 last = lastReceipt[worker][contractId];
        if (receipt.seq <= last) revert ReceiptAlreadyClaimed(worker, contractId, receipt.seq, last);
        lastReceipt[worker][contractId] = receipt.seq;
    }

    /// @dev Takes the unsettled command charges, then the queries, from the balance, as far as it goes.
    function _debit(UsageReceipt calldata receipt) private returns (uint256 commandPaid, uint256 queryPaid) {
        uint64 contractId = receipt.contractId;
        uint256 balance = balanceOf[contractId];
        uint256 settled = commandsSettled[contractId];
        if (receipt.commandCharges > settled) {
            commandPaid = Math.min(receipt.commandCharges - settled, balance);
            commandsSettled[contractId] = settled + commandPaid;
            balance -= commandPaid;
        }
        queryPaid = Math.min(receipt.queryCharge, balance);
        balanceOf[contractId] = balance - queryPaid;
    }

    // ------------------------------------------------------------------ views

    /// @notice The EIP-712 digest a worker signs for `receipt`.
    function receiptDigest(UsageReceipt calldata receipt) external view returns (bytes32) {
        return _hashTypedDataV4(_structHash(receipt));
    }

    function _structHash(UsageReceipt calldata r) private pure returns (bytes32) {
        return keccak256(
            abi.encode(
                USAGE_RECEIPT_TYPEHASH,
                r.contractId,
                r.worker,
                r.seq,
                r.queries,
                r.queryFuel,
                r.queryCharge,
                r.commandCharges
            )
        );
    }
}
