// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IDisputeGame: the bisection game that markets open for a challenged result.
interface IDisputeGame {
    /// Everything a game needs about the disputed result. The bond is the call's value.
    struct OpenParams {
        bytes32 subject;
        /// The ID bound inside the result commitment (task ID or EIP-712 request hash).
        bytes32 taskId;
        bytes32 modelRoot;
        bytes32 inputRoot;
        bytes32 resultCommitment;
        bytes32 outputRoot;
        address worker;
        address challenger;
        bytes32 challengerTraceRoot;
    }

    function open(OpenParams calldata p) external payable returns (uint256 gameId);
}
