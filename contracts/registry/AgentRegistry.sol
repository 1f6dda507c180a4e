// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAgentRegistry} from "../interfaces/IAgentRegistry.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {ReentrancyGuard} from "../market/lib/ReentrancyGuard.sol";
import {SafeTransfer} from "../market/lib/SafeTransfer.sol";

import {AgentRegistryIndexMissingAgent, VerifierIndex} from "./VerifierIndex.sol";

error AgentRegistryNotOwner(address caller);
error AgentRegistryNotAuthorized(address caller);
error AgentRegistryAlreadyRegistered(address agent);
error AgentRegistryNotRegistered(address agent);
error AgentRegistryStakeTooLow(uint256 sent, uint256 required);
/// Stake is capped at 2^96 - 2 wei (more than the ether supply) so that it packs in one word with the
/// locks and the verifier index cannot overflow.
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
/// Agents serve registered models only, so that serving a model proves it is registered.
error AgentRegistryUnknownModel(bytes32 modelRoot);
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
/// Audit draws (selectVerifier) sample the auditors of a model weighted by bonded stake, from a
/// per-model VerifierIndex holding exactly its auditors, keyed by bonded stake. An auditor of a
/// model is an agent that serves it, is active and has at least `auditThreshold` free; every
/// market's audit lock is at most that threshold (MarketParams.check), so every drawn auditor can
/// take its lock. Only a change of bonded stake (register, addStake, requestUnbond, slash), of
/// activity, of served models, or a lock that crosses the threshold touches the indexes:
/// O(MAX_MODELS · log n) then, one comparison for every other lock and unlock, O(log n) per draw.
contract AgentRegistry is IAgentRegistry, ReentrancyGuard {
    using VerifierIndex for VerifierIndex.Tree;

    /// The first word holds all that a lock, an unlock and a release read and write.
    struct Agent {
        /// Bonded stake, locked part included (<= MAX_STAKE): the agent's key and weight in the indexes.
        uint96 stake;
        uint96 locked;
        /// 1-based position in the agent list, 0 while unregistered; the node id in the indexes.
        uint24 id;
        /// In the indexes of its models (an auditor at the last sync), keyed by `stake`.
        bool inIndex;
        /// Accepted results not yet moved to the reputation record: kept in this word, which a
        /// release writes anyway, and moved there only when it would pass 2^32 - 1.
        uint32 resultsAccepted;
        uint128 unbonding;
        uint64 unbondReadyAt;
        string endpoint;
    }

    /// The stake one market locked for one agent. `opened` stays set once the market has locked for
    /// the agent, so that the word never returns to zero: each later lock rewrites a live word
    /// (2,900 gas) instead of creating one (20,000).
    struct MarketLock {
        uint96 amount;
        bool opened;
    }

    /// Served models must be registered here; a registration is permanent, so a served model is a
    /// registered one (markets rely on it: see lockStakeFor).
    IModelRegistry public immutable modelRegistry;
    uint256 public immutable minStake;
    uint256 public immutable unbondingDelay;
    /// The free stake an active agent needs to be drawn as an auditor; markets' audit locks are at most this.
    uint256 public immutable auditThreshold;
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
    mapping(address agent => mapping(address market => MarketLock)) private _locks;
    mapping(bytes32 modelRoot => VerifierIndex.Tree) private _index;
    mapping(address account => uint256) public claimable;
    address[] private _agentList;
    uint256 public totalBurnt;

    constructor(IModelRegistry modelRegistry_, uint256 minStake_, uint256 unbondingDelay_, uint256 auditThreshold_) {
        modelRegistry = modelRegistry_;
        minStake = minStake_;
        unbondingDelay = unbondingDelay_;
        auditThreshold = auditThreshold_;
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
        // The lock is read first: it is the word the call goes on to update, so the common case
        // (the market releasing its own lock) reads no other.
        if (_locks[agent][msg.sender].amount == 0 && !authorized[msg.sender]) {
            revert AgentRegistryNotAuthorized(msg.sender);
        }
        _;
    }

    modifier onlyRegistered() {
        if (_agents[msg.sender].id == 0) revert AgentRegistryNotRegistered(msg.sender);
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
        if (a.id != 0) revert AgentRegistryAlreadyRegistered(msg.sender);
        if (msg.value < minStake) revert AgentRegistryStakeTooLow(msg.value, minStake);
        if (msg.value > MAX_STAKE) revert AgentRegistryStakeTooLarge(msg.value, MAX_STAKE);
        if (_agentList.length >= type(uint24).max) revert AgentRegistryTooManyAgents(type(uint24).max);
        a.stake = uint96(msg.value);
        a.endpoint = endpoint;
        _agentList.push(msg.sender);
        a.id = uint24(_agentList.length);
        _setModels(msg.sender, models);
        _sync(msg.sender, 0);
        emit AgentRegistered(msg.sender, endpoint, models, msg.value);
    }

    function addStake() external payable nonReentrant onlyRegistered {
        if (msg.value == 0) revert AgentRegistryZeroAmount();
        Agent storage a = _agents[msg.sender];
        uint256 before = a.stake;
        uint256 stake = before + msg.value;
        if (stake > MAX_STAKE) revert AgentRegistryStakeTooLarge(stake, MAX_STAKE);
        a.stake = uint96(stake);
        _sync(msg.sender, before);
        emit StakeAdded(msg.sender, msg.value, stake);
    }

    /// Starts unbonding `amount` of free stake; the whole unbonding amount is ready `unbondingDelay` after the last request.
    function requestUnbond(uint256 amount) external nonReentrant onlyRegistered {
        if (amount == 0) revert AgentRegistryZeroAmount();
        Agent storage a = _agents[msg.sender];
        uint256 free = a.stake - a.locked;
        // INVARIANT: locked stake backs open work and can never be unbonded.
        if (amount > free) revert AgentRegistryInsufficientFreeStake(msg.sender, amount, free);
        uint256 before = a.stake;
        // Cannot underflow: amount <= free <= stake.
        a.stake = uint96(before - amount);
        a.unbonding += uint128(amount);
        a.unbondReadyAt = uint64(block.timestamp + unbondingDelay);
        _sync(msg.sender, before);
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

    /// Replaces the list of served model roots (at most MAX_MODELS distinct registered roots).
    function setModels(bytes32[] calldata models) external nonReentrant onlyRegistered {
        Agent storage a = _agents[msg.sender];
        bytes32[] storage old = _models[msg.sender];
        for (uint256 i; i < old.length; ++i) {
            if (a.inIndex) _index[old[i]].remove(a.id, a.stake);
            _serving[msg.sender][old[i]] = false;
        }
        delete _models[msg.sender];
        _setModels(msg.sender, models);
        bytes32[] storage current = _models[msg.sender];
        for (uint256 i; i < current.length; ++i) {
            if (a.inIndex) _index[current[i]].insert(a.id, a.stake);
        }
        emit ModelsSet(msg.sender, models);
    }

    function _setModels(address agent, bytes32[] calldata models) private {
        for (uint256 i; i < models.length; ++i) {
            if (!_serving[agent][models[i]]) {
                if (!modelRegistry.isRegistered(models[i])) revert AgentRegistryUnknownModel(models[i]);
                _serving[agent][models[i]] = true;
                _models[agent].push(models[i]);
            }
        }
        uint256 count = _models[agent].length;
        if (count > MAX_MODELS) revert AgentRegistryTooManyModels(count, MAX_MODELS);
    }

    /// Brings the agent's index entries up to date after a change of stake, locks or activity: the
    /// agent is in the index of each of its models exactly while it is an auditor (active, with at
    /// least auditThreshold free), keyed by its bonded stake. `oldStake` is the bonded stake before
    /// the change (the key it is indexed under). A lock or unlock that leaves the agent on the same
    /// side of the threshold returns after one comparison.
    /// INVARIANT: an indexed agent is keyed by its current bonded stake, so every write of
    /// `a.stake` is followed by a sync with the stake before it.
    function _sync(address agent, uint256 oldStake) private {
        Agent storage a = _agents[agent];
        uint256 stake = a.stake;
        bool auditor = a.id != 0 && stake >= minStake && stake - a.locked >= auditThreshold;
        bool wasIndexed = a.inIndex;
        if (auditor == wasIndexed && (!auditor || stake == oldStake)) return;
        bytes32[] storage models = _models[agent];
        uint24 id = a.id;
        for (uint256 i; i < models.length; ++i) {
            VerifierIndex.Tree storage t = _index[models[i]];
            // Both fit: stake <= MAX_STAKE < 2^96 (register, addStake) and stake only decreases otherwise.
            if (wasIndexed) t.remove(id, uint96(oldStake));
            if (auditor) t.insert(id, uint96(stake));
        }
        if (auditor != wasIndexed) a.inIndex = auditor;
    }

    // ---- authorized markets ----

    function lockStake(address agent, uint256 amount) external onlyAuthorized {
        _lock(agent, amount);
    }

    /// Locks stake of an agent that is active and serves `modelRoot` (one call on the take path). It
    /// reverts for a model that is not registered, which nobody can serve.
    function lockStakeFor(address agent, bytes32 modelRoot, uint256 amount) external onlyAuthorized {
        if (!isActive(agent) || !_serving[agent][modelRoot]) revert AgentRegistryNotEligible(agent, modelRoot);
        _lock(agent, amount);
    }

    function _lock(address agent, uint256 amount) private {
        Agent storage a = _agents[agent];
        uint256 stake = a.stake;
        uint256 locked = a.locked;
        uint256 free = stake - locked;
        // INVARIANT: a lock is backed by the agent's own free stake (never by unbonding or others' locks).
        if (amount > free) revert AgentRegistryInsufficientFreeStake(agent, amount, free);
        MarketLock storage m = _locks[agent][msg.sender];
        // Cannot overflow: locked + amount <= stake <= MAX_STAKE < 2^96, and each market's lock <= locked.
        unchecked {
            locked += amount;
            _locks[agent][msg.sender] = MarketLock(uint96(m.amount + amount), true);
        }
        a.locked = uint96(locked);
        _sync(agent, stake);
        emit StakeLocked(agent, msg.sender, amount, locked);
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
        uint256 locked;
        // Cannot underflow: _takeLock checked amount <= the caller's lock <= locked.
        unchecked {
            locked = a.locked - amount;
        }
        a.locked = uint96(locked);
        _sync(agent, a.stake);
        emit StakeUnlocked(agent, msg.sender, amount, locked);
    }

    /// Removes `amount` from the caller's own lock on the agent.
    function _takeLock(address agent, uint256 amount) private {
        MarketLock storage m = _locks[agent][msg.sender];
        uint256 mine = m.amount;
        // INVARIANT: a market can only unlock or slash stake that it locked itself for this agent.
        if (amount > mine) revert AgentRegistryInsufficientLockedStake(agent, msg.sender, amount, mine);
        // Cannot underflow: checked just above. `opened` was set by the lock that made `mine`
        // (mine >= amount; a zero amount leaves the word as it is).
        unchecked {
            m.amount = uint96(mine - amount);
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
        uint256 before = a.stake;
        // Cannot underflow: amount <= the caller's lock <= locked <= stake.
        unchecked {
            a.locked -= uint96(amount);
            a.stake = uint96(before - amount);
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
        _sync(agent, before);
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
        Agent storage a = _agents[agent];
        if (a.id == 0) return;
        Reputation storage r = _reputation[agent];
        uint64 n = uint64(count < MAX_RESULTS_PER_RECORD ? count : MAX_RESULTS_PER_RECORD);
        if (outcome == Outcome.ResultAccepted) {
            uint256 pending = uint256(a.resultsAccepted) + n;
            if (pending > type(uint32).max) {
                r.resultsAccepted += uint64(pending);
                pending = 0;
            }
            a.resultsAccepted = uint32(pending);
        } else if (outcome == Outcome.AuditPassed) {
            r.auditsPassed += n;
        } else if (outcome == Outcome.DisputeWon) {
            r.disputesWon += n;
        } else {
            r.disputesLost += n;
        }
        emit OutcomeRecorded(agent, outcome, n);
    }

    // ---- views ----

    function isActive(address agent) public view returns (bool) {
        Agent storage a = _agents[agent];
        return a.id != 0 && a.stake >= minStake;
    }

    /// The part of the agent's locked stake that `market` locked (and alone can unlock or slash).
    function lockedBy(address agent, address market) external view returns (uint256) {
        return _locks[agent][market].amount;
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
        info.registered = a.id != 0;
        info.stake = a.stake;
        info.locked = a.locked;
        info.unbonding = a.unbonding;
        info.unbondReadyAt = a.unbondReadyAt;
        info.endpoint = a.endpoint;
        info.models = _models[account];
    }

    function reputation(address account) external view returns (Reputation memory r) {
        r = _reputation[account];
        r.resultsAccepted += _agents[account].resultsAccepted;
    }

    function agentCount() external view returns (uint256) {
        return _agentList.length;
    }

    function agentAt(uint256 index) external view returns (address) {
        return _agentList[index];
    }

    /// The verifier index of a model: Σ (bonded stake + 1) over its auditors, and the tree height.
    function verifierIndex(bytes32 modelRoot) external view returns (uint256 weight, uint256 height) {
        VerifierIndex.Tree storage t = _index[modelRoot];
        return (t.total(), t.height());
    }

    /// Whether the agent is drawn as an auditor of the model: it serves it, is active, and has at
    /// least auditThreshold free (as of its last sync, which every change of these makes).
    function isAuditor(address agent, bytes32 modelRoot) public view returns (bool) {
        return _agents[agent].inIndex && _serving[agent][modelRoot];
    }

    /// Σ (bonded stake + 1) over the agents selectVerifier may return for these arguments.
    function eligibleWeight(address exclude, bytes32 modelRoot) external view returns (uint256 weight) {
        weight = _index[modelRoot].total();
        if (isAuditor(exclude, modelRoot)) weight -= uint256(_agents[exclude].stake) + 1;
    }

    /// An auditor of the model other than `exclude`, each with probability proportional to its
    /// bonded stake + 1 wei: unit u = seed mod (their total weight) in the index's key order (bonded
    /// stake, then agent id), skipping the excluded agent's interval. The agent returned always has
    /// at least auditThreshold free. address(0) only if the model has no other auditor.
    function selectVerifier(bytes32 seed, address exclude, bytes32 modelRoot) external view returns (address) {
        VerifierIndex.Tree storage t = _index[modelRoot];
        uint256 total = t.total();
        bool skip = isAuditor(exclude, modelRoot);
        Agent storage ex = _agents[exclude];
        uint256 skipWeight = skip ? uint256(ex.stake) + 1 : 0;
        if (total == skipWeight) return address(0);
        uint256 unit = uint256(seed) % (total - skipWeight);
        if (skip && unit >= t.weightBefore(ex.id, ex.stake)) unit += skipWeight;
        uint24 id = t.agentAtUnit(unit);
        if (id == 0 || id > _agentList.length) revert AgentRegistryIndexMissingAgent(id);
        return _agentList[id - 1];
    }
}
