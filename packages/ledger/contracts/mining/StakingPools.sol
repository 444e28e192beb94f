// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Registry} from "../Registry.sol";
import {Rewards} from "./Rewards.sol";

/// @title Veil staking pools
/// @notice Operators open pools and bind their workers to them; delegators (the operator included) stake
/// VEIL in a pool for shares. Every bound worker needs a minimum stake that grows with its performance
/// score, and a pool earns for a worker only while its assets cover all its workers' minimum stakes.
/// Rewards arrive from the Rewards contract: the operator takes a commission, the rest is shared per
/// share (MasterChef accumulator). Withdrawals burn shares at once and pay out after an unbonding period.
/// Slashing (by the Rewards contract) lowers a pool's assets, so every share bears it proportionally.
/// @dev One contract holds every pool. Share math is ERC-4626's (OpenZeppelin Math.mulDiv, rounding in
/// the pool's favour, with a virtual offset of 10**6 shares and 1 asset against the inflation attack;
/// assets are tracked in storage, so donations cannot move the share price either). Every function is
/// O(1), or O(k) in a caller-chosen bound k for withdraw; nothing loops over workers or delegators.
contract StakingPools is Ownable2Step {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    uint256 public constant BPS = 10_000;
    /// @notice Virtual shares of the ERC-4626 offset (10**6: shares have 6 more decimals than assets).
    uint256 public constant VIRTUAL_SHARES = 1e6;
    /// @notice Virtual assets of the ERC-4626 offset.
    uint256 public constant VIRTUAL_ASSETS = 1;
    /// @notice Fixed-point scale of the reward-per-share accumulator.
    uint256 public constant REWARD_PRECISION = 1e36;

    struct Pool {
        // slot 0
        address operator;
        uint16 commissionBps;
        uint16 pendingCommissionBps;
        uint64 commissionEffectiveAt; // 0 when no raise is scheduled
        // slot 1: everything the heartbeat needs
        uint128 assets;
        uint96 scoreSum; // sum of the bound workers' scores
        uint32 workerCount;
        // slots 2, 3
        uint256 totalShares;
        uint256 rewardPerShare; // scaled by REWARD_PRECISION
    }

    /// @notice A pool as seen from outside: the commission is the one in force now.
    struct PoolView {
        address operator;
        uint16 commissionBps;
        uint16 pendingCommissionBps;
        uint64 commissionEffectiveAt;
        uint256 assets;
        uint256 totalShares;
        uint256 rewardPerShare;
        uint32 workerCount;
        uint256 scoreSum;
        uint256 requiredStake;
    }

    struct Stake {
        uint256 shares;
        uint256 rewardDebt; // rounded up, so a delegator is never paid more than its exact share
        uint256 unclaimed; // harvested rewards not claimed yet
    }

    struct WorkerInfo {
        uint32 pool; // 0 = not bound
        uint32 score;
        uint64 scoreEpoch;
        uint64 boundEpoch;
        bool scored;
    }

    struct Withdrawal {
        uint128 assets;
        uint64 readyAt;
        uint32 pool;
    }

    struct WithdrawalQueue {
        uint64 head;
        uint64 tail;
        mapping(uint256 index => Withdrawal) entries;
    }

    Registry public immutable registry;
    IERC20 public immutable token;
    /// @notice Highest commission a pool may charge, in basis points.
    uint16 public immutable maxCommissionBps;
    /// @notice Seconds before a commission raise applies (at least the unbonding period, so delegators
    /// who disagree can leave first). Cuts apply at once.
    uint64 public immutable commissionRaiseDelay;
    /// @notice Seconds between a withdrawal request and the moment its assets can be withdrawn.
    uint64 public immutable unbondingPeriod;

    /// @notice The Rewards contract: the epoch clock, the only distributor of rewards and only slasher.
    Rewards public rewards;
    /// @notice The Billing contract, which pays pools for query and command usage (docs/mining.md).
    address public billing;
    uint32 public poolCount;
    /// @notice minStake(score) = minStakeBase + score * minStakePerScore, in token units.
    uint128 public minStakeBase;
    uint128 public minStakePerScore;

    mapping(uint32 pool => Pool) private _pools;
    mapping(uint32 pool => mapping(address delegator => Stake)) private _stakes;
    mapping(address worker => WorkerInfo) private _workers;
    mapping(address delegator => WithdrawalQueue) private _queues;

    event RewardsSet(address indexed rewards);
    event BillingSet(address indexed billing);
    event MinStakeChanged(uint256 minStakeBase, uint256 minStakePerScore);
    event PoolCreated(uint32 indexed pool, address indexed operator, uint16 commissionBps);
    event CommissionChanged(uint32 indexed pool, uint16 previousBps, uint16 commissionBps);
    event CommissionRaiseScheduled(uint32 indexed pool, uint16 commissionBps, uint64 effectiveAt);
    event WorkerBound(uint32 indexed pool, address indexed worker);
    event WorkerUnbound(uint32 indexed pool, address indexed worker);
    event ScoreSubmitted(address indexed worker, uint32 score, uint64 indexed epoch);
    event Deposited(uint32 indexed pool, address indexed delegator, uint256 assets, uint256 shares);
    event WithdrawRequested(
        uint32 indexed pool,
        address indexed delegator,
        uint256 shares,
        uint256 assets,
        uint64 readyAt,
        uint256 index
    );
    event Withdrawn(address indexed delegator, uint256 assets, uint256 entries);
    event Claimed(uint32 indexed pool, address indexed delegator, uint256 amount);
    event RewardDistributed(uint32 indexed pool, uint256 amount, uint256 commission, uint256 delegators);
    event PoolSlashed(uint32 indexed pool, uint256 amount, address indexed to);

    error RenounceDisabled();
    error InvalidAddress();
    error InvalidCommissionBounds(uint256 maxCommissionBps);
    error InvalidCommissionDelay(uint64 delay, uint64 unbondingPeriod);
    error RewardsAlreadySet(address rewards);
    error RewardsNotSet();
    error NotRewards(address account);
    error BillingAlreadySet(address billing);
    error NotDistributor(address account);
    error UnknownPool(uint32 pool);
    error NotPoolOperator(uint32 pool, address account);
    error CommissionTooHigh(uint16 commissionBps, uint16 maxCommissionBps);
    error NotActiveWorker(address worker);
    error WorkerOperatorMismatch(address worker, address workerOperator, address poolOperator);
    error WorkerAlreadyBound(address worker, uint32 pool);
    error WorkerNotBound(address worker);
    error WorkerMissedHeartbeats(address worker, uint64 missedEpochs);
    error ZeroAmount();
    error ZeroShares();
    error InsufficientShares(uint256 shares, uint256 requested);
    error NoPendingWithdrawal(address delegator);
    error WithdrawalNotReady(uint64 readyAt);
    error NothingToClaim(uint32 pool, address delegator);

    /// @notice Rewards and Billing both pay pools (emission and usage payments).
    modifier onlyDistributor() {
        // Neither can be the zero address while unset: no call comes from address(0).
        if (msg.sender != address(rewards) && msg.sender != billing) revert NotDistributor(msg.sender);
        _;
    }

    modifier onlyRewards() {
        if (msg.sender != address(rewards)) revert NotRewards(msg.sender);
        _;
    }

    /// @param initialOwner sets the minimum-stake parameters and, once, the Rewards contract
    /// @param registry_ the worker registry
    /// @param token_ the staked (and reward) token
    /// @param maxCommissionBps_ highest commission a pool may charge (basis points, at most 10,000)
    /// @param commissionRaiseDelay_ seconds before a commission raise applies; at least `unbondingPeriod_`
    /// @param unbondingPeriod_ seconds between a withdrawal request and its payout
    /// @param minStakeBase_ minimum stake of a bound worker of score 0
    /// @param minStakePerScore_ extra minimum stake per point of performance score
    constructor(
        address initialOwner,
        Registry registry_,
        IERC20 token_,
        uint16 maxCommissionBps_,
        uint64 commissionRaiseDelay_,
        uint64 unbondingPeriod_,
        uint128 minStakeBase_,
        uint128 minStakePerScore_
    ) Ownable(initialOwner) {
        if (address(registry_) == address(0) || address(token_) == address(0)) revert InvalidAddress();
        if (maxCommissionBps_ > BPS) revert InvalidCommissionBounds(maxCommissionBps_);
        if (commissionRaiseDelay_ < unbondingPeriod_) {
            revert InvalidCommissionDelay(commissionRaiseDelay_, unbondingPeriod_);
        }
        registry = registry_;
        token = token_;
        maxCommissionBps = maxCommissionBps_;
        commissionRaiseDelay = commissionRaiseDelay_;
        unbondingPeriod = unbondingPeriod_;
        minStakeBase = minStakeBase_;
        minStakePerScore = minStakePerScore_;
        emit MinStakeChanged(minStakeBase_, minStakePerScore_);
    }

    // ------------------------------------------------------------------ owner

    /// @notice Disabled: the minimum-stake parameters need an owner. Transfer ownership instead.
    function renounceOwnership() public view override onlyOwner {
        revert RenounceDisabled();
    }

    /// @notice Names the Rewards contract, once.
    /// @param rewards_ the Rewards contract (epoch clock, reward distributor and slasher)
    function setRewards(Rewards rewards_) external onlyOwner {
        if (address(rewards) != address(0)) revert RewardsAlreadySet(address(rewards));
        if (address(rewards_) == address(0)) revert InvalidAddress();
        rewards = rewards_;
        emit RewardsSet(address(rewards_));
    }

    /// @notice Names the Billing contract, once: it pays pools for their workers' usage receipts.
    /// @param billing_ the Billing contract
    function setBilling(address billing_) external onlyOwner {
        if (billing != address(0)) revert BillingAlreadySet(billing);
        if (billing_ == address(0)) revert InvalidAddress();
        billing = billing_;
        emit BillingSet(billing_);
    }

    /// @notice Sets the minimum-stake parameters; they apply at once to every pool's requirement.
    /// @param base minimum stake of a bound worker of score 0
    /// @param perScore extra minimum stake per point of score
    function setMinStake(uint128 base, uint128 perScore) external onlyOwner {
        minStakeBase = base;
        minStakePerScore = perScore;
        emit MinStakeChanged(base, perScore);
    }

    // ------------------------------------------------------------------ pools

    /// @notice Opens a pool operated by the caller.
    /// @param commissionBps the operator's share of the pool's rewards, in basis points
    /// @return pool the new pool's id (ids start at 1)
    function createPool(uint16 commissionBps) external returns (uint32 pool) {
        if (commissionBps > maxCommissionBps) revert CommissionTooHigh(commissionBps, maxCommissionBps);
        pool = ++poolCount;
        Pool storage p = _pools[pool];
        p.operator = msg.sender;
        p.commissionBps = commissionBps;
        emit PoolCreated(pool, msg.sender, commissionBps);
    }

    /// @notice Changes the pool's commission. A cut applies at once (and cancels a scheduled raise); a raise
    /// applies after `commissionRaiseDelay`, so delegators can leave before it does. Operator only.
    /// @param pool the pool
    /// @param commissionBps the new commission, at most `maxCommissionBps`
    function setCommission(uint32 pool, uint16 commissionBps) external {
        Pool storage p = _operatedPool(pool);
        if (commissionBps > maxCommissionBps) revert CommissionTooHigh(commissionBps, maxCommissionBps);
        uint16 current = _commission(p);
        if (commissionBps <= current) {
            p.commissionBps = commissionBps;
            p.pendingCommissionBps = 0;
            p.commissionEffectiveAt = 0;
            emit CommissionChanged(pool, current, commissionBps);
        } else {
            uint64 effectiveAt = uint64(block.timestamp) + commissionRaiseDelay;
            p.commissionBps = current;
            p.pendingCommissionBps = commissionBps;
            p.commissionEffectiveAt = effectiveAt;
            emit CommissionRaiseScheduled(pool, commissionBps, effectiveAt);
        }
    }

    /// @notice Binds one of the operator's active workers to the pool. Operator only; the worker's
    /// Registry operator must be the pool's operator and the worker must not be bound to any pool.
    /// @param pool the pool
    /// @param worker the worker's identity address
    function bindWorker(uint32 pool, address worker) external {
        Pool storage p = _operatedPool(pool);
        if (!registry.isActiveWorker(worker)) revert NotActiveWorker(worker);
        address workerOperator = registry.getWorker(worker).operator;
        if (workerOperator != p.operator) revert WorkerOperatorMismatch(worker, workerOperator, p.operator);
        WorkerInfo storage w = _workers[worker];
        if (w.pool != 0) revert WorkerAlreadyBound(worker, w.pool);
        w.pool = pool;
        w.boundEpoch = _rewards().currentEpoch();
        p.workerCount += 1;
        p.scoreSum += w.score;
        emit WorkerBound(pool, worker);
    }

    /// @notice Unbinds a worker from its pool. Operator only. A worker that is still active in the
    /// Registry can leave only while live (it heartbeated, or was bound, in this or the previous epoch)
    /// or once reported offline, so unbinding cannot dodge a pending offline report.
    /// @param worker the worker's identity address
    function unbindWorker(address worker) external {
        WorkerInfo storage w = _workers[worker];
        uint32 pool = w.pool;
        if (pool == 0) revert WorkerNotBound(worker);
        Pool storage p = _operatedPool(pool);
        if (registry.isActiveWorker(worker)) {
            (bool offline, uint64 missed) = _rewards().livenessOf(worker);
            if (!offline && missed > 0) revert WorkerMissedHeartbeats(worker, missed);
        }
        w.pool = 0;
        p.workerCount -= 1;
        p.scoreSum -= w.score;
        emit WorkerUnbound(pool, worker);
    }

    // ----------------------------------------------------------------- scores

    /// @notice Records the caller's performance score (its attested benchmark). The caller must be an
    /// active Registry worker: the transaction is signed by the worker's TEE-held identity key.
    /// @param score the benchmark score (the reference machine scores about 1,000)
    function submitScore(uint32 score) external {
        if (!registry.isActiveWorker(msg.sender)) revert NotActiveWorker(msg.sender);
        uint64 epoch = _rewards().currentEpoch();
        WorkerInfo storage w = _workers[msg.sender];
        if (w.pool != 0) {
            Pool storage p = _pools[w.pool];
            p.scoreSum = p.scoreSum - w.score + score;
        }
        w.score = score;
        w.scoreEpoch = epoch;
        w.scored = true;
        emit ScoreSubmitted(msg.sender, score, epoch);
    }

    // ------------------------------------------------------------- delegators

    /// @notice Stakes `assets` tokens in a pool for shares (the caller must have approved this contract).
    /// @param pool the pool
    /// @param assets amount of tokens to stake
    /// @return shares the shares minted, rounded down
    function deposit(uint32 pool, uint256 assets) external returns (uint256 shares) {
        if (assets == 0) revert ZeroAmount();
        Pool storage p = _existingPool(pool);
        shares = _toShares(p, assets);
        if (shares == 0) revert ZeroShares();
        Stake storage s = _stakes[pool][msg.sender];
        uint256 perShare = p.rewardPerShare;
        _harvest(s, perShare);
        s.shares += shares;
        s.rewardDebt = Math.mulDiv(s.shares, perShare, REWARD_PRECISION, Math.Rounding.Ceil);
        p.totalShares += shares;
        p.assets = (uint256(p.assets) + assets).toUint128();
        emit Deposited(pool, msg.sender, assets, shares);
        token.safeTransferFrom(msg.sender, address(this), assets);
    }

    /// @notice Burns `shares` now and queues their assets, withdrawable after the unbonding period.
    /// Queued assets no longer earn rewards and are no longer slashable. Shares worth nothing (a pool
    /// slashed to zero) are burnt without queueing an entry.
    /// @param pool the pool
    /// @param shares shares to burn
    /// @return assets the queued amount, rounded down
    function requestWithdraw(uint32 pool, uint256 shares) external returns (uint256 assets) {
        if (shares == 0) revert ZeroAmount();
        Pool storage p = _existingPool(pool);
        Stake storage s = _stakes[pool][msg.sender];
        if (s.shares < shares) revert InsufficientShares(s.shares, shares);
        assets = _toAssets(p, shares);
        uint256 perShare = p.rewardPerShare;
        _harvest(s, perShare);
        s.shares -= shares;
        s.rewardDebt = Math.mulDiv(s.shares, perShare, REWARD_PRECISION, Math.Rounding.Ceil);
        p.totalShares -= shares;
        p.assets -= assets.toUint128();
        uint64 readyAt = uint64(block.timestamp) + unbondingPeriod;
        WithdrawalQueue storage q = _queues[msg.sender];
        uint64 index = q.tail;
        if (assets > 0) {
            q.entries[index] = Withdrawal({assets: assets.toUint128(), readyAt: readyAt, pool: pool});
            q.tail = index + 1;
        }
        emit WithdrawRequested(pool, msg.sender, shares, assets, readyAt, index);
    }

    /// @notice Pays out the caller's matured withdrawals, oldest first, at most `maxEntries` of them.
    /// Reverts with WithdrawalNotReady when the oldest one is still unbonding.
    /// @param maxEntries bound on the entries paid in this call (each entry is paid exactly once)
    /// @return assets the amount paid
    function withdraw(uint256 maxEntries) external returns (uint256 assets) {
        if (maxEntries == 0) revert ZeroAmount();
        WithdrawalQueue storage q = _queues[msg.sender];
        uint64 head = q.head;
        uint64 tail = q.tail;
        if (head == tail) revert NoPendingWithdrawal(msg.sender);
        uint256 paid;
        while (head < tail && paid < maxEntries) {
            Withdrawal storage entry = q.entries[head];
            if (entry.readyAt > block.timestamp) break;
            assets += entry.assets;
            delete q.entries[head];
            head++;
            paid++;
        }
        if (paid == 0) revert WithdrawalNotReady(q.entries[head].readyAt);
        q.head = head;
        emit Withdrawn(msg.sender, assets, paid);
        token.safeTransfer(msg.sender, assets);
    }

    /// @notice Pays the caller its rewards from a pool.
    /// @param pool the pool
    /// @return amount the amount paid
    function claim(uint32 pool) external returns (uint256 amount) {
        Pool storage p = _existingPool(pool);
        Stake storage s = _stakes[pool][msg.sender];
        uint256 perShare = p.rewardPerShare;
        _harvest(s, perShare);
        s.rewardDebt = Math.mulDiv(s.shares, perShare, REWARD_PRECISION, Math.Rounding.Ceil);
        amount = s.unclaimed;
        if (amount == 0) revert NothingToClaim(pool, msg.sender);
        s.unclaimed = 0;
        emit Claimed(pool, msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- rewards

    /// @notice Shares out `amount` tokens, already minted or sent to this contract: the operator gets
    /// floor(amount * commission / 10,000) at once, the delegators the rest through the accumulator
    /// (the operator gets everything if the pool has no shares). Rewards and Billing contracts only.
    /// @param pool the pool that earned the reward
    /// @param amount the reward
    function distributeReward(uint32 pool, uint256 amount) external onlyDistributor {
        Pool storage p = _pools[pool];
        uint256 commission = (amount * _commission(p)) / BPS;
        uint256 delegators = amount - commission;
        uint256 totalShares = p.totalShares;
        if (totalShares == 0) {
            commission = amount;
            delegators = 0;
        } else if (delegators > 0) {
            p.rewardPerShare += Math.mulDiv(delegators, REWARD_PRECISION, totalShares);
        }
        emit RewardDistributed(pool, amount, commission, delegators);
        if (commission > 0) token.safeTransfer(p.operator, commission);
    }

    /// @notice Takes up to `amount` of a pool's assets (never more than it has) and sends it to `to`.
    /// Rewards contract only.
    /// @param pool the slashed pool
    /// @param amount the slash
    /// @param to where the slashed tokens go (the treasury)
    /// @return slashed the amount actually taken
    function slash(uint32 pool, uint256 amount, address to) external onlyRewards returns (uint256 slashed) {
        Pool storage p = _pools[pool];
        slashed = Math.min(amount, p.assets);
        p.assets -= uint128(slashed);
        emit PoolSlashed(pool, slashed, to);
        if (slashed > 0) token.safeTransfer(to, slashed);
    }

    // ------------------------------------------------------------------ views

    /// @notice Minimum stake a bound worker of this score requires.
    function minStake(uint32 score) public view returns (uint256) {
        return uint256(minStakeBase) + uint256(score) * minStakePerScore;
    }

    /// @notice Sum of the minimum stakes of the pool's bound workers.
    function requiredStake(uint32 pool) public view returns (uint256) {
        Pool storage p = _pools[pool];
        return uint256(p.workerCount) * minStakeBase + uint256(p.scoreSum) * minStakePerScore;
    }

    /// @notice What a heartbeat needs to know, in one call: the worker's pool (0 if unbound) and score,
    /// the pool's assets and the sum of its workers' minimum stakes.
    function heartbeatInfo(address worker)
        external
        view
        returns (uint32 pool, uint32 score, uint256 assets, uint256 required)
    {
        WorkerInfo storage w = _workers[worker];
        pool = w.pool;
        score = w.score;
        if (pool != 0) {
            assets = _pools[pool].assets;
            required = requiredStake(pool);
        }
    }

    /// @notice A worker's pool (0 if unbound), score, the epoch it submitted it and the epoch it was bound.
    function workerInfo(address worker) external view returns (WorkerInfo memory) {
        return _workers[worker];
    }

    /// @notice A pool, with the commission in force now and the sum of its workers' minimum stakes.
    function getPool(uint32 pool) external view returns (PoolView memory) {
        Pool storage p = _existingPool(pool);
        bool raised = p.commissionEffectiveAt != 0 && block.timestamp >= p.commissionEffectiveAt;
        return PoolView({
            operator: p.operator,
            commissionBps: _commission(p),
            pendingCommissionBps: raised ? 0 : p.pendingCommissionBps,
            commissionEffectiveAt: raised ? 0 : p.commissionEffectiveAt,
            assets: p.assets,
            totalShares: p.totalShares,
            rewardPerShare: p.rewardPerShare,
            workerCount: p.workerCount,
            scoreSum: p.scoreSum,
            requiredStake: requiredStake(pool)
        });
    }

    /// @notice A delegator's shares in a pool, what they are worth now and its unclaimed rewards.
    function stakeOf(uint32 pool, address delegator)
        external
        view
        returns (uint256 shares, uint256 assets, uint256 rewards_)
    {
        Pool storage p = _pools[pool];
        Stake storage s = _stakes[pool][delegator];
        shares = s.shares;
        assets = _toAssets(p, shares);
        rewards_ = s.unclaimed + _pending(s, p.rewardPerShare);
    }

    /// @notice Shares a deposit of `assets` would mint now.
    function previewDeposit(uint32 pool, uint256 assets) external view returns (uint256) {
        return _toShares(_pools[pool], assets);
    }

    /// @notice Assets burning `shares` would queue now.
    function previewWithdraw(uint32 pool, uint256 shares) external view returns (uint256) {
        return _toAssets(_pools[pool], shares);
    }

    /// @notice The caller-visible bounds of a delegator's withdrawal queue: entries [head, tail) are pending.
    function withdrawalQueue(address delegator) external view returns (uint64 head, uint64 tail) {
        WithdrawalQueue storage q = _queues[delegator];
        return (q.head, q.tail);
    }

    /// @notice One pending withdrawal (zero once paid).
    function withdrawalAt(address delegator, uint256 index) external view returns (Withdrawal memory) {
        return _queues[delegator].entries[index];
    }

    // -------------------------------------------------------------- internals

    function _rewards() private view returns (Rewards r) {
        r = rewards;
        if (address(r) == address(0)) revert RewardsNotSet();
    }

    function _existingPool(uint32 pool) private view returns (Pool storage p) {
        p = _pools[pool];
        if (p.operator == address(0)) revert UnknownPool(pool);
    }

    function _operatedPool(uint32 pool) private view returns (Pool storage p) {
        p = _existingPool(pool);
        if (msg.sender != p.operator) revert NotPoolOperator(pool, msg.sender);
    }

    /// @dev The commission in force: a scheduled raise counts once its time has come.
    function _commission(Pool storage p) private view returns (uint16) {
        uint64 effectiveAt = p.commissionEffectiveAt;
        if (effectiveAt != 0 && block.timestamp >= effectiveAt) return p.pendingCommissionBps;
        return p.commissionBps;
    }

    function _toShares(Pool storage p, uint256 assets) private view returns (uint256) {
        return Math.mulDiv(assets, p.totalShares + VIRTUAL_SHARES, uint256(p.assets) + VIRTUAL_ASSETS);
    }

    function _toAssets(Pool storage p, uint256 shares) private view returns (uint256) {
        return Math.mulDiv(shares, uint256(p.assets) + VIRTUAL_ASSETS, p.totalShares + VIRTUAL_SHARES);
    }

    /// @dev Accrued minus debt, floored against the debt rounded up: a delegator never receives more than
    /// shares × Δaccumulator, so the pool can always pay every claim.
    function _pending(Stake storage s, uint256 perShare) private view returns (uint256) {
        uint256 accrued = Math.mulDiv(s.shares, perShare, REWARD_PRECISION);
        uint256 debt = s.rewardDebt;
        return accrued > debt ? accrued - debt : 0;
    }

    function _harvest(Stake storage s, uint256 perShare) private {
        if (s.shares == 0) return;
        uint256 pending = _pending(s, perShare);
        if (pending > 0) s.unclaimed += pending;
    }
}
