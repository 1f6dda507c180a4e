// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAgentRegistry} from "../interfaces/IAgentRegistry.sol";
import {ReentrancyGuard} from "../market/lib/ReentrancyGuard.sol";
import {SafeTransfer} from "../market/lib/SafeTransfer.sol";

import {AgentRegistryIndexMissingAgent, VerifierIndex} from "./VerifierIndex.sol";

error AgentRegistryNotOwner(address caller);
error AgentRegistryNotAuthorized(address caller);
error AgentRegistryAlreadyRegistered(address agent);
error AgentRegistryNotRegistered(address agent);
error AgentRegistryStakeTooLow(uint256 sent, uint256 required);
/// Stake is capped at 2^96 - 2 wei (more than the ether supply) so the verifier index cannot overflow.
error AgentRegistryStakeTooLarge(uint256 stake, uint256 max);
error AgentRegistryTooManyAgents(uint256 max);
/// Every served model is one verifier index to update on each stake change, so the list is capped.
error AgentRegistryTooManyModels(uint256 count, uint256 max);
error AgentRegistryZeroAmount();
/// The amount exceeds the stake that is neither locked for open work nor unbonding.
error AgentRegistryInsufficientFreeStake(address agent, uint256 amount, uint256 free);
/// A market may only unlock or slash stake that it locked itself for this agent.
error AgentRegistryInsufficientLockedStake(address agent, address market, uint256 amount, uint256 lockedByMarket);
error AgentRegistryNothingToWithdraw(address agent);
error AgentRegistryStillUnbonding(address agent, uint256 readyAt);
error AgentRegistryNothingToClaim(address account);
error AgentRegistryBadShare(uint256 bps);
error AgentRegistryZeroAddress();
/// The agent is not active (registered with at least minStake bonded) or does not serve the model.
error AgentRegistryNotEligible(address agent, bytes32 modelRoot);

