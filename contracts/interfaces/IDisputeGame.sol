// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IDisputeGame: the bisection game that markets open for a challenged result.
/// @notice The game needs no pre-committed trace: the worker reveals its trace root when it is
/// challenged (docs/protocol.md, "Soundness"). Every length in the game comes from the model.
interface IDisputeGame {
    /// Everything a game needs about the disputed result. The bond is the call's value.
    struct OpenParams {
        /// The market's key for what is disputed (a task ID, or a batch leaf's subject).
        bytes32 subject;
        bytes32 modelRoot;
        /// The agreed input: a tensor root whose byte length fixes the batch size.
        bytes32 inputRoot;
        /// The output the worker committed to: the root of the last op's output.
        bytes32 outputRoot;
        address worker;
        address challenger;
    }

    function open(OpenParams calldata p) external payable returns (uint256 gameId);
}
