// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IDisputeArena} from "../interfaces/IDisputeArena.sol";
import {IDisputeGame} from "../interfaces/IDisputeGame.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {ReentrancyGuard} from "../market/lib/ReentrancyGuard.sol";
import {SafeTransfer} from "../market/lib/SafeTransfer.sol";
import {IOneStepVerifier} from "../verify/IOneStepVerifier.sol";
import {Commitments} from "./Commitments.sol";
import {
    ABSENT, ByteClaim, Clock, InputSource, OpLeafOpening, Phase, SourceKind, TensorLeafOpening
} from "./GameTypes.sol";

error DisputeGameNotOwner(address caller);
error DisputeGameNotArena(address caller);
error DisputeGameZeroBond();
error DisputeGameUnknownGame(uint256 gameId);
error DisputeGameWrongPhase(uint256 gameId, Phase phase, Phase expected);
error DisputeGameNotYourTurn(uint256 gameId, address caller, address mover);
error DisputeGameClockExpired(uint256 gameId, address mover);
error DisputeGameClockRunning(uint256 gameId, address mover, uint256 secondsLeft);
error DisputeGameNotMoot(uint256 gameId);
error DisputeGameOpCountMismatch(uint256 gameId, uint256 got, uint256 expected);
error DisputeGameTraceRootMismatch(uint256 gameId, bytes32 got, bytes32 expected);
error DisputeGameCommitmentMismatch(uint256 gameId, bytes32 got, bytes32 expected);
error DisputeGameOutputRootMismatch(uint256 gameId, bytes32 lastOpRoot, bytes32 outputRoot);
error DisputeGameWorkerOpRootsMismatch(uint256 gameId);
error DisputeGameOpIndexOutOfRange(uint256 gameId, uint256 index, uint256 opCount);
error DisputeGameOpRootsAgree(uint256 gameId, uint256 opIndex);
error DisputeGameOpLeafInvalid(uint256 gameId, uint256 opIndex);
error DisputeGameSourceCount(uint256 gameId, uint256 got, uint256 expected);
error DisputeGameBadSource(uint256 gameId, uint256 input, uint256 tensorId);
error DisputeGameInputsDisagree(uint256 gameId, uint256 input, uint256 producerOp);
error DisputeGameLeavesMismatch(uint256 gameId, bytes32 got, bytes32 expected);
error DisputeGameWorkerLeavesMismatch(uint256 gameId);
error DisputeGameChunkOutOfRange(uint256 gameId, uint256 chunkIndex, uint256 chunkCount);
error DisputeGameChunksAgree(uint256 gameId, uint256 chunkIndex);
error DisputeGameChunkMismatch(uint256 gameId, address party);
error DisputeGameOffsetOutOfRange(uint256 gameId, uint256 offset);
error DisputeGameValuesAgree(uint256 gameId, uint256 element, uint16 value);
error DisputeGameStepMismatch(uint256 gameId);
error DisputeGameInputRootsMismatch(uint256 gameId);
error DisputeGameNothingToClaim(address account);
error DisputeGameZeroAddress();
error DisputeGameBadShare(uint256 bps);

