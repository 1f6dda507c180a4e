// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IDisputeArena: a market that opens dispute games and settles their outcome.
/// @notice `subject` is the market's key for what is disputed (a task ID, or a batch ID). The market
/// decides which games a conviction makes moot (`isMoot`): the game asks it at resolution.
interface IDisputeArena {
    enum Outcome {
        None,
        ChallengerWon,
        WorkerWon,
        /// The market declared the game moot (its subject was settled otherwise): the bond is returned.
        Moot
    }

    /// Called once per game by the DisputeGame when it resolves. Must not revert.
    function onDisputeResolved(uint256 gameId, bytes32 subject, Outcome outcome, address worker, address challenger)
        external;

    function isConvicted(bytes32 subject) external view returns (bool);

    /// Whether game `gameId` on `subject` no longer decides anything: it then resolves Moot and the
    /// challenger's bond is returned.
    function isMoot(bytes32 subject, uint256 gameId) external view returns (bool);
}
