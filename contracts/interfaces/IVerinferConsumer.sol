// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IVerinferConsumer: the callback a requesting contract receives when its task is final.
/// @notice Called by TaskMarket.finalize with the task's gas limit inside a guarded call: a
/// reverting or gas-hungry consumer cannot block finalization, and re-entering the market reverts.
/// `output` is the result tensor's committed bytes; its tensor root is `outputRoot`.
interface IVerinferConsumer {
    function onVerinferResult(bytes32 taskId, bytes32 outputRoot, bytes calldata output) external;
}
