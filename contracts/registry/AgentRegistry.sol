// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAgentRegistry} from "../interfaces/IAgentRegistry.sol";
import {ReentrancyGuard} from "../market/lib/ReentrancyGuard.sol";
import {SafeTransfer} from "../market/lib/SafeTransfer.sol";

error AgentRegistryNotOwner(address caller);
error AgentRegistryNotAuthorized(address caller);
error AgentRegistryAlreadyRegistered(address agent);
error AgentRegistryNotRegistered(address agent);
error AgentRegistryStakeTooLow(uint256 sent, uint256 required);
error AgentRegistryZeroAmount();
/// The amount exceeds the stake that is neither locked for open work nor unbonding.
error AgentRegistryInsufficientFreeStake(address agent, uint256 amount, uint256 free);
error AgentRegistryInsufficientLockedStake(address agent, uint256 amount, uint256 locked);
error AgentRegistryNothingToWithdraw(address agent);
error AgentRegistryStillUnbonding(address agent, uint256 readyAt);
error AgentRegistryNothingToClaim(address account);
error AgentRegistryBadShare(uint256 bps);
error AgentRegistryZeroAddress();
/// The agent is not active (registered with at least minStake bonded) or does not serve the model.
error AgentRegistryNotEligible(address agent, bytes32 modelRoot);

