// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Contracts} from "./Contracts.sol";

/// @title Veil command log
/// @notice Orders state-changing commands. A command's payload is sealed to the contract's key by the
/// client; the ledger only orders it. Every worker of the contract's cluster executes it at its position
/// (block number, log index) and `seq` numbers each contract's commands 1, 2, 3, ...
contract Commands {
    uint256 public constant MAX_PAYLOAD_BYTES = 128 * 1024;

    Contracts public immutable contracts;

    /// @notice The sequence number of the contract's most recent command (0 before the first).
    mapping(uint64 contractId => uint64) public sequence;

    event Command(uint64 indexed contractId, uint64 indexed seq, address indexed sender, bytes payload);

    error UnknownContract(uint64 contractId);
    error EmptyPayload();
    error PayloadTooLarge(uint256 size, uint256 max);

    constructor(Contracts contracts_) {
        contracts = contracts_;
    }

    /// @notice Appends a command for `contractId`. Payable: what it charges is settled by billing.
    function submit(uint64 contractId, bytes calldata payload) external payable returns (uint64 seq) {
        if (!contracts.exists(contractId)) revert UnknownContract(contractId);
        if (payload.length == 0) revert EmptyPayload();
        if (payload.length > MAX_PAYLOAD_BYTES) revert PayloadTooLarge(payload.length, MAX_PAYLOAD_BYTES);
        seq = ++sequence[contractId];
        emit Command(contractId, seq, msg.sender, payload);
    }
}
