// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Commitments} from "../game/Commitments.sol";
import {IAgentRegistry} from "../interfaces/IAgentRegistry.sol";
import {IDisputeArena} from "../interfaces/IDisputeArena.sol";
import {IDisputeGame} from "../interfaces/IDisputeGame.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IVerinferConsumer} from "../interfaces/IVerinferConsumer.sol";
import {MarketParams} from "./MarketParams.sol";
import {ReentrancyGuard} from "./lib/ReentrancyGuard.sol";
import {SafeTransfer} from "./lib/SafeTransfer.sol";

error TaskMarketNotRequester(address caller, address requester);
error TaskMarketUnknownModel(bytes32 modelRoot);
error TaskMarketBadDeadline(uint256 deadline, uint256 nowTime);
error TaskMarketCallbackGasTooHigh(uint256 limit, uint256 max);
error TaskMarketInputRootMismatch(bytes32 computed, bytes32 inputRoot);
error TaskMarketTaskExists(bytes32 taskId);
error TaskMarketFeeMismatch(uint256 sent, uint256 required);
error TaskMarketFeeOnTransfer(address token, uint256 expected, uint256 received);
error TaskMarketWrongStatus(bytes32 taskId, TaskMarket.Status status, TaskMarket.Status expected);
error TaskMarketTakeDeadlinePassed(bytes32 taskId, uint256 takeDeadline);
error TaskMarketNotWorker(bytes32 taskId, address caller, address worker);
error TaskMarketResultDeadlinePassed(bytes32 taskId, uint256 resultDeadline);
error TaskMarketZeroCommitment(bytes32 taskId);
error TaskMarketOutputRootMismatch(bytes32 taskId, bytes32 computed, bytes32 outputRoot);
error TaskMarketResultMismatch(bytes32 taskId);
error TaskMarketChallengeWindowOpen(bytes32 taskId, uint256 endsAt);
error TaskMarketChallengeWindowClosed(bytes32 taskId, uint256 closedAt);
error TaskMarketDisputesOpen(bytes32 taskId, uint256 openDisputes);
error TaskMarketTooManyDisputes(bytes32 taskId);
error TaskMarketBondMismatch(uint256 sent, uint256 required);
error TaskMarketSelfChallenge(bytes32 taskId);
error TaskMarketNotExpired(bytes32 taskId, uint256 expiresAt);
error TaskMarketAuditSeedNotReady(bytes32 taskId, uint256 seedBlock);
error TaskMarketAuditAlreadyDrawn(bytes32 taskId);
error TaskMarketAuditPending(bytes32 taskId, address auditor, uint256 deadline);
error TaskMarketNotAuditor(bytes32 taskId, address caller);
error TaskMarketAuditDeadlinePassed(bytes32 taskId, uint256 deadline);
error TaskMarketAuditNotExpired(bytes32 taskId, uint256 deadline);
error TaskMarketAttestationMismatch(bytes32 taskId, bytes32 computed, bytes32 commitment);
error TaskMarketCallbackGasTooLow(uint256 available, uint256 required);
error TaskMarketNotGame(address caller);
error TaskMarketNothingOwed(address token, address account);
error TaskMarketZeroAddress();