/// @title AgentRegistry: identity, stake, unbonding, endpoint, served models and reputation of agents.
/// @notice Stake is native value. `stake` is bonded stake; `locked` (part of it) backs open work
/// and can be slashed by authorized markets; `unbonding` has left `stake` and is withdrawable after
/// the unbonding delay. Slash proceeds are credited to the beneficiary (pull) and the rest is sent
/// to the burn address. Balance invariant: address(this).balance == Σ stake + Σ unbonding + Σ claimable.
contract AgentRegistry is IAgentRegistry, ReentrancyGuard {
    struct Agent {
        uint128 stake;
        uint128 locked;
        uint128 unbonding;
        uint64 unbondReadyAt;
        bool registered;
        string endpoint;
    }

    uint256 public immutable minStake;
    uint256 public immutable unbondingDelay;
    /// At most this many agents are examined by selectVerifier, so a draw has bounded gas.
    uint256 public constant MAX_SCAN = 64;

    address public owner;
    mapping(address caller => bool) public authorized;
    mapping(address agent => Agent) private _agents;
    mapping(address agent => bytes32[]) private _models;
    mapping(address agent => mapping(bytes32 modelRoot => bool)) private _serving;
    mapping(address agent => Reputation) private _reputation;
    mapping(address account => uint256) public claimable;
    address[] private _agentList;
    uint256 public totalBurnt;

    constructor(uint256 minStake_, uint256 unbondingDelay_) {
        minStake = minStake_;
        unbondingDelay = unbondingDelay_;
        owner = msg.sender;
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert AgentRegistryNotOwner(msg.sender);
        _;
    }

    modifier onlyAuthorized() {
        if (!authorized[msg.sender]) revert AgentRegistryNotAuthorized(msg.sender);
        _;
    }

    modifier onlyRegistered() {
        if (!_agents[msg.sender].registered) revert AgentRegistryNotRegistered(msg.sender);
        _;
    }

    // ---- administration: the deployer wires the markets and the game, then may renounce ----

    function setAuthorized(address caller, bool allowed) external onlyOwner {
        authorized[caller] = allowed;
        emit CallerAuthorized(caller, allowed);
    }

    function renounceOwnership() external onlyOwner {
        emit OwnershipRenounced(owner);
        owner = address(0);
    }

    // ---- agents ----

    function register(string calldata endpoint, bytes32[] calldata models) external payable nonReentrant {
        Agent storage a = _agents[msg.sender];
        if (a.registered) revert AgentRegistryAlreadyRegistered(msg.sender);
        if (msg.value < minStake) revert AgentRegistryStakeTooLow(msg.value, minStake);
        a.registered = true;
        a.stake = uint128(msg.value);
        a.endpoint = endpoint;
        _agentList.push(msg.sender);
        _setModels(msg.sender, models);
        emit AgentRegistered(msg.sender, endpoint, models, msg.value);
    }

    function addStake() external payable nonReentrant onlyRegistered {
        if (msg.value == 0) revert AgentRegistryZeroAmount();
        Agent storage a = _agents[msg.sender];
        a.stake += uint128(msg.value);
        emit StakeAdded(msg.sender, msg.value, a.stake);
    }

    /// Starts unbonding `amount` of free stake; the whole unbonding amount is ready `unbondingDelay` after the last request.
    function requestUnbond(uint256 amount) external nonReentrant onlyRegistered {
        if (amount == 0) revert AgentRegistryZeroAmount();
        Agent storage a = _agents[msg.sender];
        uint256 free = a.stake - a.locked;
        // INVARIANT: locked stake backs open work and can never be unbonded.
        if (amount > free) revert AgentRegistryInsufficientFreeStake(msg.sender, amount, free);
        a.stake -= uint128(amount);
        a.unbonding += uint128(amount);
        a.unbondReadyAt = uint64(block.timestamp + unbondingDelay);
        emit UnbondRequested(msg.sender, amount, a.unbondReadyAt);
    }

    /// Pays out all unbonded stake to `to` once the delay has passed.
    function withdraw(address to) external nonReentrant {
        if (to == address(0)) revert AgentRegistryZeroAddress();
        Agent storage a = _agents[msg.sender];
        uint256 amount = a.unbonding;
        if (amount == 0) revert AgentRegistryNothingToWithdraw(msg.sender);
        // INVARIANT: stake leaves only after the unbonding delay.
        if (block.timestamp < a.unbondReadyAt) revert AgentRegistryStillUnbonding(msg.sender, a.unbondReadyAt);
        a.unbonding = 0;
        SafeTransfer.sendNative(to, amount);
        emit StakeWithdrawn(msg.sender, to, amount);
    }

    /// Pays out the caller's share of slash proceeds.
    function claim(address to) external nonReentrant {
        if (to == address(0)) revert AgentRegistryZeroAddress();
        uint256 amount = claimable[msg.sender];
        if (amount == 0) revert AgentRegistryNothingToClaim(msg.sender);
        claimable[msg.sender] = 0;
        SafeTransfer.sendNative(to, amount);
        emit SlashProceedsClaimed(msg.sender, to, amount);
    }

    function setEndpoint(string calldata endpoint) external onlyRegistered {
        _agents[msg.sender].endpoint = endpoint;
        emit EndpointSet(msg.sender, endpoint);
    }

    /// Replaces the list of served model roots.
    function setModels(bytes32[] calldata models) external onlyRegistered {
        bytes32[] storage old = _models[msg.sender];
        for (uint256 i; i < old.length; ++i) _serving[msg.sender][old[i]] = false;
        delete _models[msg.sender];
        _setModels(msg.sender, models);
        emit ModelsSet(msg.sender, models);
    }

    function _setModels(address agent, bytes32[] calldata models) private {
        for (uint256 i; i < models.length; ++i) {
            if (!_serving[agent][models[i]]) {
                _serving[agent][models[i]] = true;
                _models[agent].push(models[i]);
            }
        }
    }

    // ---- authorized callers: markets and the dispute game ----

    function lockStake(address agent, uint256 amount) external onlyAuthorized {
        Agent storage a = _agents[agent];
        uint256 free = a.stake - a.locked;
        if (amount > free) revert AgentRegistryInsufficientFreeStake(agent, amount, free);
        a.locked += uint128(amount);
        emit StakeLocked(agent, msg.sender, amount, a.locked);
    }

    /// Locks stake of an agent that is active and serves `modelRoot` (one call on the take path).
    function lockStakeFor(address agent, bytes32 modelRoot, uint256 amount) external onlyAuthorized {
        if (!isActive(agent) || !_serving[agent][modelRoot]) revert AgentRegistryNotEligible(agent, modelRoot);
        Agent storage a = _agents[agent];
        uint256 free = a.stake - a.locked;
        if (amount > free) revert AgentRegistryInsufficientFreeStake(agent, amount, free);
        a.locked += uint128(amount);
        emit StakeLocked(agent, msg.sender, amount, a.locked);
    }

    function unlockStake(address agent, uint256 amount) external onlyAuthorized {
        Agent storage a = _agents[agent];
        if (amount > a.locked) revert AgentRegistryInsufficientLockedStake(agent, amount, a.locked);
        a.locked -= uint128(amount);
        emit StakeUnlocked(agent, msg.sender, amount, a.locked);
    }

    /// Unlocks stake after accepted work and records the outcome (one call on the finalize path).
    function release(address agent, uint256 amount, Outcome outcome, uint256 count) external onlyAuthorized {
        Agent storage a = _agents[agent];
        if (amount > a.locked) revert AgentRegistryInsufficientLockedStake(agent, amount, a.locked);
        a.locked -= uint128(amount);
        emit StakeUnlocked(agent, msg.sender, amount, a.locked);
        _record(agent, outcome, count);
    }

    /// Takes `amount` of the agent's locked stake: `beneficiaryBps`/10000 to the beneficiary, the rest burnt.
    function slash(address agent, uint256 amount, address beneficiary, uint256 beneficiaryBps)
        external
        onlyAuthorized
        nonReentrant
    {
        if (beneficiaryBps > 10_000) revert AgentRegistryBadShare(beneficiaryBps);
        Agent storage a = _agents[agent];
        // INVARIANT: only stake locked for the caller's open work can be slashed.
        if (amount > a.locked) revert AgentRegistryInsufficientLockedStake(agent, amount, a.locked);
        a.locked -= uint128(amount);
        a.stake -= uint128(amount);
        uint256 toBeneficiary = amount * beneficiaryBps / 10_000;
        uint256 burnt = amount - toBeneficiary;
        claimable[beneficiary] += toBeneficiary;
        totalBurnt += burnt;
        _reputation[agent].slashes += 1;
        SafeTransfer.sendNative(SafeTransfer.BURN, burnt);
        emit StakeSlashed(agent, beneficiary, amount, toBeneficiary, burnt);
    }

    /// Records `count` outcomes for a registered agent (a no-op for unregistered challengers).
    function recordOutcome(address agent, Outcome outcome, uint256 count) external onlyAuthorized {
        _record(agent, outcome, count);
    }

    function _record(address agent, Outcome outcome, uint256 count) private {
        if (!_agents[agent].registered) return;
        Reputation storage r = _reputation[agent];
        uint64 n = uint64(count);
        if (outcome == Outcome.ResultAccepted) r.resultsAccepted += n;
        else if (outcome == Outcome.AuditPassed) r.auditsPassed += n;
        else if (outcome == Outcome.DisputeWon) r.disputesWon += n;
        else r.disputesLost += n;
        emit OutcomeRecorded(agent, outcome, count);
    }

    // ---- views ----

    function isActive(address agent) public view returns (bool) {
        Agent storage a = _agents[agent];
        return a.registered && a.stake >= minStake;
    }

    function serves(address agent, bytes32 modelRoot) external view returns (bool) {
        return _serving[agent][modelRoot];
    }

    function freeStake(address agent) external view returns (uint256) {
        Agent storage a = _agents[agent];
        return a.stake - a.locked;
    }

    function agentInfo(address account) external view returns (AgentInfo memory info) {
        Agent storage a = _agents[account];
        info.registered = a.registered;
        info.stake = a.stake;
        info.locked = a.locked;
        info.unbonding = a.unbonding;
        info.unbondReadyAt = a.unbondReadyAt;
        info.endpoint = a.endpoint;
        info.models = _models[account];
    }

    function reputation(address account) external view returns (Reputation memory) {
        return _reputation[account];
    }

    function agentCount() external view returns (uint256) {
        return _agentList.length;
    }

    function agentAt(uint256 index) external view returns (address) {
        return _agentList[index];
    }

    /// A verifier for an audit: starting at seed mod n, the first of at most MAX_SCAN agents that is
    /// active, serves the model, has `minFreeStake` free and is not `exclude`. address(0) if none.
    function selectVerifier(bytes32 seed, address exclude, bytes32 modelRoot, uint256 minFreeStake)
        external
        view
        returns (address)
    {
        uint256 n = _agentList.length;
        if (n == 0) return address(0);
        uint256 start = uint256(seed) % n;
        uint256 scan = n < MAX_SCAN ? n : MAX_SCAN;
        for (uint256 i; i < scan; ++i) {
            address candidate = _agentList[(start + i) % n];
            Agent storage a = _agents[candidate];
            if (
                candidate != exclude && isActive(candidate) && _serving[candidate][modelRoot]
                    && a.stake - a.locked >= minFreeStake
            ) return candidate;
        }
        return address(0);
    }
}