/// @title AgentRegistry: identity, stake, unbonding, endpoint, served models and reputation of agents.
/// @notice Stake is native value. `stake` is bonded stake; `locked` (part of it) backs open work;
/// `unbonding` has left `stake` and is withdrawable after the unbonding delay. Each lock belongs to
/// the market that made it: only that market can unlock or slash it (`lockedBy`), so no market, and
/// no key that authorizes markets, can reach stake locked for another market's work. A slash pays at
/// most MAX_BENEFICIARY_BPS to the beneficiary and burns the rest, so slashing stake to oneself
/// always loses at least half of it. The deployer authorizes the markets, then renounces ownership
/// (src/chain/deployVerinfer.ts). Balance invariant:
/// address(this).balance == Σ stake + Σ unbonding + Σ claimable.
///
/// Audit draws (selectVerifier) sample the eligible agents of a model weighted by free stake, from a
/// per-model VerifierIndex holding exactly the active agents that serve it, keyed by their free
/// stake. Every change of stake, lock, activity or served models re-keys the agent in each of its
/// model indexes: O(MAX_MODELS · log n) per change, O(log n) per draw.
contract AgentRegistry is IAgentRegistry, ReentrancyGuard {
    using VerifierIndex for VerifierIndex.Tree;

    struct Agent {
        uint128 stake;
        uint128 locked;
        uint128 unbonding;
        uint64 unbondReadyAt;
        bool registered;
        /// 1-based position in the agent list; the agent's node id in the verifier indexes.
        uint24 id;
        /// Whether the agent is in its models' indexes (it was active at the last sync), and the
        /// free stake it is keyed by there.
        bool inIndex;
        uint96 indexedFree;
        string endpoint;
    }

    uint256 public immutable minStake;
    uint256 public immutable unbondingDelay;
    /// The most a slash pays to its beneficiary; the rest is burnt.
    uint256 public constant MAX_BENEFICIARY_BPS = 5_000;
    /// The most results one release or recordOutcome call adds to a reputation counter.
    uint256 public constant MAX_RESULTS_PER_RECORD = 256;
    uint256 public constant MAX_MODELS = 16;
    uint256 public constant MAX_STAKE = type(uint96).max - 1;

    address public owner;
    mapping(address caller => bool) public authorized;
    mapping(address agent => Agent) private _agents;
    mapping(address agent => bytes32[]) private _models;
    mapping(address agent => mapping(bytes32 modelRoot => bool)) private _serving;
    mapping(address agent => Reputation) private _reputation;
    mapping(address agent => mapping(address market => uint256)) public lockedBy;
    mapping(bytes32 modelRoot => VerifierIndex.Tree) private _index;
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

    /// Authorized markets, and a market that is no longer authorized but still holds a lock on the
    /// agent (it was authorized when it locked), so that its open work can settle.
    modifier onlyLockHolder(address agent) {
        if (!authorized[msg.sender] && lockedBy[agent][msg.sender] == 0) revert AgentRegistryNotAuthorized(msg.sender);
        _;
    }

    modifier onlyRegistered() {
        if (!_agents[msg.sender].registered) revert AgentRegistryNotRegistered(msg.sender);
        _;
    }

    // ---- administration: the deployer wires the markets, then renounces ----

    /// Allows or stops new locks and records by `caller`. A market that is no longer authorized can
    /// still unlock and slash what it locked, so its open work settles by its rules.
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
        if (msg.value > MAX_STAKE) revert AgentRegistryStakeTooLarge(msg.value, MAX_STAKE);
        if (_agentList.length >= type(uint24).max) revert AgentRegistryTooManyAgents(type(uint24).max);
        a.registered = true;
        a.stake = uint128(msg.value);
        a.endpoint = endpoint;
        _agentList.push(msg.sender);
        a.id = uint24(_agentList.length);
        _setModels(msg.sender, models);
        _sync(msg.sender);
        emit AgentRegistered(msg.sender, endpoint, models, msg.value);
    }

    function addStake() external payable nonReentrant onlyRegistered {
        if (msg.value == 0) revert AgentRegistryZeroAmount();
        Agent storage a = _agents[msg.sender];
        uint256 stake = a.stake + msg.value;
        if (stake > MAX_STAKE) revert AgentRegistryStakeTooLarge(stake, MAX_STAKE);
        a.stake = uint128(stake);
        _sync(msg.sender);
        emit StakeAdded(msg.sender, msg.value, stake);
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
        _sync(msg.sender);
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

    /// Replaces the list of served model roots (at most MAX_MODELS distinct roots).
    function setModels(bytes32[] calldata models) external nonReentrant onlyRegistered {
        Agent storage a = _agents[msg.sender];
        bytes32[] storage old = _models[msg.sender];
        for (uint256 i; i < old.length; ++i) {
            if (a.inIndex) _index[old[i]].remove(a.id, a.indexedFree);
            _serving[msg.sender][old[i]] = false;
        }
        delete _models[msg.sender];
        _setModels(msg.sender, models);
        bytes32[] storage current = _models[msg.sender];
        for (uint256 i; i < current.length; ++i) {
            if (a.inIndex) _index[current[i]].insert(a.id, a.indexedFree);
        }
        emit ModelsSet(msg.sender, models);
    }

    function _setModels(address agent, bytes32[] calldata models) private {
        for (uint256 i; i < models.length; ++i) {
            if (!_serving[agent][models[i]]) {
                _serving[agent][models[i]] = true;
                _models[agent].push(models[i]);
            }
        }
        uint256 count = _models[agent].length;
        if (count > MAX_MODELS) revert AgentRegistryTooManyModels(count, MAX_MODELS);
    }

    /// Re-keys the agent in the indexes of its models after a change of stake, locks or activity:
    /// an agent is indexed exactly while it is active, keyed by its free stake.
    function _sync(address agent) private {
        Agent storage a = _agents[agent];
        bool active = a.registered && a.stake >= minStake;
        // Fits: stake <= MAX_STAKE < 2^96 (register, addStake) and locked <= stake.
        uint96 free = uint96(a.stake - a.locked);
        bool wasIndexed = a.inIndex;
        uint96 oldFree = a.indexedFree;
        if (active == wasIndexed && (!active || free == oldFree)) return;
        bytes32[] storage models = _models[agent];
        uint24 id = a.id;
        for (uint256 i; i < models.length; ++i) {
            VerifierIndex.Tree storage t = _index[models[i]];
            if (wasIndexed) t.remove(id, oldFree);
            if (active) t.insert(id, free);
        }
        a.inIndex = active;
        a.indexedFree = free;
    }

    // ---- authorized markets ----

    function lockStake(address agent, uint256 amount) external onlyAuthorized {
        _lock(agent, amount);
    }

    /// Locks stake of an agent that is active and serves `modelRoot` (one call on the take path).
    function lockStakeFor(address agent, bytes32 modelRoot, uint256 amount) external onlyAuthorized {
        if (!isActive(agent) || !_serving[agent][modelRoot]) revert AgentRegistryNotEligible(agent, modelRoot);
        _lock(agent, amount);
    }

    function _lock(address agent, uint256 amount) private {
        Agent storage a = _agents[agent];
        uint256 free = a.stake - a.locked;
        // INVARIANT: a lock is backed by the agent's own free stake (never by unbonding or others' locks).
        if (amount > free) revert AgentRegistryInsufficientFreeStake(agent, amount, free);
        // Cannot overflow: locked + amount <= stake <= MAX_STAKE, and lockedBy[agent][m] <= locked.
        unchecked {
            a.locked += uint128(amount);
            lockedBy[agent][msg.sender] += amount;
        }
        _sync(agent);
        emit StakeLocked(agent, msg.sender, amount, a.locked);
    }

    function unlockStake(address agent, uint256 amount) external onlyLockHolder(agent) {
        _unlock(agent, amount);
    }

    /// Unlocks stake after accepted work and records the outcome (one call on the finalize path).
    /// `count` is the number of results that paid a fee (see recordOutcome).
    function release(address agent, uint256 amount, Outcome outcome, uint256 count)
        external
        onlyLockHolder(agent)
    {
        _unlock(agent, amount);
        if (count != 0) _record(agent, outcome, count);
    }

    /// Returns `amount` of the stake the caller locked for the agent to its free stake.
    function _unlock(address agent, uint256 amount) private {
        _takeLock(agent, amount);
        Agent storage a = _agents[agent];
        // Cannot underflow: _takeLock checked amount <= lockedBy[agent][caller] <= locked.
        unchecked {
            a.locked -= uint128(amount);
        }
        _sync(agent);
        emit StakeUnlocked(agent, msg.sender, amount, a.locked);
    }

    /// Removes `amount` from the caller's own lock on the agent.
    function _takeLock(address agent, uint256 amount) private {
        uint256 mine = lockedBy[agent][msg.sender];
        // INVARIANT: a market can only unlock or slash stake that it locked itself for this agent.
        if (amount > mine) revert AgentRegistryInsufficientLockedStake(agent, msg.sender, amount, mine);
        // Cannot underflow: checked just above.
        unchecked {
            lockedBy[agent][msg.sender] = mine - amount;
        }
    }

    /// Takes `amount` of the stake the caller locked for the agent: min(beneficiaryBps,
    /// MAX_BENEFICIARY_BPS)/10000 to the beneficiary (pull), the rest burnt. Shares above the cap are
    /// reduced rather than refused, so a market's conviction path never reverts on its parameters.
    function slash(address agent, uint256 amount, address beneficiary, uint256 beneficiaryBps)
        external
        nonReentrant
        onlyLockHolder(agent)
    {
        if (beneficiaryBps > 10_000) revert AgentRegistryBadShare(beneficiaryBps);
        _takeLock(agent, amount);
        Agent storage a = _agents[agent];
        // Cannot underflow: amount <= lockedBy[agent][caller] <= locked <= stake.
        unchecked {
            a.locked -= uint128(amount);
            a.stake -= uint128(amount);
        }
        uint256 bps = beneficiaryBps < MAX_BENEFICIARY_BPS ? beneficiaryBps : MAX_BENEFICIARY_BPS;
        // Nobody can claim for address(0): its share is burnt instead of stranded.
        if (beneficiary == address(0)) bps = 0;
        // INVARIANT: at most half of slashed stake goes to the beneficiary; the rest leaves the system.
        uint256 toBeneficiary = amount * bps / 10_000;
        uint256 burnt = amount - toBeneficiary;
        claimable[beneficiary] += toBeneficiary;
        totalBurnt += burnt;
        _reputation[agent].slashes += 1;
        _sync(agent);
        SafeTransfer.sendNative(SafeTransfer.BURN, burnt);
        emit StakeSlashed(agent, beneficiary, amount, toBeneficiary, burnt);
    }

    /// Records outcomes for a registered agent (a no-op for unregistered challengers). For
    /// ResultAccepted, `count` is the number of results that paid a fee: a market passes 0 for
    /// unpaid work, and at most MAX_RESULTS_PER_RECORD are added per call, so reputation cannot be
    /// minted in bulk by free or self-paid batches.
    function recordOutcome(address agent, Outcome outcome, uint256 count) external onlyAuthorized {
        if (count != 0) _record(agent, outcome, count);
    }

    function _record(address agent, Outcome outcome, uint256 count) private {
        if (!_agents[agent].registered) return;
        Reputation storage r = _reputation[agent];
        uint64 n = uint64(count < MAX_RESULTS_PER_RECORD ? count : MAX_RESULTS_PER_RECORD);
        if (outcome == Outcome.ResultAccepted) r.resultsAccepted += n;
        else if (outcome == Outcome.AuditPassed) r.auditsPassed += n;
        else if (outcome == Outcome.DisputeWon) r.disputesWon += n;
        else r.disputesLost += n;
        emit OutcomeRecorded(agent, outcome, n);
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

    /// The verifier index of a model: Σ (free stake + 1) over its active agents, and the tree height.
    function verifierIndex(bytes32 modelRoot) external view returns (uint256 weight, uint256 height) {
        VerifierIndex.Tree storage t = _index[modelRoot];
        return (t.total(), t.height());
    }

    /// Σ (free stake + 1) over the agents selectVerifier may return for these arguments.
    function eligibleWeight(address exclude, bytes32 modelRoot, uint256 minFreeStake)
        public
        view
        returns (uint256 weight)
    {
        weight = _index[modelRoot].weightAbove(minFreeStake);
        if (_excluded(exclude, modelRoot, minFreeStake)) weight -= uint256(_agents[exclude].indexedFree) + 1;
    }

    /// A verifier for an audit, drawn from the agents that are active, serve the model, have at
    /// least `minFreeStake` free and are not `exclude`, each with probability proportional to its
    /// free stake + 1 wei: unit u = seed mod (their total weight) of the index's key order (free
    /// stake, then agent id), skipping the excluded agent's interval. address(0) only if no agent is
    /// eligible.
    function selectVerifier(bytes32 seed, address exclude, bytes32 modelRoot, uint256 minFreeStake)
        external
        view
        returns (address)
    {
        VerifierIndex.Tree storage t = _index[modelRoot];
        uint256 above = t.weightAbove(minFreeStake);
        bool skip = _excluded(exclude, modelRoot, minFreeStake);
        Agent storage ex = _agents[exclude];
        uint256 skipWeight = skip ? uint256(ex.indexedFree) + 1 : 0;
        if (above == skipWeight) return address(0);
        // The eligible units are [total - above, total) in key order, minus the excluded interval.
        uint256 unit = t.total() - above + uint256(seed) % (above - skipWeight);
        if (skip && unit >= t.weightBefore(ex.id, ex.indexedFree)) unit += skipWeight;
        uint24 id = t.agentAtUnit(unit);
        if (id == 0 || id > _agentList.length) revert AgentRegistryIndexMissingAgent(id);
        return _agentList[id - 1];
    }

    /// Whether `exclude` is in the model's index above the threshold (so its weight must be skipped).
    function _excluded(address exclude, bytes32 modelRoot, uint256 minFreeStake) private view returns (bool) {
        Agent storage a = _agents[exclude];
        return a.inIndex && _serving[exclude][modelRoot] && a.indexedFree >= minFreeStake;
    }
}