/// @title TaskMarket: single inference tasks with optimistic settlement, random audits and disputes.
/// @notice A task is identified by the hash of its parameters; only a one-word state (and, once
/// posted, a one-word result hash) is stored, so every call passes the Task back as calldata.
///   create -> take -> postResult -> (window; audit draw) -> finalize -> consumer callback
/// Untaken tasks expire to a refund; taken tasks without a result expire to a refund plus a slash.
/// Payments are pull (`withdraw`). Solvency: for each token, the balance equals the fees of open
/// tasks plus Σ owed.
contract TaskMarket is IDisputeArena, ReentrancyGuard {
    struct Task {
        address requester;
        bytes32 modelRoot;
        bytes32 inputRoot;
        /// address(0) for the native currency, else an ERC-20 (fee-on-transfer tokens are rejected).
        address feeToken;
        uint256 fee;
        uint64 takeDeadline;
        /// An IVerinferConsumer called on finalization, or address(0).
        address consumer;
        uint32 callbackGasLimit;
        bytes32 salt;
    }

    enum Status {
        None,
        Open,
        Taken,
        Posted,
        Finalized,
        Expired,
        Convicted
    }

    enum AuditState {
        Undrawn,
        Skipped,
        Assigned,
        Attested,
        Challenged,
        Silenced,
        Closed
    }

    /// One word per task. `deadline`: result deadline when Taken, end of the challenge window when Posted.
    struct TaskState {
        address worker;
        Status status;
        uint8 openDisputes;
        uint40 deadline;
        /// The audit seed is blockhash(seedBlock + 1); set at postResult, re-armed if it expired.
        uint40 seedBlock;
    }

    struct Audit {
        address auditor;
        AuditState state;
        uint40 deadline;
    }

    /// Stored on the first challenge only: who gets the fee back if the worker is convicted.
    struct Refund {
        address requester;
        address feeToken;
        uint256 fee;
    }

    event TaskCreated(bytes32 indexed taskId, address indexed requester, bytes32 indexed modelRoot, Task task, bytes inlineInput);
    event TaskTaken(bytes32 indexed taskId, address indexed worker, uint256 resultDeadline);
    event ResultPosted(
        bytes32 indexed taskId, address indexed worker, bytes32 resultCommitment, bytes32 outputRoot, bytes output
    );
    event TaskFinalized(bytes32 indexed taskId, address indexed worker, uint256 workerPay, uint256 auditReward);
    event ConsumerCalled(bytes32 indexed taskId, address indexed consumer, bool succeeded);
    event TaskExpired(bytes32 indexed taskId, address indexed worker, bool workerSlashed);
    event TaskChallenged(bytes32 indexed taskId, uint256 indexed gameId, address indexed challenger);
    event DisputeSettled(bytes32 indexed taskId, uint256 indexed gameId, Outcome outcome);
    event TaskConvicted(bytes32 indexed taskId, address indexed worker, address indexed challenger);
    event AuditDrawn(bytes32 indexed taskId, bool selected, address auditor, uint256 deadline);
    event AuditRearmed(bytes32 indexed taskId, uint256 seedBlock);
    event AuditAttested(bytes32 indexed taskId, address indexed auditor, bytes32 checkpointRoot);
    event AuditorSlashed(bytes32 indexed taskId, address indexed auditor, address indexed beneficiary);
    event Withdrawn(address indexed token, address indexed account, address to, uint256 amount);

    IAgentRegistry public immutable registry;
    IModelRegistry public immutable models;
    IDisputeGame public immutable game;
    uint256 public immutable workerStake;
    uint256 public immutable auditStake;
    uint256 public immutable challengeBond;
    uint256 public immutable resultWindow;
    uint256 public immutable challengeWindow;
    uint256 public immutable auditWindow;
    uint256 public immutable auditBps;
    uint256 public immutable auditRewardBps;
    uint256 public immutable slashBeneficiaryBps;
    uint256 public immutable maxCallbackGas;

    mapping(bytes32 taskId => TaskState) private _states;
    mapping(bytes32 taskId => bytes32) private _resultHashes;
    mapping(bytes32 taskId => Audit) private _audits;
    mapping(bytes32 taskId => Refund) private _refunds;
    mapping(address token => mapping(address account => uint256)) public owed;

    constructor(IAgentRegistry registry_, IModelRegistry models_, IDisputeGame game_, MarketParams.Task memory p) {
        MarketParams.check(p);
        registry = registry_;
        models = models_;
        game = game_;
        workerStake = p.workerStake;
        auditStake = p.auditStake;
        challengeBond = p.challengeBond;
        resultWindow = p.resultWindow;
        challengeWindow = p.challengeWindow;
        auditWindow = p.auditWindow;
        auditBps = p.auditBps;
        auditRewardBps = p.auditRewardBps;
        slashBeneficiaryBps = p.slashBeneficiaryBps;
        maxCallbackGas = p.maxCallbackGas;
    }

    // ---- requester ----

    /// Escrows the fee and opens the task. `inlineInput`, if not empty, publishes the input: its
    /// tensor root must be `t.inputRoot`.
    function createTask(Task calldata t, bytes calldata inlineInput) external payable nonReentrant returns (bytes32 id) {
        if (t.requester != msg.sender) revert TaskMarketNotRequester(msg.sender, t.requester);
        if (!models.isRegistered(t.modelRoot)) revert TaskMarketUnknownModel(t.modelRoot);
        if (t.takeDeadline <= block.timestamp) revert TaskMarketBadDeadline(t.takeDeadline, block.timestamp);
        if (t.callbackGasLimit > maxCallbackGas) revert TaskMarketCallbackGasTooHigh(t.callbackGasLimit, maxCallbackGas);
        if (inlineInput.length != 0) {
            bytes32 root = Commitments.tensorRoot(inlineInput);
            if (root != t.inputRoot) revert TaskMarketInputRootMismatch(root, t.inputRoot);
        }
        id = taskId(t);
        TaskState storage s = _states[id];
        if (s.status != Status.None) revert TaskMarketTaskExists(id);
        s.status = Status.Open;
        if (t.feeToken == address(0)) {
            // INVARIANT: a native task escrows exactly its fee.
            if (msg.value != t.fee) revert TaskMarketFeeMismatch(msg.value, t.fee);
        } else {
            if (msg.value != 0) revert TaskMarketFeeMismatch(msg.value, 0);
            uint256 received = SafeTransfer.pull(t.feeToken, msg.sender, t.fee);
            // INVARIANT: the escrow holds the full fee, so the payout can never exceed what arrived.
            if (received != t.fee) revert TaskMarketFeeOnTransfer(t.feeToken, t.fee, received);
        }
        emit TaskCreated(id, msg.sender, t.modelRoot, t, inlineInput);
    }

    /// Refunds an untaken task after its take deadline, or a taken task without a result after
    /// its result deadline (then the worker's locked stake is slashed, partly to the requester).
    function expire(Task calldata t) external nonReentrant {
        bytes32 id = taskId(t);
        TaskState storage s = _states[id];
        bool slashWorker;
        if (s.status == Status.Open) {
            if (block.timestamp < t.takeDeadline) revert TaskMarketNotExpired(id, t.takeDeadline);
        } else if (s.status == Status.Taken) {
            if (block.timestamp <= s.deadline) revert TaskMarketNotExpired(id, s.deadline);
            slashWorker = true;
        } else {
            revert TaskMarketWrongStatus(id, s.status, Status.Open);
        }
        s.status = Status.Expired;
        owed[t.feeToken][t.requester] += t.fee;
        if (slashWorker) registry.slash(s.worker, workerStake, t.requester, slashBeneficiaryBps);
        emit TaskExpired(id, s.worker, slashWorker);
    }

    // ---- worker ----

    function takeTask(Task calldata t) external nonReentrant {
        bytes32 id = taskId(t);
        _take(id, t, _states[id]);
    }

    /// Posts the result of a task taken by the caller (or takes an open task and posts at once).
    /// `output` is the output tensor's committed bytes; the checkpoint root stays hidden inside
    /// resultCommitment = keccak256(abi.encode(taskId, inputRoot, outputRoot, checkpointRoot)).
    function postResult(Task calldata t, bytes32 resultCommitment, bytes32 outputRoot, bytes calldata output)
        external
        nonReentrant
    {
        bytes32 id = taskId(t);
        TaskState storage s = _states[id];
        if (s.status == Status.Open) _take(id, t, s);
        if (s.status != Status.Taken) revert TaskMarketWrongStatus(id, s.status, Status.Taken);
        if (s.worker != msg.sender) revert TaskMarketNotWorker(id, msg.sender, s.worker);
        if (block.timestamp > s.deadline) revert TaskMarketResultDeadlinePassed(id, s.deadline);
        if (resultCommitment == bytes32(0)) revert TaskMarketZeroCommitment(id);
        bytes32 root = Commitments.tensorRoot(output);
        if (root != outputRoot) revert TaskMarketOutputRootMismatch(id, root, outputRoot);
        s.status = Status.Posted;
        s.deadline = uint40(block.timestamp + challengeWindow);
        s.seedBlock = uint40(block.number);
        _resultHashes[id] = _resultHash(resultCommitment, outputRoot);
        emit ResultPosted(id, msg.sender, resultCommitment, outputRoot, output);
    }

    function _take(bytes32 id, Task calldata t, TaskState storage s) private {
        if (s.status != Status.Open) revert TaskMarketWrongStatus(id, s.status, Status.Open);
        if (block.timestamp >= t.takeDeadline) revert TaskMarketTakeDeadlinePassed(id, t.takeDeadline);
        registry.lockStakeFor(msg.sender, t.modelRoot, workerStake);
        uint256 deadline = block.timestamp + resultWindow;
        s.worker = msg.sender;
        s.status = Status.Taken;
        s.deadline = uint40(deadline);
        emit TaskTaken(id, msg.sender, deadline);
    }

    // ---- settlement ----

    /// Pays the worker and calls the consumer once the window has passed with no open dispute and
    /// no pending audit. Draws the audit first if nobody has; returns false (without paying) if the
    /// draw assigned an auditor or had to be re-armed.
    function finalize(Task calldata t, bytes32 resultCommitment, bytes32 outputRoot, bytes calldata output)
        external
        nonReentrant
        returns (bool)
    {
        bytes32 id = taskId(t);
        TaskState storage s = _states[id];
        if (s.status != Status.Posted) revert TaskMarketWrongStatus(id, s.status, Status.Posted);
        if (block.timestamp < s.deadline) revert TaskMarketChallengeWindowOpen(id, s.deadline);
        if (s.openDisputes != 0) revert TaskMarketDisputesOpen(id, s.openDisputes);
        if (_resultHashes[id] != _resultHash(resultCommitment, outputRoot)) revert TaskMarketResultMismatch(id);
        if (t.consumer != address(0)) {
            bytes32 root = Commitments.tensorRoot(output);
            if (root != outputRoot) revert TaskMarketOutputRootMismatch(id, root, outputRoot);
        }
        Audit storage a = _audits[id];
        AuditState auditState = a.state;
        if (auditState == AuditState.Undrawn && auditBps != 0) {
            if (!_drawAudit(id, t.modelRoot, s, a, false)) return false;
            auditState = a.state;
            if (auditState == AuditState.Assigned) return false;
        }
        if (auditState == AuditState.Assigned) revert TaskMarketAuditPending(id, a.auditor, a.deadline);
        s.status = Status.Finalized;
        delete _resultHashes[id];
        address worker = s.worker;
        uint256 reward;
        if (auditState == AuditState.Attested) {
            reward = t.fee * auditRewardBps / 10_000;
            owed[t.feeToken][a.auditor] += reward;
            a.state = AuditState.Closed;
            registry.unlockStake(a.auditor, auditStake);
            registry.recordOutcome(worker, IAgentRegistry.Outcome.AuditPassed, 1);
        }
        // INVARIANT: the fee is paid out exactly once, split between the worker and an attesting auditor.
        owed[t.feeToken][worker] += t.fee - reward;
        registry.release(worker, workerStake, IAgentRegistry.Outcome.ResultAccepted, 1);
        emit TaskFinalized(id, worker, t.fee - reward, reward);
        if (t.consumer != address(0)) _callConsumer(id, t, outputRoot, output);
        return true;
    }

    /// Calls the consumer with exactly its gas limit and ignores the outcome and any return data.
    /// Everything is settled before, and the market's lock makes re-entry revert inside the call.
    function _callConsumer(bytes32 id, Task calldata t, bytes32 outputRoot, bytes calldata output) private {
        bytes memory data = abi.encodeCall(IVerinferConsumer.onVerinferResult, (id, outputRoot, output));
        uint256 limit = t.callbackGasLimit;
        // EIP-150 forwards at most 63/64 of the gas left: make sure the consumer really gets `limit`.
        uint256 required = limit + limit / 63 + 5_000;
        if (gasleft() < required) revert TaskMarketCallbackGasTooLow(gasleft(), required);
        address consumer = t.consumer;
        bool ok;
        assembly ("memory-safe") {
            ok := call(limit, consumer, 0, add(data, 0x20), mload(data), 0, 0)
        }
        emit ConsumerCalled(id, consumer, ok);
    }

    // ---- audits ----

    /// Draws the audit of a posted result (permissionless). The seed is the hash of the block after
    /// the result, unknown when the worker committed.
    function drawAudit(Task calldata t) external nonReentrant {
        bytes32 id = taskId(t);
        TaskState storage s = _states[id];
        if (s.status != Status.Posted) revert TaskMarketWrongStatus(id, s.status, Status.Posted);
        Audit storage a = _audits[id];
        if (a.state != AuditState.Undrawn) revert TaskMarketAuditAlreadyDrawn(id);
        if (auditBps == 0) {
            a.state = AuditState.Skipped;
            emit AuditDrawn(id, false, address(0), 0);
        } else {
            _drawAudit(id, t.modelRoot, s, a, true);
        }
    }

    /// Returns false if the seed block's hash has expired (then a later block is armed instead).
    /// `persistSkip` = false when finalize draws inline: the task is finalized at once, so an
    /// unselected draw need not be stored (saves a fresh storage slot on the honest path).
    function _drawAudit(bytes32 id, bytes32 modelRoot, TaskState storage s, Audit storage a, bool persistSkip)
        private
        returns (bool)
    {
        uint256 seedBlock = uint256(s.seedBlock) + 1;
        if (block.number <= seedBlock) revert TaskMarketAuditSeedNotReady(id, seedBlock);
        bytes32 hash = blockhash(seedBlock);
        if (hash == bytes32(0)) {
            // Older than 256 blocks: arm the next block, whose hash nobody knows yet.
            s.seedBlock = uint40(block.number);
            emit AuditRearmed(id, block.number + 1);
            return false;
        }
        bytes32 seed = keccak256(abi.encode(hash, id));
        address auditor;
        if (uint256(seed) % 10_000 < auditBps) {
            auditor = registry.selectVerifier(keccak256(abi.encode(seed)), s.worker, modelRoot, auditStake);
        }
        if (auditor == address(0)) {
            if (persistSkip) a.state = AuditState.Skipped;
            emit AuditDrawn(id, false, address(0), 0);
            return true;
        }
        registry.lockStake(auditor, auditStake);
        // The auditor may answer until auditWindow after the later of now and the challenge window's end.
        uint256 deadline = (block.timestamp > s.deadline ? block.timestamp : s.deadline) + auditWindow;
        a.auditor = auditor;
        a.state = AuditState.Assigned;
        a.deadline = uint40(deadline);
        emit AuditDrawn(id, true, auditor, deadline);
        return true;
    }

    /// The assigned auditor reveals the checkpoint root hidden in the result commitment: proof it
    /// recomputed the model up to its last op. Paid auditRewardBps of the fee at finalization.
    function attestAudit(Task calldata t, bytes32 resultCommitment, bytes32 outputRoot, bytes32 checkpointRoot)
        external
        nonReentrant
    {
        bytes32 id = taskId(t);
        Audit storage a = _audits[id];
        if (a.state != AuditState.Assigned || a.auditor != msg.sender) revert TaskMarketNotAuditor(id, msg.sender);
        if (block.timestamp > a.deadline) revert TaskMarketAuditDeadlinePassed(id, a.deadline);
        if (_resultHashes[id] != _resultHash(resultCommitment, outputRoot)) revert TaskMarketResultMismatch(id);
        bytes32 computed = Commitments.resultCommitment(id, t.inputRoot, outputRoot, checkpointRoot);
        if (computed != resultCommitment) revert TaskMarketAttestationMismatch(id, computed, resultCommitment);
        a.state = AuditState.Attested;
        emit AuditAttested(id, msg.sender, checkpointRoot);
    }

    /// Slashes an auditor that neither attested nor challenged before its deadline (permissionless;
    /// the caller receives the beneficiary share).
    function slashSilentAuditor(bytes32 id) external nonReentrant {
        Audit storage a = _audits[id];
        if (a.state != AuditState.Assigned) revert TaskMarketNotAuditor(id, a.auditor);
        if (block.timestamp <= a.deadline) revert TaskMarketAuditNotExpired(id, a.deadline);
        a.state = AuditState.Silenced;
        registry.slash(a.auditor, auditStake, msg.sender, slashBeneficiaryBps);
        emit AuditorSlashed(id, a.auditor, msg.sender);
    }

    // ---- disputes ----

    /// Opens a dispute game with the caller's bond; the worker reveals its trace when the game asks.
    /// Allowed during the challenge window, and for the assigned auditor until its audit deadline.
    function challenge(Task calldata t, bytes32 resultCommitment, bytes32 outputRoot)
        external
        payable
        nonReentrant
        returns (uint256 gameId)
    {
        bytes32 id = taskId(t);
        TaskState storage s = _states[id];
        if (s.status != Status.Posted) revert TaskMarketWrongStatus(id, s.status, Status.Posted);
        if (msg.value != challengeBond) revert TaskMarketBondMismatch(msg.value, challengeBond);
        if (msg.sender == s.worker) revert TaskMarketSelfChallenge(id);
        if (_resultHashes[id] != _resultHash(resultCommitment, outputRoot)) revert TaskMarketResultMismatch(id);
        Audit storage a = _audits[id];
        bool isAuditor = a.state == AuditState.Assigned && a.auditor == msg.sender;
        if (block.timestamp >= s.deadline && !(isAuditor && block.timestamp <= a.deadline)) {
            revert TaskMarketChallengeWindowClosed(id, s.deadline);
        }
        if (s.openDisputes == type(uint8).max) revert TaskMarketTooManyDisputes(id);
        if (isAuditor) a.state = AuditState.Challenged;
        if (_refunds[id].requester == address(0)) _refunds[id] = Refund(t.requester, t.feeToken, t.fee);
        s.openDisputes += 1;
        gameId = game.open{value: msg.value}(
            IDisputeGame.OpenParams({
                subject: id,
                modelRoot: t.modelRoot,
                inputRoot: t.inputRoot,
                outputRoot: outputRoot,
                worker: s.worker,
                challenger: msg.sender
            })
        );
        emit TaskChallenged(id, gameId, msg.sender);
    }

    /// The game's verdict. A convicted worker loses its locked stake (partly to the challenger),
    /// the requester gets the fee back, and an auditor that attested the wrong result is slashed too.
    function onDisputeResolved(uint256 gameId, bytes32 id, Outcome outcome, address worker, address challenger)
        external
        nonReentrant
    {
        if (msg.sender != address(game)) revert TaskMarketNotGame(msg.sender);
        TaskState storage s = _states[id];
        s.openDisputes -= 1;
        Audit storage a = _audits[id];
        emit DisputeSettled(id, gameId, outcome);
        if (outcome == Outcome.ChallengerWon) {
            s.status = Status.Convicted;
            Refund memory r = _refunds[id];
            delete _refunds[id];
            // INVARIANT: a convicted task's fee goes back to the requester, once.
            owed[r.feeToken][r.requester] += r.fee;
            registry.slash(worker, workerStake, challenger, slashBeneficiaryBps);
            if (a.state == AuditState.Attested) {
                registry.slash(a.auditor, auditStake, challenger, slashBeneficiaryBps);
                a.state = AuditState.Closed;
            } else if (a.state == AuditState.Assigned || a.state == AuditState.Challenged) {
                registry.unlockStake(a.auditor, auditStake);
                a.state = AuditState.Closed;
            }
            registry.recordOutcome(worker, IAgentRegistry.Outcome.DisputeLost, 1);
            registry.recordOutcome(challenger, IAgentRegistry.Outcome.DisputeWon, 1);
            emit TaskConvicted(id, worker, challenger);
        } else if (outcome == Outcome.WorkerWon) {
            registry.recordOutcome(worker, IAgentRegistry.Outcome.DisputeWon, 1);
            registry.recordOutcome(challenger, IAgentRegistry.Outcome.DisputeLost, 1);
            // An auditor whose challenge failed has answered its audit (and lost its bond).
            if (a.state == AuditState.Challenged && a.auditor == challenger) {
                registry.unlockStake(a.auditor, auditStake);
                a.state = AuditState.Closed;
            }
        }
    }

    /// Every game on a convicted subject is moot (its challenger gets its bond back).
    function isMoot(bytes32 id, uint256) external view returns (bool) {
        return isConvicted(id);
    }

    function isConvicted(bytes32 id) public view returns (bool) {
        return _states[id].status == Status.Convicted;
    }

    // ---- payouts ----

    /// Pays out everything owed to the caller in `token` (address(0) = native) to `to`.
    function withdraw(address token, address to) external nonReentrant {
        if (to == address(0)) revert TaskMarketZeroAddress();
        uint256 amount = owed[token][msg.sender];
        if (amount == 0) revert TaskMarketNothingOwed(token, msg.sender);
        owed[token][msg.sender] = 0;
        SafeTransfer.send(token, to, amount);
        emit Withdrawn(token, msg.sender, to, amount);
    }

    // ---- views ----

    function taskId(Task calldata t) public view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(this), t));
    }

    function taskState(bytes32 id) external view returns (TaskState memory) {
        return _states[id];
    }

    function audit(bytes32 id) external view returns (Audit memory) {
        return _audits[id];
    }

    function resultHash(bytes32 id) external view returns (bytes32) {
        return _resultHashes[id];
    }

    function _resultHash(bytes32 resultCommitment, bytes32 outputRoot) private pure returns (bytes32) {
        return keccak256(abi.encode(resultCommitment, outputRoot));
    }
}
