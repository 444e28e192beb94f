// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Registry} from "../Registry.sol";
import {StakingPools} from "./StakingPools.sol";
import {VeilToken} from "./VeilToken.sol";

/// @title Veil mining rewards
/// @notice Time is cut into epochs of fixed length. Once per epoch every active, pool-bound, sufficiently
/// staked worker sends a heartbeat, which records its weight = score × stakeFactor. After the epoch, each
/// worker's share of the epoch's emission, emission × weight / totalWeight (rounded down, so an epoch never
/// pays more than its emission), is minted to its pool, lazily: at the worker's next heartbeat or by an
/// explicit settle. A worker that misses `offlineAfterEpochs` epochs in a row can be reported by anyone: it
/// is marked offline and its pool is slashed `slashBps` of the worker's minimum stake, sent to the
/// treasury. It comes back online with its next heartbeat.
/// @dev stakeFactor = min(poolAssets × 1e18 / poolRequiredStake, maxStakeFactor), a WAD in
/// [1e18, maxStakeFactor] (a heartbeat needs poolAssets ≥ poolRequiredStake; maxStakeFactor when nothing
/// is required): over-staking a pool raises its workers' weight, up to the cap. Every function is O(1):
/// each worker has at most one unsettled epoch, and nothing loops over workers or delegators.
contract Rewards is Ownable2Step {
    using SafeCast for uint256;

    uint256 public constant BPS = 10_000;
    uint256 public constant WAD = 1e18;
    /// @notice Upper limit for `maxStakeFactor`, which keeps weights well inside 128 bits.
    uint256 public constant STAKE_FACTOR_LIMIT = 100 * WAD;

    struct Epoch {
        uint128 totalWeight;
        uint120 emission; // fixed by the epoch's first heartbeat
        bool started;
    }

    struct WorkerState {
        uint128 pendingWeight; // weight of the unsettled epoch `lastHeartbeatEpoch`, 0 once settled
        uint64 lastHeartbeatEpoch;
        uint32 pendingPool; // pool the unsettled reward goes to (the pool at heartbeat time)
        bool heartbeated; // false until the first heartbeat
        bool offline; // reported offline and not heartbeated since
    }

    Registry public immutable registry;
    VeilToken public immutable token;
    StakingPools public immutable pools;
    /// @notice Timestamp at which epoch 0 starts (the deployment block's).
    uint64 public immutable genesis;
    /// @notice Seconds per epoch.
    uint64 public immutable epochLength;
    /// @notice Bounds of `emissionPerEpoch`, fixed at deployment.
    uint120 public immutable minEmission;
    uint120 public immutable maxEmission;
    /// @notice Missed epochs in a row after which a worker can be reported offline.
    uint64 public immutable offlineAfterEpochs;
    /// @notice Fraction of the worker's minimum stake slashed from its pool when it goes offline.
    uint16 public immutable slashBps;
    /// @notice Cap of the stake factor (WAD).
    uint256 public immutable maxStakeFactor;
    uint256 private immutable _supplyCap;

    /// @notice Tokens minted per epoch (shared by the workers that heartbeated in it).
    uint120 public emissionPerEpoch;
    /// @notice Receives slashed stake.
    address public treasury;

    mapping(uint64 epoch => Epoch) private _epochs;
    mapping(address worker => WorkerState) private _workers;

    event EpochStarted(uint64 indexed epoch, uint256 emission);
    event Heartbeat(
        address indexed worker,
        uint32 indexed pool,
        uint64 indexed epoch,
        uint32 score,
        uint256 stakeFactor,
        uint256 weight
    );
    event RewardSettled(
        address indexed worker,
        uint32 indexed pool,
        uint64 indexed epoch,
        uint256 weight,
        uint256 reward
    );
    event WorkerOffline(address indexed worker, uint32 indexed pool, uint64 missedEpochs);
    event WorkerOnline(address indexed worker, uint32 indexed pool, uint64 epoch);
    event Slashed(address indexed worker, uint32 indexed pool, uint256 amount, address treasury);
    event EmissionChanged(uint256 previousEmission, uint256 emission);
    event TreasuryChanged(address indexed previousTreasury, address indexed treasury);

    error RenounceDisabled();
    error InvalidAddress();
    error InvalidEpochLength();
    error InvalidEmissionBounds(uint256 minEmission, uint256 emission, uint256 maxEmission);
    error InvalidOfflineThreshold();
    error InvalidSlashBps(uint256 slashBps);
    error InvalidStakeFactorCap(uint256 maxStakeFactor);
    error EmissionOutOfBounds(uint256 emission, uint256 minEmission, uint256 maxEmission);
    error NotActiveWorker(address worker);
    error WorkerNotBound(address worker);
    error AlreadyHeartbeated(address worker, uint64 epoch);
    error InsufficientStake(uint32 pool, uint256 assets, uint256 required);
    error NothingToSettle(address worker, uint64 epoch);
    error EpochNotOver(uint64 epoch, uint64 currentEpoch);
    error WorkerAlreadyOffline(address worker);
    error WorkerNotReportable(address worker, uint64 missedEpochs, uint64 offlineAfterEpochs);

    /// @notice Deployment parameters (a struct, to keep the constructor readable).
    struct Params {
        uint64 epochLength;
        uint120 emissionPerEpoch;
        uint120 minEmission;
        uint120 maxEmission;
        uint64 offlineAfterEpochs;
        uint16 slashBps;
        uint256 maxStakeFactor;
        address treasury;
    }

    /// @param initialOwner may adjust the emission within its bounds and change the treasury
    /// @param registry_ the worker registry
    /// @param token_ the reward token; this contract must become its minter
    /// @param pools_ the staking pools; this contract must become their Rewards contract
    /// @param params epoch length, emission and its bounds, offline threshold, slash, stake-factor cap,
    /// treasury
    constructor(
        address initialOwner,
        Registry registry_,
        VeilToken token_,
        StakingPools pools_,
        Params memory params
    ) Ownable(initialOwner) {
        if (
            address(registry_) == address(0) || address(token_) == address(0) || address(pools_) == address(0)
                || params.treasury == address(0)
        ) revert InvalidAddress();
        if (params.epochLength == 0) revert InvalidEpochLength();
        if (params.minEmission > params.emissionPerEpoch || params.emissionPerEpoch > params.maxEmission) {
            revert InvalidEmissionBounds(params.minEmission, params.emissionPerEpoch, params.maxEmission);
        }
        if (params.offlineAfterEpochs == 0) revert InvalidOfflineThreshold();
        if (params.slashBps > BPS) revert InvalidSlashBps(params.slashBps);
        if (params.maxStakeFactor < WAD || params.maxStakeFactor > STAKE_FACTOR_LIMIT) {
            revert InvalidStakeFactorCap(params.maxStakeFactor);
        }
        registry = registry_;
        token = token_;
        pools = pools_;
        genesis = uint64(block.timestamp);
        epochLength = params.epochLength;
        minEmission = params.minEmission;
        maxEmission = params.maxEmission;
        offlineAfterEpochs = params.offlineAfterEpochs;
        slashBps = params.slashBps;
        maxStakeFactor = params.maxStakeFactor;
        _supplyCap = token_.cap();
        emissionPerEpoch = params.emissionPerEpoch;
        treasury = params.treasury;
        emit EmissionChanged(0, params.emissionPerEpoch);
        emit TreasuryChanged(address(0), params.treasury);
    }

    // ------------------------------------------------------------------ owner

    /// @notice Disabled: the emission and treasury need an owner. Transfer ownership instead.
    function renounceOwnership() public view override onlyOwner {
        revert RenounceDisabled();
    }

    /// @notice Sets the emission per epoch, within [minEmission, maxEmission]. It applies from the next
    /// epoch that has not started (an epoch's emission is fixed by its first heartbeat).
    /// @param emission tokens per epoch
    function setEmission(uint256 emission) external onlyOwner {
        if (emission < minEmission || emission > maxEmission) {
            revert EmissionOutOfBounds(emission, minEmission, maxEmission);
        }
        uint256 previous = emissionPerEpoch;
        emissionPerEpoch = uint120(emission);
        emit EmissionChanged(previous, emission);
    }

    /// @notice Sets where slashed stake goes.
    /// @param treasury_ the new treasury
    function setTreasury(address treasury_) external onlyOwner {
        if (treasury_ == address(0)) revert InvalidAddress();
        emit TreasuryChanged(treasury, treasury_);
        treasury = treasury_;
    }

    // ---------------------------------------------------------------- workers

    /// @notice Proves the calling worker is up in the current epoch, records its weight, and settles its
    /// previous epoch if that is still open. Once per epoch; the caller must be an active Registry worker,
    /// bound to a pool whose assets cover its workers' minimum stakes. Brings an offline worker back.
    function heartbeat() external {
        address worker = msg.sender;
        if (!registry.isActiveWorker(worker)) revert NotActiveWorker(worker);
        uint64 epoch = currentEpoch();
        WorkerState memory previous = _workers[worker];
        if (previous.heartbeated && previous.lastHeartbeatEpoch == epoch) revert AlreadyHeartbeated(worker, epoch);
        (uint32 pool, uint32 score, uint256 assets, uint256 required) = pools.heartbeatInfo(worker);
        if (pool == 0) revert WorkerNotBound(worker);
        if (assets < required) revert InsufficientStake(pool, assets, required);

        uint256 factor = stakeFactor(assets, required);
        uint256 weight = uint256(score) * factor;
        Epoch storage e = _epochs[epoch];
        if (!e.started) {
            e.started = true;
            e.emission = emissionPerEpoch;
            emit EpochStarted(epoch, e.emission);
        }
        e.totalWeight = (uint256(e.totalWeight) + weight).toUint128();
        _workers[worker] = WorkerState({
            pendingWeight: uint128(weight),
            lastHeartbeatEpoch: epoch,
            pendingPool: pool,
            heartbeated: true,
            offline: false
        });
        if (previous.offline) emit WorkerOnline(worker, pool, epoch);
        emit Heartbeat(worker, pool, epoch, score, factor, weight);

        // The previous heartbeat's epoch is over (it is earlier than this one): pay it now.
        if (previous.pendingWeight != 0) {
            _settle(worker, previous.lastHeartbeatEpoch, previous.pendingPool, previous.pendingWeight);
        }
    }

    /// @notice Mints a worker's reward for a finished epoch to its pool (whoever calls). Heartbeats do this
    /// on their own; this is for a worker that stopped. The worker must still be active in the Registry.
    /// @param worker the worker
    /// @param epoch the epoch of its last heartbeat, which must be over
    function settle(address worker, uint64 epoch) external {
        if (!registry.isActiveWorker(worker)) revert NotActiveWorker(worker);
        WorkerState storage w = _workers[worker];
        uint128 weight = w.pendingWeight;
        if (weight == 0 || w.lastHeartbeatEpoch != epoch) revert NothingToSettle(worker, epoch);
        uint64 current = currentEpoch();
        if (epoch >= current) revert EpochNotOver(epoch, current);
        w.pendingWeight = 0;
        _settle(worker, epoch, w.pendingPool, weight);
    }

    /// @notice Reports a pool-bound worker that missed `offlineAfterEpochs` epochs in a row (anyone may):
    /// it goes offline and its pool loses `slashBps` of the worker's minimum stake to the treasury.
    /// @param worker the silent worker
    function reportOffline(address worker) external {
        StakingPools.WorkerInfo memory info = pools.workerInfo(worker);
        if (info.pool == 0) revert WorkerNotBound(worker);
        WorkerState storage w = _workers[worker];
        if (w.offline) revert WorkerAlreadyOffline(worker);
        uint64 missed = _missed(w, info.boundEpoch);
        if (missed < offlineAfterEpochs) revert WorkerNotReportable(worker, missed, offlineAfterEpochs);
        w.offline = true;
        address to = treasury;
        uint256 amount = (pools.minStake(info.score) * slashBps) / BPS;
        emit WorkerOffline(worker, info.pool, missed);
        uint256 slashed = pools.slash(info.pool, amount, to);
        emit Slashed(worker, info.pool, slashed, to);
    }

    // ------------------------------------------------------------------ views

    /// @notice The epoch now.
    function currentEpoch() public view returns (uint64) {
        return uint64((block.timestamp - genesis) / epochLength);
    }

    /// @notice The timestamp at which `epoch` starts.
    function epochStart(uint64 epoch) external view returns (uint256) {
        return uint256(genesis) + uint256(epoch) * epochLength;
    }

    /// @notice The stake factor (WAD) of a pool with `assets` for `required` minimum stake.
    function stakeFactor(uint256 assets, uint256 required) public view returns (uint256) {
        if (required == 0) return maxStakeFactor;
        return Math.min(Math.mulDiv(assets, WAD, required), maxStakeFactor);
    }

    /// @notice An epoch's total weight and emission (both zero, and `started` false, before its first
    /// heartbeat).
    function getEpoch(uint64 epoch) external view returns (Epoch memory) {
        return _epochs[epoch];
    }

    /// @notice A worker's liveness and its unsettled reward (weight, epoch, pool).
    function workerState(address worker) external view returns (WorkerState memory) {
        return _workers[worker];
    }

    /// @notice Whether the worker is marked offline, and how many whole epochs in a row it has missed since
    /// its last heartbeat or its binding, whichever is later (0 for an unbound worker).
    function livenessOf(address worker) external view returns (bool offline, uint64 missedEpochs) {
        StakingPools.WorkerInfo memory info = pools.workerInfo(worker);
        WorkerState storage w = _workers[worker];
        offline = w.offline;
        missedEpochs = info.pool == 0 ? 0 : _missed(w, info.boundEpoch);
    }

    /// @notice The worker's unsettled reward: its epoch and, once that epoch is over, the amount a settle
    /// would mint now (0 while the epoch runs or when nothing is pending).
    function pendingReward(address worker) external view returns (uint64 epoch, uint256 reward) {
        WorkerState storage w = _workers[worker];
        epoch = w.lastHeartbeatEpoch;
        if (w.pendingWeight == 0 || epoch >= currentEpoch()) return (epoch, 0);
        reward = _reward(epoch, w.pendingWeight);
    }

    // -------------------------------------------------------------- internals

    function _missed(WorkerState storage w, uint64 boundEpoch) private view returns (uint64) {
        uint64 last = boundEpoch;
        if (w.heartbeated && w.lastHeartbeatEpoch > last) last = w.lastHeartbeatEpoch;
        uint64 current = currentEpoch();
        return current > last + 1 ? current - last - 1 : 0;
    }

    /// @dev emission × weight / totalWeight rounded down, and never beyond what the supply cap allows
    /// (so heartbeats keep working once the cap is reached; rewards just stop).
    function _reward(uint64 epoch, uint256 weight) private view returns (uint256 reward) {
        Epoch storage e = _epochs[epoch];
        reward = Math.mulDiv(e.emission, weight, e.totalWeight);
        uint256 supply = token.totalSupply();
        uint256 room = _supplyCap > supply ? _supplyCap - supply : 0;
        if (reward > room) reward = room;
    }

    function _settle(address worker, uint64 epoch, uint32 pool, uint256 weight) private {
        uint256 reward = _reward(epoch, weight);
        emit RewardSettled(worker, pool, epoch, weight, reward);
        if (reward > 0) {
            token.mint(address(pools), reward);
            pools.distributeReward(pool, reward);
        }
    }
}
