// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Commitments} from "../game/Commitments.sol";
import {IAgentRegistry} from "../interfaces/IAgentRegistry.sol";
import {IDisputeArena} from "../interfaces/IDisputeArena.sol";
import {IDisputeGame} from "../interfaces/IDisputeGame.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {ITaskMarket} from "../interfaces/ITaskMarket.sol";
import {IVerinferConsumer} from "../interfaces/IVerinferConsumer.sol";
import {MarketParams} from "./MarketParams.sol";
import {ConvictionBounty} from "./lib/ConvictionBounty.sol";
import {ReentrancyGuard} from "./lib/ReentrancyGuard.sol";
import {SafeTransfer} from "./lib/SafeTransfer.sol";
import {SignatureCheck} from "./lib/SignatureCheck.sol";

/// @title TaskMarket: single inference tasks with optimistic settlement, random audits and disputes.
/// @notice A task is identified by the hash of its parameters and stores one word (TaskState); every
/// call passes the Task, and once posted the Result, back as calldata.
///   createTask -> takeTask -> postResult -> (window; audit draw) -> finalize -> consumer callback
///   postSigned (a requester-signed task, fee from the requester's balance) -> finalize
/// Untaken tasks expire to a refund; taken tasks without a result expire to a refund, plus a slash
/// when the input was published inline. Payments are pull (`withdraw`). Solvency: the native
/// balance equals the fees of open native tasks + Σ owed native + Σ conviction escrows; for each
/// ERC-20, the fees of its open tasks + Σ owed. Fee tokens are fixed at deployment.
contract TaskMarket is ITaskMarket, IDisputeArena, ReentrancyGuard {
    using ConvictionBounty for ConvictionBounty.Pool;

    /// The input was published in createTask: a worker that took the task can always compute it.
    uint8 internal constant INLINE_INPUT = 1;
    /// A game was opened on the task: `_pools[id]` counts the open ones, `_refunds[id]` is set.
    uint8 internal constant DISPUTED = 2;
    /// The audit was drawn and stored in `_audits[id]`.
    uint8 internal constant AUDIT_DRAWN = 4;
    /// The seed expired once: the result is audited with certainty.
    uint8 internal constant AUDIT_CERTAIN = 8;

    bytes32 public constant TASK_TYPEHASH = keccak256(
        "SignedTask(address requester,bytes32 modelRoot,bytes32 inputRoot,address feeToken,uint256 fee,uint64 takeDeadline,address consumer,uint32 callbackGasLimit,bytes32 salt,address worker)"
    );
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

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
    /// The smallest native fee; 0 if native fees are not allowed.
    uint256 private immutable _nativeMinFee;
    uint256 private immutable _chainId;
    bytes32 private immutable _domainSeparator;

    mapping(bytes32 taskId => TaskState) private _states;
    mapping(bytes32 taskId => Audit) private _audits;
    mapping(bytes32 taskId => Refund) private _refunds;
    mapping(bytes32 taskId => ConvictionBounty.Pool) private _pools;
    mapping(bytes32 taskId => mapping(address challenger => uint256)) private _wins;
    /// The smallest fee of each allowed ERC-20; 0 = not allowed.
    mapping(address token => uint256) private _minFees;
    /// Payouts and refunds, and the requesters' balances that signed tasks draw their fees from.
    mapping(address token => mapping(address account => uint256)) public owed;

    constructor(
        IAgentRegistry registry_,
        IModelRegistry models_,
        IDisputeGame game_,
        MarketParams.Task memory p,
        FeeToken[] memory feeTokens
    ) {
        MarketParams.check(p, registry_.auditThreshold());
        address agentModels = address(registry_.modelRegistry());
        if (agentModels != address(models_)) revert TaskMarketModelRegistryMismatch(agentModels, address(models_));
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
        uint256 nativeMinFee;
        for (uint256 i; i < feeTokens.length; ++i) {
            FeeToken memory f = feeTokens[i];
            bool taken = f.token == address(0) ? nativeMinFee != 0 : _minFees[f.token] != 0;
            if (f.minFee == 0 || taken) revert TaskMarketBadFeeToken(f.token, f.minFee);
            if (f.token == address(0)) nativeMinFee = f.minFee;
            else _minFees[f.token] = f.minFee;
        }
        _nativeMinFee = nativeMinFee;
        _chainId = block.chainid;
        _domainSeparator = _buildDomainSeparator();
    }

    /// Only slash proceeds claimed from the registry (escrowed for challengers) arrive without a call.
    receive() external payable {
        if (msg.sender != address(registry)) revert TaskMarketUnexpectedValue(msg.sender);
    }

    // ---- requester ----

    /// Escrows the fee and opens the task. `inlineInput`, if not empty, publishes the input: its
    /// tensor root must be `t.inputRoot`. Only then can a worker that never delivers be slashed.
    function createTask(Task calldata t, bytes calldata inlineInput) external payable nonReentrant returns (bytes32 id) {
        if (t.requester != msg.sender) revert TaskMarketNotRequester(msg.sender, t.requester);
        if (!models.isRegistered(t.modelRoot)) revert TaskMarketUnknownModel(t.modelRoot);
        _checkTerms(t);
        uint8 flags;
        if (inlineInput.length != 0) {
            bytes32 root = Commitments.tensorRoot(inlineInput);
            if (root != t.inputRoot) revert TaskMarketInputRootMismatch(root, t.inputRoot);
            flags = INLINE_INPUT;
        }
        id = taskId(t);
        TaskState storage s = _states[id];
        if (s.status != Status.None) revert TaskMarketTaskExists(id);
        s.status = Status.Open;
        s.flags = flags;
        _pull(t.feeToken, t.fee);
        emit TaskCreated(id, msg.sender, t.modelRoot, t, inlineInput);
    }

    /// Credits `amount` to the caller's balance: signed tasks draw their fees from it, and the
    /// caller may withdraw what is left at any time.
    function deposit(address token, uint256 amount) external payable nonReentrant {
        if (amount == 0) revert TaskMarketZeroAmount();
        if (minFee(token) == 0) revert TaskMarketTokenNotAllowed(token);
        _pull(token, amount);
        owed[token][msg.sender] += amount;
        emit Deposited(token, msg.sender, amount);
    }

    /// Refunds an untaken task after its take deadline, or a taken task without a result after
    /// its result deadline; the worker's stake is then slashed (partly to the requester) if the
    /// input was inline, else unlocked: an input the requester withheld is no worker's fault.
    function expire(Task calldata t) external nonReentrant {
        bytes32 id = taskId(t);
        TaskState storage s = _states[id];
        address worker;
        bool slashWorker;
        if (s.status == Status.Open) {
            if (block.timestamp < t.takeDeadline) revert TaskMarketNotExpired(id, t.takeDeadline);
        } else if (s.status == Status.Taken) {
            if (block.timestamp <= s.deadline) revert TaskMarketNotExpired(id, s.deadline);
            worker = address(s.key);
            slashWorker = s.flags & INLINE_INPUT != 0;
        } else {
            revert TaskMarketWrongStatus(id, s.status, Status.Open);
        }
        s.status = Status.Expired;
        owed[t.feeToken][t.requester] += t.fee;
        if (slashWorker) registry.slash(worker, workerStake, t.requester, slashBeneficiaryBps);
        else if (worker != address(0)) registry.unlockStake(worker, workerStake);
        emit TaskExpired(id, worker, slashWorker);
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
        if (address(s.key) != msg.sender) revert TaskMarketNotWorker(id, msg.sender, address(s.key));
        if (block.timestamp > s.deadline) revert TaskMarketResultDeadlinePassed(id, s.deadline);
        _store(id, s.flags, resultCommitment, outputRoot, output);
        emit ResultPosted(id, msg.sender, resultCommitment, outputRoot, output);
    }

    /// Creates, takes and posts a task in one transaction: the requester signed the task for the
    /// caller (EIP-712 SignedTask, `worker` = the caller; EOA or EIP-1271), and the fee comes out
    /// of the requester's balance (`deposit`). The signed task can be posted once, before
    /// `takeDeadline`; a requester revokes it by withdrawing its balance.
    function postSigned(
        Task calldata t,
        bytes calldata signature,
        bytes32 resultCommitment,
        bytes32 outputRoot,
        bytes calldata output
    ) external nonReentrant {
        _checkTerms(t);
        bytes32 id = taskId(t);
        if (_states[id].status != Status.None) revert TaskMarketTaskExists(id);
        if (!SignatureCheck.isValid(t.requester, signedTaskDigest(t, msg.sender), signature)) {
            revert TaskMarketBadSignature(id, t.requester, msg.sender);
        }
        uint256 balance = owed[t.feeToken][t.requester];
        // INVARIANT: a signed task escrows its fee out of the requester's own balance, never more.
        if (balance < t.fee) revert TaskMarketBalanceTooLow(t.feeToken, t.requester, balance, t.fee);
        owed[t.feeToken][t.requester] = balance - t.fee;
        // The model is registered: the lock reverts unless the worker serves it, and the registry lets
        // agents serve registered models only (of `models`, checked at construction; registration is
        // permanent). So the model check of createTask is not repeated here.
        registry.lockStakeFor(msg.sender, t.modelRoot, workerStake);
        _store(id, 0, resultCommitment, outputRoot, output);
        emit SignedTaskPosted(id, t.requester, msg.sender, t, resultCommitment, outputRoot, output);
    }

    function _take(bytes32 id, Task calldata t, TaskState storage s) private {
        if (s.status != Status.Open) revert TaskMarketWrongStatus(id, s.status, Status.Open);
        if (block.timestamp >= t.takeDeadline) revert TaskMarketTakeDeadlinePassed(id, t.takeDeadline);
        registry.lockStakeFor(msg.sender, t.modelRoot, workerStake);
        uint256 deadline = block.timestamp + resultWindow;
        s.key = bytes20(msg.sender);
        s.status = Status.Taken;
        s.deadline = uint40(deadline);
        emit TaskTaken(id, msg.sender, deadline);
    }

    /// Writes the posted word in one store. The caller is the worker.
    function _store(bytes32 id, uint8 flags, bytes32 resultCommitment, bytes32 outputRoot, bytes calldata output)
        private
    {
        if (resultCommitment == bytes32(0)) revert TaskMarketZeroCommitment(id);
        bytes32 root = Commitments.tensorRoot(output);
        if (root != outputRoot) revert TaskMarketOutputRootMismatch(id, root, outputRoot);
        _states[id] = TaskState({
            key: resultKey(Result(msg.sender, resultCommitment, outputRoot)),
            status: Status.Posted,
            flags: flags,
            deadline: uint40(block.timestamp + challengeWindow),
            seedBlock: uint40(block.number)
        });
    }

    /// The terms every new task must meet (createTask also checks the model; postSigned's lock does).
    function _checkTerms(Task calldata t) private view {
        if (t.takeDeadline <= block.timestamp) revert TaskMarketBadDeadline(t.takeDeadline, block.timestamp);
        if (t.callbackGasLimit > maxCallbackGas) revert TaskMarketCallbackGasTooHigh(t.callbackGasLimit, maxCallbackGas);
        uint256 min = minFee(t.feeToken);
        if (min == 0) revert TaskMarketTokenNotAllowed(t.feeToken);
        if (t.fee < min) revert TaskMarketFeeTooLow(t.feeToken, t.fee, min);
    }

    /// Takes `amount` of `token` from the caller (the call's value for native).
    function _pull(address token, uint256 amount) private {
        if (token == address(0)) {
            // INVARIANT: native value arrives exactly as credited.
            if (msg.value != amount) revert TaskMarketFeeMismatch(msg.value, amount);
        } else {
            if (msg.value != 0) revert TaskMarketFeeMismatch(msg.value, 0);
            uint256 received = SafeTransfer.pull(token, msg.sender, amount);
            // INVARIANT: the market holds all it credits, so a payout can never exceed what arrived.
            if (received != amount) revert TaskMarketFeeOnTransfer(token, amount, received);
        }
    }

    // ---- settlement ----

    /// Pays the worker and calls the consumer once the window has passed with no open dispute and
    /// no pending audit. Draws the audit first if nobody has; returns false (without paying) if the
    /// draw assigned an auditor or had to be re-armed.
    function finalize(Task calldata t, Result calldata r, bytes calldata output) external nonReentrant returns (bool) {
        bytes32 id = taskId(t);
        TaskState storage s = _posted(id, r);
        if (block.timestamp < s.deadline) revert TaskMarketChallengeWindowOpen(id, s.deadline);
        uint8 flags = s.flags;
        if (flags & DISPUTED != 0 && _pools[id].open != 0) revert TaskMarketDisputesOpen(id, _pools[id].open);
        if (t.consumer != address(0)) {
            bytes32 root = Commitments.tensorRoot(output);
            if (root != r.outputRoot) revert TaskMarketOutputRootMismatch(id, root, r.outputRoot);
        }
        Audit storage a = _audits[id];
        AuditState auditState = flags & AUDIT_DRAWN != 0 ? a.state : AuditState.Undrawn;
        if (auditState == AuditState.Undrawn && auditBps != 0) {
            if (!_drawAudit(id, t.modelRoot, r.worker, s, a, false)) return false;
            if (s.flags & AUDIT_DRAWN != 0) return false;
        }
        if (auditState == AuditState.Assigned) revert TaskMarketAuditPending(id, a.auditor, a.deadline);
        s.status = Status.Finalized;
        uint256 reward;
        if (auditState == AuditState.Attested || auditState == AuditState.AttestedUnpaid) {
            if (auditState == AuditState.Attested) {
                reward = t.fee * auditRewardBps / 10_000;
                owed[t.feeToken][a.auditor] += reward;
                registry.recordOutcome(r.worker, IAgentRegistry.Outcome.AuditPassed, 1);
            }
            a.state = AuditState.Closed;
            registry.unlockStake(a.auditor, auditStake);
        }
        // INVARIANT: the fee is paid out exactly once, split between the worker and an attesting auditor.
        owed[t.feeToken][r.worker] += t.fee - reward;
        registry.release(r.worker, workerStake, IAgentRegistry.Outcome.ResultAccepted, 1);
        emit TaskFinalized(id, r.worker, t.fee - reward, reward);
        if (t.consumer != address(0)) _callConsumer(id, t, r.outputRoot, output);
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

    /// The word of a posted task whose result is `r`.
    function _posted(bytes32 id, Result calldata r) private view returns (TaskState storage s) {
        s = _states[id];
        if (s.status != Status.Posted) revert TaskMarketWrongStatus(id, s.status, Status.Posted);
        if (s.key != resultKey(r)) revert TaskMarketResultMismatch(id);
    }

    // ---- audits ----

    /// Draws the audit of a posted result (permissionless). The seed is the hash of the block after
    /// the result, unknown when the worker committed.
    function drawAudit(Task calldata t, Result calldata r) external nonReentrant {
        bytes32 id = taskId(t);
        TaskState storage s = _posted(id, r);
        Audit storage a = _audits[id];
        if (s.flags & AUDIT_DRAWN != 0) revert TaskMarketAuditAlreadyDrawn(id);
        if (auditBps == 0) {
            a.state = AuditState.Skipped;
            s.flags |= AUDIT_DRAWN;
            emit AuditDrawn(id, false, address(0), 0);
        } else {
            _drawAudit(id, t.modelRoot, r.worker, s, a, true);
        }
    }

    /// Returns false if the seed block's hash has expired: then a later block is armed instead, and
    /// the result will be audited with certainty, so letting the seed expire never helps the worker
    /// (who can simulate the draw and would otherwise re-roll it). `persistSkip` = false when
    /// finalize draws inline: the task is finalized at once, so an unselected draw is not stored.
    function _drawAudit(
        bytes32 id,
        bytes32 modelRoot,
        address worker,
        TaskState storage s,
        Audit storage a,
        bool persistSkip
    ) private returns (bool) {
        uint256 seedBlock = uint256(s.seedBlock) + 1;
        if (block.number <= seedBlock) revert TaskMarketAuditSeedNotReady(id, seedBlock);
        bytes32 hash = blockhash(seedBlock);
        if (hash == bytes32(0)) {
            // Older than 256 blocks: arm the next block, whose hash nobody knows yet.
            s.seedBlock = uint40(block.number);
            s.flags |= AUDIT_CERTAIN;
            emit AuditRearmed(id, block.number + 1);
            return false;
        }
        bytes32 seed = keccak256(abi.encode(hash, id));
        address auditor;
        if (s.flags & AUDIT_CERTAIN != 0 || uint256(seed) % 10_000 < auditBps) {
            // The auditor has at least the registry's auditThreshold >= auditStake free (constructor).
            auditor = registry.selectVerifier(keccak256(abi.encode(seed)), worker, modelRoot);
        }
        if (auditor == address(0)) {
            // Inline in finalize, TaskFinalized is the record of an unselected draw.
            if (persistSkip) {
                a.state = AuditState.Skipped;
                s.flags |= AUDIT_DRAWN;
                emit AuditDrawn(id, false, address(0), 0);
            }
            return true;
        }
        registry.lockStake(auditor, auditStake);
        // The auditor may answer until auditWindow after the later of now and the challenge window's end.
        uint256 deadline = (block.timestamp > s.deadline ? block.timestamp : s.deadline) + auditWindow;
        a.auditor = auditor;
        a.state = AuditState.Assigned;
        a.deadline = uint40(deadline);
        s.flags |= AUDIT_DRAWN;
        emit AuditDrawn(id, true, auditor, deadline);
        return true;
    }

    /// The assigned auditor reveals the checkpoint root hidden in the result commitment: proof it
    /// recomputed the model up to its last op, as long as no game was opened on the task (a game
    /// makes the worker reveal its trace, which contains the checkpoint root). An attestation after
    /// a game was opened frees the stake but earns nothing, so copying a root from a game's logs
    /// does not pay; an auditor that attested a result later convicted is slashed either way.
    function attestAudit(Task calldata t, Result calldata r, bytes32 checkpointRoot) external nonReentrant {
        bytes32 id = taskId(t);
        TaskState storage s = _posted(id, r);
        Audit storage a = _audits[id];
        if (s.flags & AUDIT_DRAWN == 0 || a.state != AuditState.Assigned || a.auditor != msg.sender) {
            revert TaskMarketNotAuditor(id, msg.sender);
        }
        if (block.timestamp > a.deadline) revert TaskMarketAuditDeadlinePassed(id, a.deadline);
        bytes32 computed = Commitments.resultCommitment(id, t.inputRoot, r.outputRoot, checkpointRoot);
        if (computed != r.commitment) revert TaskMarketAttestationMismatch(id, computed, r.commitment);
        bool paid = s.flags & DISPUTED == 0;
        a.state = paid ? AuditState.Attested : AuditState.AttestedUnpaid;
        emit AuditAttested(id, msg.sender, checkpointRoot, paid);
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
    /// There is no cap on games: each costs a bond, and the assigned auditor can always open one.
    function challenge(Task calldata t, Result calldata r) external payable nonReentrant returns (uint256 gameId) {
        bytes32 id = taskId(t);
        TaskState storage s = _posted(id, r);
        if (msg.value != challengeBond) revert TaskMarketBondMismatch(msg.value, challengeBond);
        if (msg.sender == r.worker) revert TaskMarketSelfChallenge(id);
        uint8 flags = s.flags;
        Audit storage a = _audits[id];
        bool isAuditor = flags & AUDIT_DRAWN != 0 && a.state == AuditState.Assigned && a.auditor == msg.sender;
        if (block.timestamp >= s.deadline && !(isAuditor && block.timestamp <= a.deadline)) {
            revert TaskMarketChallengeWindowClosed(id, s.deadline);
        }
        if (isAuditor) a.state = AuditState.Challenged;
        if (flags & DISPUTED == 0) {
            s.flags = flags | DISPUTED;
            _refunds[id] = Refund(t.requester, t.feeToken, t.fee);
        }
        _pools[id].open += 1;
        gameId = game.open{value: msg.value}(
            IDisputeGame.OpenParams({
                subject: id,
                modelRoot: t.modelRoot,
                inputRoot: t.inputRoot,
                outputRoot: r.outputRoot,
                worker: r.worker,
                challenger: msg.sender
            })
        );
        emit TaskChallenged(id, gameId, msg.sender);
    }

    /// The game's verdict. The first game the challenger wins convicts: the worker loses its locked
    /// stake, the requester gets the fee back, an auditor that attested is slashed too, and the
    /// beneficiary shares of both slashes are escrowed. Every game open at that moment plays on;
    /// when the last resolves, the escrow is split equally among the games their challengers won.
    function onDisputeResolved(uint256 gameId, bytes32 id, Outcome outcome, address worker, address challenger)
        external
        nonReentrant
    {
        if (msg.sender != address(game)) revert TaskMarketNotGame(msg.sender);
        TaskState storage s = _states[id];
        ConvictionBounty.Pool storage pool = _pools[id];
        pool.open -= 1;
        emit DisputeSettled(id, gameId, outcome);
        if (outcome == Outcome.ChallengerWon) {
            if (s.status != Status.Convicted) _convict(id, s, pool, worker, challenger);
            registry.recordOutcome(worker, IAgentRegistry.Outcome.DisputeLost, 1);
            registry.recordOutcome(challenger, IAgentRegistry.Outcome.DisputeWon, 1);
            pool.countWinner(_wins[id], challenger);
        } else if (outcome == Outcome.WorkerWon) {
            registry.recordOutcome(worker, IAgentRegistry.Outcome.DisputeWon, 1);
            registry.recordOutcome(challenger, IAgentRegistry.Outcome.DisputeLost, 1);
            // An auditor whose challenge failed has answered its audit (and lost its bond).
            Audit storage a = _audits[id];
            if (a.state == AuditState.Challenged && a.auditor == challenger) {
                registry.unlockStake(a.auditor, auditStake);
                a.state = AuditState.Closed;
            }
        }
        if (s.status == Status.Convicted && pool.open == 0) {
            uint256 burnt = pool.settle();
            emit BountySettled(id, pool.winners, pool.escrow, burnt);
        }
    }

    function _convict(
        bytes32 id,
        TaskState storage s,
        ConvictionBounty.Pool storage pool,
        address worker,
        address challenger
    ) private {
        s.status = Status.Convicted;
        Refund memory r = _refunds[id];
        delete _refunds[id];
        // INVARIANT: a convicted task's fee goes back to the requester, once.
        owed[r.feeToken][r.requester] += r.fee;
        registry.slash(worker, workerStake, address(this), slashBeneficiaryBps);
        Audit storage a = _audits[id];
        if (a.state == AuditState.Attested || a.state == AuditState.AttestedUnpaid) {
            registry.slash(a.auditor, auditStake, address(this), slashBeneficiaryBps);
            a.state = AuditState.Closed;
            emit AuditorSlashed(id, a.auditor, address(this));
        } else if (a.state == AuditState.Assigned || a.state == AuditState.Challenged) {
            registry.unlockStake(a.auditor, auditStake);
            a.state = AuditState.Closed;
        }
        pool.collect(registry);
        emit TaskConvicted(id, worker, challenger);
    }

    /// Credits the caller's part of a settled conviction escrow to its balance (`owed`, native).
    function claimBounty(bytes32 id) external nonReentrant {
        ConvictionBounty.Pool storage pool = _pools[id];
        if (_states[id].status != Status.Convicted || pool.open != 0) revert TaskMarketBountyNotSettled(id, pool.open);
        uint256 amount = pool.take(_wins[id], msg.sender);
        if (amount == 0) revert TaskMarketNoBounty(id, msg.sender);
        owed[address(0)][msg.sender] += amount;
        emit BountyClaimed(id, msg.sender, amount);
    }

    /// No game is ever moot: games cannot open on a convicted task, and every game open at a
    /// conviction plays on, so that the honest challengers share the reward with any sybil.
    function isMoot(bytes32, uint256) external pure returns (bool) {
        return false;
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

    /// What the requester signs for `postSigned` by `worker`.
    function signedTaskDigest(Task calldata t, address worker) public view returns (bytes32) {
        bytes32 structHash = keccak256(abi.encode(TASK_TYPEHASH, t, worker));
        return keccak256(abi.encodePacked(hex"1901", domainSeparator(), structHash));
    }

    function domainSeparator() public view returns (bytes32) {
        return block.chainid == _chainId ? _domainSeparator : _buildDomainSeparator();
    }

    /// The key a posted result is stored under (160 bits of a hash: a collision costs about 2^80 work).
    function resultKey(Result memory r) public pure returns (bytes20) {
        return bytes20(keccak256(abi.encode(r.worker, r.commitment, r.outputRoot)));
    }

    /// The smallest fee in `token`; 0 if the token is not allowed.
    function minFee(address token) public view returns (uint256) {
        return token == address(0) ? _nativeMinFee : _minFees[token];
    }

    function taskState(bytes32 id) external view returns (TaskState memory) {
        return _states[id];
    }

    function audit(bytes32 id) external view returns (Audit memory) {
        return _audits[id];
    }

    /// The games of a task and its conviction escrow (see ConvictionBounty.Pool).
    function disputes(bytes32 id) external view returns (ConvictionBounty.Pool memory) {
        return _pools[id];
    }

    /// How many won games the escrow of task `id` owes `challenger` a share for.
    function bountyWins(bytes32 id, address challenger) external view returns (uint256) {
        return _wins[id][challenger];
    }

    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("Verinfer TaskMarket"), keccak256("1"), block.chainid, address(this))
        );
    }
}