/// @title DisputeGame: bisection over a challenged result down to one re-executed output element.
/// @notice Opened by a market (an IDisputeArena) with the challenger's bond. Moves, with chess clocks:
///   1. worker      revealTrace   traceRoot + every op output root; must open the result commitment
///   2. challenger  nameOp        its op roots + op k (roots differ, every input of k agrees)
///   3. worker      revealLeaves  chunk leaves of its op-k output (opening its op root)
///   4. challenger  nameChunk     its chunk leaves + a chunk c whose leaves differ
///   5. worker      revealChunk   the bytes of its chunk c (skipped if it has no chunk c)
///   6. challenger  nameElement   its chunk c + an offset whose bytes differ
///   7. anyone      submitStep    IOneStepVerifier recomputes the element from agreed inputs
/// A party whose clock runs out loses (anyone may call timeout). The loser of the bond is the
/// challenger if the recomputed value equals the worker's byte, else the worker. The challenger's
/// bond is returned when it wins (the market then slashes the worker's stake) or when the subject
/// was already convicted by another game; otherwise it is split between the worker and the burn
/// address. Solvency: the contract holds Σ bonds of unresolved games + Σ credits, nothing else.
contract DisputeGame is IDisputeGame, ReentrancyGuard {
    struct Game {
        address arena;
        Phase phase;
        IDisputeArena.Outcome outcome;
        uint40 lastMoveAt;
        address worker;
        Clock workerClock;
        address challenger;
        Clock challengerClock;
        uint128 bond;
        uint32 opCount;
        uint32 leafCount;
        uint32 opIndex;
        ByteClaim workerValue;
        ByteClaim challengerValue;
        bytes32 subject;
        bytes32 taskId;
        bytes32 modelRoot;
        bytes32 inputRoot;
        bytes32 resultCommitment;
        bytes32 outputRoot;
        bytes32 challengerTraceRoot;
        bytes32 workerOpsHash;
        bytes32 workerOpRoot;
        bytes32 challengerOpRoot;
        bytes32 agreedInputsHash;
        bytes32 workerLeavesHash;
        bytes32 workerLeaf;
        bytes32 challengerLeaf;
        uint64 workerLength;
        uint64 element;
        uint32 chunkIndex;
    }

    event GameOpened(
        uint256 indexed gameId,
        address indexed arena,
        bytes32 indexed subject,
        IDisputeGame.OpenParams params,
        uint256 bond,
        uint256 opCount
    );
    event TraceRevealed(uint256 indexed gameId, bytes32 traceRoot, bytes32[] opRoots);
    event OpNamed(uint256 indexed gameId, uint256 opIndex, bytes32[] challengerOpRoots, bytes32[] agreedInputRoots);
    event LeavesRevealed(uint256 indexed gameId, bytes32[] leaves, uint256 byteLength);
    event ChunkNamed(uint256 indexed gameId, uint256 chunkIndex, bytes32[] challengerLeaves, uint256 byteLength);
    event ChunkRevealed(uint256 indexed gameId, uint256 chunkIndex, bytes chunk);
    event ElementNamed(uint256 indexed gameId, uint256 element, uint16 workerValue, uint16 challengerValue);
    event StepVerified(uint256 indexed gameId, uint256 value);
    event GameResolved(
        uint256 indexed gameId, IDisputeArena.Outcome outcome, uint256 toWorker, uint256 toChallenger, uint256 burnt
    );
    event CreditClaimed(address indexed account, address to, uint256 amount);
    event ArenaAuthorized(address indexed arena, bool authorized);

    uint256 private constant FROM_INPUT = type(uint256).max;
    uint256 private constant FROM_CONSTANT = type(uint256).max - 1;

    IModelRegistry public immutable models;
    IOneStepVerifier public immutable verifier;
    /// Seconds each party may spend on its moves in total.
    uint64 public immutable clockBudget;
    /// Share of a losing challenger's bond paid to the worker; the rest is burnt.
    uint256 public immutable workerShareBps;

    address public owner;
    mapping(address arena => bool) public isArena;
    mapping(uint256 gameId => Game) private _games;
    mapping(address account => uint256) public credits;
    uint256 public gameCount;
    uint256 public totalBurnt;

    constructor(IModelRegistry models_, IOneStepVerifier verifier_, uint64 clockBudget_, uint256 workerShareBps_) {
        if (workerShareBps_ > 10_000) revert DisputeGameBadShare(workerShareBps_);
        models = models_;
        verifier = verifier_;
        clockBudget = clockBudget_;
        workerShareBps = workerShareBps_;
        owner = msg.sender;
    }

    function setArena(address arena, bool allowed) external {
        if (msg.sender != owner) revert DisputeGameNotOwner(msg.sender);
        isArena[arena] = allowed;
        emit ArenaAuthorized(arena, allowed);
    }

    function renounceOwnership() external {
        if (msg.sender != owner) revert DisputeGameNotOwner(msg.sender);
        owner = address(0);
    }

    function open(OpenParams calldata p) external payable nonReentrant returns (uint256 gameId) {
        if (!isArena[msg.sender]) revert DisputeGameNotArena(msg.sender);
        if (msg.value == 0) revert DisputeGameZeroBond();
        (uint256 leafCount, uint256 opCount) = models.modelLayout(p.modelRoot);
        gameId = ++gameCount;
        Game storage g = _games[gameId];
        g.arena = msg.sender;
        g.phase = Phase.WorkerTrace;
        g.lastMoveAt = uint40(block.timestamp);
        g.worker = p.worker;
        g.workerClock = Clock.wrap(clockBudget);
        g.challenger = p.challenger;
        g.challengerClock = Clock.wrap(clockBudget);
        g.bond = uint128(msg.value);
        g.opCount = uint32(opCount);
        g.leafCount = uint32(leafCount);
        g.subject = p.subject;
        g.taskId = p.taskId;
        g.modelRoot = p.modelRoot;
        g.inputRoot = p.inputRoot;
        g.resultCommitment = p.resultCommitment;
        g.outputRoot = p.outputRoot;
        g.challengerTraceRoot = p.challengerTraceRoot;
        emit GameOpened(gameId, msg.sender, p.subject, p, msg.value, opCount);
    }

    // ---- moves ----

    /// Move 1 (worker): the trace root that opens the result commitment, and every op output root.
    function revealTrace(uint256 gameId, bytes32 traceRoot, bytes32[] calldata opRoots) external nonReentrant {
        Game storage g = _move(gameId, Phase.WorkerTrace, true);
        if (opRoots.length != g.opCount) revert DisputeGameOpCountMismatch(gameId, opRoots.length, g.opCount);
        bytes32 rebuilt = Commitments.traceRoot(opRoots);
        if (rebuilt != traceRoot) revert DisputeGameTraceRootMismatch(gameId, rebuilt, traceRoot);
        bytes32 commitment = Commitments.resultCommitment(g.taskId, g.inputRoot, g.outputRoot, traceRoot);
        if (commitment != g.resultCommitment) {
            revert DisputeGameCommitmentMismatch(gameId, commitment, g.resultCommitment);
        }
        bytes32 last = opRoots[opRoots.length - 1];
        if (last != g.outputRoot) revert DisputeGameOutputRootMismatch(gameId, last, g.outputRoot);
        g.workerOpsHash = keccak256(abi.encodePacked(opRoots));
        g.phase = Phase.ChallengerOp;
        emit TraceRevealed(gameId, traceRoot, opRoots);
    }

    /// Move 2 (challenger): its op roots (opening its trace root) and op k, whose output roots
    /// differ while every input agrees. `workerOpRoots` repeats the worker's move 1.
    function nameOp(
        uint256 gameId,
        bytes32[] calldata challengerOpRoots,
        bytes32[] calldata workerOpRoots,
        OpLeafOpening calldata op,
        InputSource[] calldata sources
    ) external nonReentrant {
        Game storage g = _move(gameId, Phase.ChallengerOp, false);
        _checkTraces(g, gameId, challengerOpRoots, workerOpRoots);
        uint256 k = op.index;
        if (k >= g.opCount) revert DisputeGameOpIndexOutOfRange(gameId, k, g.opCount);
        if (workerOpRoots[k] == challengerOpRoots[k]) revert DisputeGameOpRootsAgree(gameId, k);
        if (!_opensOp(g, op)) revert DisputeGameOpLeafInvalid(gameId, k);
        if (sources.length != op.inputs.length) {
            revert DisputeGameSourceCount(gameId, sources.length, op.inputs.length);
        }
        bytes32[] memory agreed = new bytes32[](sources.length);
        for (uint256 i; i < sources.length; ++i) {
            uint256 j = _checkSource(g, gameId, i, op.inputs[i], k, sources[i]);
            if (j == FROM_INPUT) {
                agreed[i] = g.inputRoot;
            } else if (j != FROM_CONSTANT) {
                if (workerOpRoots[j] != challengerOpRoots[j]) revert DisputeGameInputsDisagree(gameId, i, j);
                agreed[i] = workerOpRoots[j];
            }
        }
        g.opIndex = uint32(k);
        g.workerOpRoot = workerOpRoots[k];
        g.challengerOpRoot = challengerOpRoots[k];
        g.agreedInputsHash = keccak256(abi.encode(agreed));
        g.phase = Phase.WorkerLeaves;
        emit OpNamed(gameId, k, challengerOpRoots, agreed);
    }

    function _checkTraces(
        Game storage g,
        uint256 gameId,
        bytes32[] calldata challengerOpRoots,
        bytes32[] calldata workerOpRoots
    ) private view {
        if (challengerOpRoots.length != g.opCount) {
            revert DisputeGameOpCountMismatch(gameId, challengerOpRoots.length, g.opCount);
        }
        bytes32 rebuilt = Commitments.traceRoot(challengerOpRoots);
        if (rebuilt != g.challengerTraceRoot) {
            revert DisputeGameTraceRootMismatch(gameId, rebuilt, g.challengerTraceRoot);
        }
        if (keccak256(abi.encodePacked(workerOpRoots)) != g.workerOpsHash) {
            revert DisputeGameWorkerOpRootsMismatch(gameId);
        }
    }

    /// Move 3 (worker): the chunk leaves of its op-k output.
    function revealLeaves(uint256 gameId, bytes32[] calldata leaves, uint256 byteLength) external nonReentrant {
        Game storage g = _move(gameId, Phase.WorkerLeaves, true);
        bytes32 root = Commitments.tensorRootFromLeaves(leaves, byteLength);
        if (root != g.workerOpRoot) revert DisputeGameLeavesMismatch(gameId, root, g.workerOpRoot);
        g.workerLeavesHash = keccak256(abi.encodePacked(leaves));
        g.workerLength = uint64(byteLength);
        g.phase = Phase.ChallengerChunk;
        emit LeavesRevealed(gameId, leaves, byteLength);
    }

    /// Move 4 (challenger): its chunk leaves of op k's output and a chunk whose leaves differ
    /// (or that only one side has). `workerLeaves` repeats the worker's move 3.
    function nameChunk(
        uint256 gameId,
        bytes32[] calldata challengerLeaves,
        uint256 byteLength,
        bytes32[] calldata workerLeaves,
        uint256 chunkIndex
    ) external nonReentrant {
        Game storage g = _move(gameId, Phase.ChallengerChunk, false);
        bytes32 root = Commitments.tensorRootFromLeaves(challengerLeaves, byteLength);
        if (root != g.challengerOpRoot) revert DisputeGameLeavesMismatch(gameId, root, g.challengerOpRoot);
        if (keccak256(abi.encodePacked(workerLeaves)) != g.workerLeavesHash) {
            revert DisputeGameWorkerLeavesMismatch(gameId);
        }
        uint256 count = workerLeaves.length > challengerLeaves.length ? workerLeaves.length : challengerLeaves.length;
        if (chunkIndex >= count) revert DisputeGameChunkOutOfRange(gameId, chunkIndex, count);
        bytes32 w = chunkIndex < workerLeaves.length ? workerLeaves[chunkIndex] : bytes32(0);
        bytes32 c = chunkIndex < challengerLeaves.length ? challengerLeaves[chunkIndex] : bytes32(0);
        if (w == c) revert DisputeGameChunksAgree(gameId, chunkIndex);
        g.chunkIndex = uint32(chunkIndex);
        g.workerLeaf = w;
        g.challengerLeaf = c;
        // A worker without chunk c has nothing to reveal: the challenger moves again.
        g.phase = w == bytes32(0) ? Phase.ChallengerElement : Phase.WorkerChunk;
        emit ChunkNamed(gameId, chunkIndex, challengerLeaves, byteLength);
    }

    /// Move 5 (worker): the bytes of its chunk c.
    function revealChunk(uint256 gameId, bytes calldata chunk) external nonReentrant {
        Game storage g = _move(gameId, Phase.WorkerChunk, true);
        if (keccak256(chunk) != g.workerLeaf) revert DisputeGameChunkMismatch(gameId, g.worker);
        g.phase = Phase.ChallengerElement;
        emit ChunkRevealed(gameId, g.chunkIndex, chunk);
    }

    /// Move 6 (challenger): its chunk c and a byte offset where the two chunks differ.
    /// `workerChunk` repeats the worker's move 5 (empty if the worker has no chunk c).
    function nameElement(uint256 gameId, bytes calldata challengerChunk, bytes calldata workerChunk, uint256 offset)
        external
        nonReentrant
    {
        Game storage g = _move(gameId, Phase.ChallengerElement, false);
        if (offset >= Commitments.CHUNK_BYTES) revert DisputeGameOffsetOutOfRange(gameId, offset);
        ByteClaim w = _claimAt(gameId, g.workerLeaf, workerChunk, offset, g.worker);
        ByteClaim c = _claimAt(gameId, g.challengerLeaf, challengerChunk, offset, g.challenger);
        uint256 element = uint256(g.chunkIndex) * Commitments.CHUNK_BYTES + offset;
        if (w == c) revert DisputeGameValuesAgree(gameId, element, ByteClaim.unwrap(w));
        g.workerValue = w;
        g.challengerValue = c;
        g.element = uint64(element);
        g.phase = Phase.Step;
        emit ElementNamed(gameId, element, ByteClaim.unwrap(w), ByteClaim.unwrap(c));
    }

    /// Move 7 (anyone): the one-step proof of the named element. The worker loses unless the
    /// recomputed value equals its byte.
    function submitStep(uint256 gameId, IOneStepVerifier.Step calldata step) external nonReentrant {
        Game storage g = _game(gameId);
        if (g.phase != Phase.Step) revert DisputeGameWrongPhase(gameId, g.phase, Phase.Step);
        address mover = _mover(g);
        if (_elapsed(g) > Clock.unwrap(_clockOf(g, mover))) revert DisputeGameClockExpired(gameId, mover);
        if (
            step.modelRoot != g.modelRoot || step.op.index != g.opIndex || step.element != g.element
                || step.opCount != g.opCount || step.modelLeafCount != g.leafCount
        ) revert DisputeGameStepMismatch(gameId);
        (uint256 value, bytes32[] memory inputRoots) = verifier.computeElement(step);
        // INVARIANT: the step ran on the inputs both parties agreed on, so it decides who computed op k right.
        if (keccak256(abi.encode(inputRoots)) != g.agreedInputsHash) revert DisputeGameInputRootsMismatch(gameId);
        emit StepVerified(gameId, value);
        _resolve(gameId, g, ByteClaim.unwrap(g.workerValue) != value);
    }

    /// Ends a game whose mover let its clock run out (the mover loses), or whose subject was
    /// already convicted by another game (moot: the challenger's bond is returned).
    function timeout(uint256 gameId) external nonReentrant {
        Game storage g = _game(gameId);
        _requireActive(gameId, g);
        if (IDisputeArena(g.arena).isConvicted(g.subject)) return _resolve(gameId, g, true);
        address mover = _mover(g);
        uint256 left = Clock.unwrap(_clockOf(g, mover));
        uint256 elapsed = _elapsed(g);
        if (elapsed <= left) revert DisputeGameClockRunning(gameId, mover, left - elapsed);
        _resolve(gameId, g, mover == g.worker);
    }

    /// Resolves a game whose subject another game already convicted: the challenger's bond is returned.
    function resolveMoot(uint256 gameId) external nonReentrant {
        Game storage g = _game(gameId);
        _requireActive(gameId, g);
        if (!IDisputeArena(g.arena).isConvicted(g.subject)) revert DisputeGameNotMoot(gameId);
        _resolve(gameId, g, true);
    }

    function claim(address to) external nonReentrant {
        if (to == address(0)) revert DisputeGameZeroAddress();
        uint256 amount = credits[msg.sender];
        if (amount == 0) revert DisputeGameNothingToClaim(msg.sender);
        credits[msg.sender] = 0;
        SafeTransfer.sendNative(to, amount);
        emit CreditClaimed(msg.sender, to, amount);
    }

    // ---- views ----

    function game(uint256 gameId) external view returns (Game memory) {
        return _games[gameId];
    }

    /// Whose clock runs now, and its seconds left (0 if expired).
    function clockOf(uint256 gameId) external view returns (address mover, uint256 secondsLeft) {
        Game storage g = _game(gameId);
        _requireActive(gameId, g);
        mover = _mover(g);
        uint256 left = Clock.unwrap(_clockOf(g, mover));
        uint256 elapsed = _elapsed(g);
        secondsLeft = elapsed >= left ? 0 : left - elapsed;
    }

    // ---- internals ----

    function _game(uint256 gameId) private view returns (Game storage g) {
        g = _games[gameId];
        if (g.phase == Phase.None) revert DisputeGameUnknownGame(gameId);
    }

    function _requireActive(uint256 gameId, Game storage g) private view {
        if (g.phase == Phase.Resolved) revert DisputeGameWrongPhase(gameId, g.phase, Phase.None);
    }

    function _elapsed(Game storage g) private view returns (uint256) {
        return block.timestamp - g.lastMoveAt;
    }

    function _mover(Game storage g) private view returns (address) {
        Phase p = g.phase;
        if (p == Phase.ChallengerOp || p == Phase.ChallengerChunk || p == Phase.ChallengerElement) return g.challenger;
        // In the step phase the burden is on the worker, unless the worker claimed no byte at all:
        // then only the challenger can show (with a valid step) that the element exists.
        if (p == Phase.Step && g.workerValue == ABSENT) return g.challenger;
        return g.worker;
    }

    function _clockOf(Game storage g, address party) private view returns (Clock) {
        return party == g.worker ? g.workerClock : g.challengerClock;
    }

    /// Checks phase, caller and clock, then charges the elapsed time to the mover.
    function _move(uint256 gameId, Phase expected, bool byWorker) private returns (Game storage g) {
        g = _game(gameId);
        if (g.phase != expected) revert DisputeGameWrongPhase(gameId, g.phase, expected);
        address mover = byWorker ? g.worker : g.challenger;
        if (msg.sender != mover) revert DisputeGameNotYourTurn(gameId, msg.sender, mover);
        uint256 elapsed = _elapsed(g);
        uint256 left = Clock.unwrap(_clockOf(g, mover));
        if (elapsed > left) revert DisputeGameClockExpired(gameId, mover);
        // elapsed <= left <= type(uint64).max.
        Clock next = Clock.wrap(uint64(left - elapsed));
        if (byWorker) g.workerClock = next;
        else g.challengerClock = next;
        g.lastMoveAt = uint40(block.timestamp);
    }

    function _opensOp(Game storage g, OpLeafOpening calldata op) private view returns (bool) {
        bytes32 leaf = Commitments.opLeaf(op.code, op.inputs, op.output, op.attrs);
        return Commitments.opensModel(g.modelRoot, g.leafCount, leaf, 1 + op.index, op.siblings);
    }

    /// Checks where input `i` (tensor `tensorId`) of op k comes from: returns the producing op's
    /// index, FROM_INPUT for the model input or FROM_CONSTANT for a constant.
    function _checkSource(Game storage g, uint256 gameId, uint256 i, uint256 tensorId, uint256 k, InputSource calldata s)
        private
        view
        returns (uint256)
    {
        if (s.kind == SourceKind.Producer) {
            uint256 j = s.producer.index;
            // Models are in topological order and every tensor is written once (validateModel).
            if (j >= k || s.producer.output != tensorId || !_opensOp(g, s.producer)) {
                revert DisputeGameBadSource(gameId, i, tensorId);
            }
            return j;
        }
        TensorLeafOpening calldata t = s.tensor;
        uint256 kind = s.kind == SourceKind.ModelInput ? 0 : 1;
        bytes32 leaf = Commitments.tensorLeaf(t.id, t.kind, t.dtype, t.shape, t.zeroPoint, t.constRoot);
        if (
            t.id != tensorId || t.kind != kind
                || !Commitments.opensModel(g.modelRoot, g.leafCount, leaf, 1 + uint256(g.opCount) + t.id, t.siblings)
        ) revert DisputeGameBadSource(gameId, i, tensorId);
        return kind == 0 ? FROM_INPUT : FROM_CONSTANT;
    }

    function _claimAt(uint256 gameId, bytes32 leaf, bytes calldata chunk, uint256 offset, address party)
        private
        pure
        returns (ByteClaim)
    {
        if (leaf == bytes32(0)) {
            if (chunk.length != 0) revert DisputeGameChunkMismatch(gameId, party);
            return ABSENT;
        }
        if (keccak256(chunk) != leaf) revert DisputeGameChunkMismatch(gameId, party);
        return offset < chunk.length ? ByteClaim.wrap(uint8(chunk[offset])) : ABSENT;
    }

    /// Pays out the bond and tells the arena. A game on an already convicted subject is moot.
    function _resolve(uint256 gameId, Game storage g, bool workerLost) private {
        IDisputeArena arena = IDisputeArena(g.arena);
        IDisputeArena.Outcome outcome = arena.isConvicted(g.subject)
            ? IDisputeArena.Outcome.Moot
            : workerLost ? IDisputeArena.Outcome.ChallengerWon : IDisputeArena.Outcome.WorkerWon;
        uint256 bond = g.bond;
        g.phase = Phase.Resolved;
        g.outcome = outcome;
        g.bond = 0;
        uint256 toWorker;
        uint256 toChallenger;
        uint256 burnt;
        // INVARIANT: the whole bond leaves the game's books: to the challenger, or to the worker and the burn.
        if (outcome == IDisputeArena.Outcome.WorkerWon) {
            toWorker = bond * workerShareBps / 10_000;
            burnt = bond - toWorker;
            credits[g.worker] += toWorker;
            totalBurnt += burnt;
        } else {
            toChallenger = bond;
            credits[g.challenger] += bond;
        }
        emit GameResolved(gameId, outcome, toWorker, toChallenger, burnt);
        SafeTransfer.sendNative(SafeTransfer.BURN, burnt);
        arena.onDisputeResolved(gameId, g.subject, outcome, g.worker, g.challenger);
    }
}
