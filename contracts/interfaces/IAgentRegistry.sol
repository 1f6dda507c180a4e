// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IModelRegistry} from "./IModelRegistry.sol";

/// @title IAgentRegistry: staked agents (workers and verifiers), their stake locks, slashing and reputation.
interface IAgentRegistry {
    /// What an authorized market records about an agent. For ResultAccepted the count is the number
    /// of results that paid a fee (0 for unpaid work); one call adds at most 256.
    enum Outcome {
        ResultAccepted,
        AuditPassed,
        DisputeWon,
        DisputeLost
    }

    struct Reputation {
        uint64 resultsAccepted;
        uint64 auditsPassed;
        uint64 disputesWon;
        uint64 disputesLost;
        uint64 slashes;
    }

    struct AgentInfo {
        bool registered;
        /// Bonded stake, including the locked part; excludes unbonding stake.
        uint256 stake;
        uint256 locked;
        uint256 unbonding;
        uint256 unbondReadyAt;
        string endpoint;
        bytes32[] models;
    }

    event AgentRegistered(address indexed agent, string endpoint, bytes32[] models, uint256 stake);
    event StakeAdded(address indexed agent, uint256 amount, uint256 stake);
    event UnbondRequested(address indexed agent, uint256 amount, uint256 readyAt);
    event StakeWithdrawn(address indexed agent, address to, uint256 amount);
    event EndpointSet(address indexed agent, string endpoint);
    event ModelsSet(address indexed agent, bytes32[] models);
    event StakeLocked(address indexed agent, address indexed by, uint256 amount, uint256 locked);
    event StakeUnlocked(address indexed agent, address indexed by, uint256 amount, uint256 locked);
    event StakeSlashed(
        address indexed agent, address indexed beneficiary, uint256 amount, uint256 toBeneficiary, uint256 burnt
    );
    event OutcomeRecorded(address indexed agent, Outcome outcome, uint256 count);
    event SlashProceedsClaimed(address indexed account, address to, uint256 amount);
    event CallerAuthorized(address indexed caller, bool authorized);
    event OwnershipRenounced(address indexed owner);

    function lockStake(address agent, uint256 amount) external;
    /// Reverts unless the agent is active and serves `modelRoot`; only registered models can be served.
    function lockStakeFor(address agent, bytes32 modelRoot, uint256 amount) external;
    function unlockStake(address agent, uint256 amount) external;
    function release(address agent, uint256 amount, Outcome outcome, uint256 count) external;
    function slash(address agent, uint256 amount, address beneficiary, uint256 beneficiaryBps) external;
    function recordOutcome(address agent, Outcome outcome, uint256 count) external;
    /// Slash proceeds that `account` may claim (a market that slashes to itself escrows them).
    function claimable(address account) external view returns (uint256);
    /// Pays out the caller's slash proceeds to `to`.
    function claim(address to) external;

    /// The part of the agent's locked stake that `market` locked (and alone can unlock or slash).
    function lockedBy(address agent, address market) external view returns (uint256);
    function isActive(address agent) external view returns (bool);
    function serves(address agent, bytes32 modelRoot) external view returns (bool);
    function freeStake(address agent) external view returns (uint256);
    /// The registry whose models agents may serve.
    function modelRegistry() external view returns (IModelRegistry);
    /// The free stake an agent needs to be drawn as an auditor; a market's audit lock is at most this.
    function auditThreshold() external view returns (uint256);
    /// A stake-weighted draw among the model's auditors other than `exclude` (address(0) if none);
    /// the agent returned has at least auditThreshold free.
    function selectVerifier(bytes32 seed, address exclude, bytes32 modelRoot) external view returns (address);
}
