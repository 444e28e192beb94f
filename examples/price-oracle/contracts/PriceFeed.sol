// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title Price feed pushed by a Veil contract
/// @notice A Chainlink AggregatorV3-style feed whose only writer is `updater`: the EVM address of the
/// price-oracle Veil contract (`ctx.contract.address`), whose key never leaves the TEEs that run it. The
/// owner can rotate the updater, e.g. after redeploying the Veil contract; nobody else can write.
/// @dev Only the latest round is kept (two storage slots), so `update` costs the same every round.
/// `latestRoundData().startedAt` is the off-chain observation time (`observedAt`), not a round start.
contract PriceFeed is Ownable {
    /// @notice How far past `block.timestamp` an observation may be dated (clocks of TEEs and block
    /// builders drift; anything further out is a bug or an attempt to block later updates).
    uint256 public constant MAX_FUTURE_SKEW = 5 minutes;

    /// @notice Interface version, as in Chainlink's AggregatorV3Interface.
    uint256 public constant version = 1;

    /// @notice Decimals of `answer`: a price of 1.5 with 8 decimals is 150000000.
    uint8 public immutable decimals;

    /// @notice What the answer measures, e.g. "ETH / USD".
    string public description;

    /// @notice The only address allowed to call `update`.
    address public updater;

    struct Round {
        int256 answer;
        // Packed into one slot: 80 + 64 + 64 bits.
        uint80 roundId;
        uint64 observedAt;
        uint64 updatedAt;
    }

    Round private _latest;

    /// @notice Chainlink's event, so existing indexers and dashboards understand the feed.
    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
    event UpdaterChanged(address indexed previous, address indexed next);

    error NotUpdater(address caller);
    error InvalidAnswer();
    error StaleUpdate(uint64 last, uint64 given);
    error FutureUpdate(uint64 given, uint256 latestAllowed);
    error NoData();
    error ZeroUpdater();

    /// @param updater_ The Veil contract's EVM address, the only address that may push answers.
    /// @param decimals_ Decimals of every answer.
    /// @param description_ What the answer measures, e.g. "ETH / USD".
    constructor(address updater_, uint8 decimals_, string memory description_) Ownable(msg.sender) {
        if (updater_ == address(0)) revert ZeroUpdater();
        decimals = decimals_;
        description = description_;
        updater = updater_;
        emit UpdaterChanged(address(0), updater_);
    }

    /// @notice Replaces the updater, e.g. when the price oracle was redeployed under a new key.
    function setUpdater(address next) external onlyOwner {
        if (next == address(0)) revert ZeroUpdater();
        address previous = updater;
        updater = next;
        emit UpdaterChanged(previous, next);
    }

    /// @notice Publishes a new answer observed off-chain at `observedAt` (unix seconds).
    /// @dev `observedAt` must strictly increase, so a delayed or replayed transaction carrying an older
    /// price can never overwrite a newer one, even when both come from the updater.
    function update(int256 answer, uint64 observedAt) external {
        if (msg.sender != updater) revert NotUpdater(msg.sender);
        if (answer <= 0) revert InvalidAnswer();
        Round storage latest = _latest;
        uint64 last = latest.observedAt;
        if (observedAt <= last) revert StaleUpdate(last, observedAt);
        uint256 latestAllowed = block.timestamp + MAX_FUTURE_SKEW;
        if (observedAt > latestAllowed) revert FutureUpdate(observedAt, latestAllowed);

        uint80 roundId = latest.roundId + 1;
        // One assignment, so the packed slot is written once.
        _latest = Round({
            answer: answer,
            roundId: roundId,
            observedAt: observedAt,
            updatedAt: uint64(block.timestamp)
        });
        emit AnswerUpdated(answer, roundId, block.timestamp);
    }

    /// @notice The latest round, AggregatorV3-style. Reverts with `NoData` before the first update.
    /// @return roundId Round number, counting from 1.
    /// @return answer The price, scaled by `decimals`.
    /// @return startedAt When the sources were observed off-chain (`observedAt` of the update).
    /// @return updatedAt Timestamp of the block that stored the answer.
    /// @return answeredInRound Equal to `roundId` (every round is answered in its own update).
    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        Round memory latest = _latest;
        if (latest.roundId == 0) revert NoData();
        return (latest.roundId, latest.answer, latest.observedAt, latest.updatedAt, latest.roundId);
    }

    /// @notice The latest answer (Chainlink's legacy getter). Reverts with `NoData` before the first
    /// update rather than returning 0, which a careless consumer could take for a price.
    function latestAnswer() external view returns (int256) {
        if (_latest.roundId == 0) revert NoData();
        return _latest.answer;
    }
}
