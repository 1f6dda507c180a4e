// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IDisputeArena: a market that opens dispute games and settles their outcome.
/// @notice `subject` is the market's key for what is disputed (a task ID, or a batch ID). Once the
/// worker loses one game on a subject, the subject is convicted and every other game on it is moot.
interface IDisputeArena {
    enum Outcome {
        None,
        ChallengerWon,
        WorkerWon,
        /// The subject was already convicted by another game: the challenger's bond is returned.
        Moot
    }

    /// Called once per game by the DisputeGame when it resolves. Must not revert.
    function onDisputeResolved(uint256 gameId, bytes32 subject, Outcome outcome, address worker, address challenger)
        external;

    function isConvicted(bytes32 subject) external view returns (bool);
}
