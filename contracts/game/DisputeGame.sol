// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IDisputeArena} from "../interfaces/IDisputeArena.sol";
import {IDisputeGame} from "../interfaces/IDisputeGame.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {MerkleTree} from "../lib/MerkleTree.sol";
import {ReentrancyGuard} from "../market/lib/ReentrancyGuard.sol";
import {SafeTransfer} from "../market/lib/SafeTransfer.sol";
import {IOneStepVerifier} from "../verify/IOneStepVerifier.sol";
import {Commitments} from "./Commitments.sol";
import {Clock, InputSource, OpLeafOpening, Phase, SourceKind, TensorLeafOpening} from "./GameTypes.sol";

error DisputeGameNotOwner(address caller);
error DisputeGameNotArena(address caller);
error DisputeGameZeroBond();
error DisputeGameUnknownGame(uint256 gameId);
error DisputeGameWrongPhase(uint256 gameId, Phase phase, Phase expected);
error DisputeGameNotYourTurn(uint256 gameId, address caller, address mover);
error DisputeGameClockExpired(uint256 gameId, address mover);
error DisputeGameClockRunning(uint256 gameId, address mover, uint256 secondsLeft);
error DisputeGameNotMoot(uint256 gameId);
/// The batch does not give the input root's byte length (batch × inputBytesPerSample).
error DisputeGameInputLengthMismatch(uint256 gameId, uint256 batch, uint256 byteLength);
/// The output root is not the last leaf of the revealed trace tree.
error DisputeGameOutputProofInvalid(uint256 gameId);
error DisputeGameChildCount(uint256 gameId, uint256 got, uint256 expected);
/// The revealed children do not hash to the worker's node.
error DisputeGameNodesMismatch(uint256 gameId, bytes32 rebuilt, bytes32 node);
/// A child that covers only positions past the tree's leaf count is not the empty subtree.
error DisputeGamePaddingNotEmpty(uint256 gameId, uint256 child);
/// The children repeated by the challenger are not the ones the worker revealed.
error DisputeGameChildrenMismatch(uint256 gameId);
error DisputeGameChildOutOfRange(uint256 gameId, uint256 child, uint256 children);
/// The picked child covers only padding (proven empty when it was revealed).
error DisputeGamePickInPadding(uint256 gameId, uint256 child);
error DisputeGameWrongOp(uint256 gameId, uint256 opIndex, uint256 expected);
error DisputeGameOpLeafInvalid(uint256 gameId, uint256 opIndex);
/// The output tensor opening is not op k's u8 activation output in the model tree.
error DisputeGameBadOutputTensor(uint256 gameId, uint256 tensorId);
error DisputeGameSourceCount(uint256 gameId, uint256 got, uint256 expected);
error DisputeGameBadSource(uint256 gameId, uint256 input, uint256 tensorId);
/// The producer's root is not leaf `producerOp` of the worker's trace tree.
error DisputeGameProducerRootInvalid(uint256 gameId, uint256 input, uint256 producerOp);
/// The worker's op root does not wrap this data root at the byte length the model fixes.
error DisputeGameTensorLengthMismatch(uint256 gameId, uint256 byteLength);
/// The chunk does not have the length the layout fixes for its index.
error DisputeGameChunkLength(uint256 gameId, uint256 got, uint256 expected);
error DisputeGameChunkMismatch(uint256 gameId);
error DisputeGameOffsetOutOfRange(uint256 gameId, uint256 offset, uint256 chunkLength);
error DisputeGameStepMismatch(uint256 gameId);
error DisputeGameInputRootsMismatch(uint256 gameId);
/// The disputed op's reduction is not split into segments: submitStep settles it.
error DisputeGameNotSegmented(uint256 gameId);
/// The last leaf of the partial-sum tree is not the worker's byte.
error DisputeGamePrefixByteInvalid(uint256 gameId);
/// The partial sum before the picked segment is not the worker's leaf (or not 0 before the first).
error DisputeGamePrefixProofInvalid(uint256 gameId, uint256 segment);
error DisputeGameNothingToClaim(address account);
error DisputeGameZeroAddress();
error DisputeGameBadShare(uint256 bps);

/// @title DisputeGame: a worker defends its result, op by op and chunk by chunk, down to one
/// re-executed output element.
/// @notice Opened by a market (an IDisputeArena) with the challenger's bond. The worker alone makes
/// claims; the challenger only points at them. Every length comes from the model and the agreed
/// input, never from a party. Moves, with chess clocks (K = 2^NODE_BITS children per reveal):
///   1. worker      revealTrace   batch, trace-tree root (leaf opCount-1 = output root), first K nodes
///   2. challenger  pick          a child whose subtree holds a wrong op root   } repeated while the
///   3. worker      revealNodes   the K children of the picked node             } node is not a leaf
///   4. challenger  nameOp        op k at the picked leaf: its output tensor and where each input comes
///                                from (an earlier op's leaf in the worker's tree, the input, a constant)
///   5. worker      revealTensor  the data root of its op-k output (length fixed by the model), first K nodes
///   6. challenger  pick / worker revealNodes, as in 2-3, down to one chunk
///   7. worker      revealChunk   that chunk's bytes (length fixed by the layout)
///   8. challenger  nameElement   an offset in it
///   9. worker      submitStep    (anyone may) IOneStepVerifier recomputes that element from the
///                                agreed inputs; the worker loses unless it equals the worker's byte
/// An op whose one element reads too many chunks for one step splits its reduction into S segments
/// fixed by the model (IOneStepVerifier.segmentCount); instead of 9:
///   9'. worker     revealPrefix  the root of a tree of S + 1 leaves: leaf i < S the exact prefix sum
///                                after segment i (keccak256(abi.encode(int256))), leaf S its byte
///                                (proven), and the first K nodes
///  10. challenger pick / worker revealNodes, as in 2-3, down to the first wrong leaf i
///  11. worker      submitSegmentStep (anyone may) from leaf i-1 (0 for i = 0), the verifier
///                                recomputes leaf i (i < S) or requantizes leaf S-1 (i = S); the
///                                worker loses unless that equals its leaf i (its byte for i = S)
/// A party whose clock runs out loses (anyone may call timeout). docs/protocol.md gives the
/// soundness argument. Solvency: the contract holds Σ bonds of unresolved games + Σ credits.
contract DisputeGame is IDisputeGame, ReentrancyGuard {
    uint256 public constant NODE_BITS = 6;
    /// The largest batch a result may have: the validator bounds every one-step up to this batch
    /// (src/engine/stepCost.ts STEP_BATCH_LIMIT), so a worker must not take a larger task.
    uint256 public constant MAX_BATCH = 256;
    uint256 private constant CHUNK_BYTES = 1024;
    uint256 private constant ACTIVATION = 2;
    uint256 private constant U8 = 0;
    uint256 private constant FROM_INPUT = type(uint256).max;
    uint256 private constant FROM_CONSTANT = type(uint256).max - 1;

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
        uint64 inputBytesPerSample;
        uint64 batch;
        // The dissection cursor: the worker's node at (height, position) of the current tree,
        // whose leaves [0, leafLimit) are real and the rest padding.
        uint64 position;
        uint64 leafLimit;
        uint8 height;
        uint8 stepBits;
        uint16 workerByte;
        uint32 opIndex;
        uint64 outputLength;
        uint64 element;
        bytes32 node;
        bytes32 childrenHash;
        bytes32 traceTreeRoot;
        bytes32 agreedInputsHash;
        bytes32 subject;
        bytes32 modelRoot;
        bytes32 inputRoot;
        bytes32 outputRoot;
        // The partial-sum level: the worker's prefix-sum tree and its segment count.
        bytes32 prefixRoot;
        uint64 segments;
    }

    event GameOpened(
        uint256 indexed gameId,
        address indexed arena,
        bytes32 indexed subject,
        IDisputeGame.OpenParams params,
        uint256 bond,
        uint256 opCount
    );
    event TraceRevealed(uint256 indexed gameId, uint256 batch, bytes32 traceTreeRoot, bytes32[] children);
    event NodesRevealed(uint256 indexed gameId, Phase phase, uint256 height, uint256 position, bytes32[] children);
    event ChildPicked(uint256 indexed gameId, Phase phase, uint256 height, uint256 position);
    event OpNamed(uint256 indexed gameId, uint256 opIndex, uint256 outputLength, bytes32[] agreedInputRoots);
    event TensorRevealed(uint256 indexed gameId, bytes32 dataRoot, bytes32[] children);
    event ChunkRevealed(uint256 indexed gameId, uint256 chunkIndex, bytes chunk);
    event ElementNamed(uint256 indexed gameId, uint256 element, uint256 workerByte);
    event StepVerified(uint256 indexed gameId, uint256 value);
    event PrefixRevealed(uint256 indexed gameId, uint256 segments, bytes32 prefixRoot, bytes32[] children);
    event SegmentVerified(uint256 indexed gameId, uint256 segment, int256 value);
    event GameResolved(
        uint256 indexed gameId, IDisputeArena.Outcome outcome, uint256 toWorker, uint256 toChallenger, uint256 burnt
    );
    event CreditClaimed(address indexed account, address to, uint256 amount);
    event ArenaAuthorized(address indexed arena, bool authorized);

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
        IModelRegistry.Layout memory l = models.modelLayout(p.modelRoot);
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
        g.opCount = uint32(l.opCount);
        g.leafCount = uint32(l.leafCount);
        g.inputBytesPerSample = l.inputBytesPerSample;
        g.subject = p.subject;
        g.modelRoot = p.modelRoot;
        g.inputRoot = p.inputRoot;
        g.outputRoot = p.outputRoot;
        emit GameOpened(gameId, msg.sender, p.subject, p, msg.value, l.opCount);
    }

    // ---- moves ----

    /// Move 1 (worker): the batch that gives the input root's length, the root of its trace tree
    /// (leaf k = op k's output root, zero-padded to a power of two), the proof that its last leaf is
    /// the committed output root, and the first children of the root (none for a one-op model).
    function revealTrace(
        uint256 gameId,
        uint256 batch,
        bytes32 inputDataRoot,
        bytes32 traceTreeRoot,
        bytes32[] calldata outputSiblings,
        bytes32[] calldata children
    ) external nonReentrant {
        Game storage g = _move(gameId, Phase.WorkerTrace, true);
        uint256 inputLength = batch * g.inputBytesPerSample;
        // INVARIANT: the batch is fixed by the agreed input, so every tensor length below is too.
        if (
            batch == 0 || batch > MAX_BATCH || inputLength >= 2 ** 64
                || Commitments.wrap(Commitments.TENSOR_TAG, inputDataRoot, inputLength) != g.inputRoot
        ) revert DisputeGameInputLengthMismatch(gameId, batch, inputLength);
        uint256 n = g.opCount;
        if (!Commitments.verifyLeaf(traceTreeRoot, n, g.outputRoot, n - 1, outputSiblings)) {
            revert DisputeGameOutputProofInvalid(gameId);
        }
        g.batch = uint64(batch);
        g.traceTreeRoot = traceTreeRoot;
        _enterTree(g, gameId, traceTreeRoot, n, children, Phase.ChallengerOpPick, Phase.ChallengerOp);
        emit TraceRevealed(gameId, batch, traceTreeRoot, children);
    }

    /// Moves 3 and 6 (worker): the children of the node the challenger picked.
    function revealNodes(uint256 gameId, bytes32[] calldata children) external nonReentrant {
        Game storage g = _game(gameId);
        Phase p = g.phase;
        if (p != Phase.WorkerOpNodes && p != Phase.WorkerChunkNodes && p != Phase.WorkerPrefixNodes) {
            revert DisputeGameWrongPhase(gameId, p, Phase.WorkerOpNodes);
        }
        _move(gameId, p, true);
        _acceptChildren(g, gameId, children);
        g.phase = p == Phase.WorkerOpNodes
            ? Phase.ChallengerOpPick
            : p == Phase.WorkerChunkNodes ? Phase.ChallengerChunkPick : Phase.ChallengerPrefixPick;
        emit NodesRevealed(gameId, p, g.height, g.position, children);
    }

    /// Moves 2 and 6 (challenger): one of the children the worker revealed (repeated here), which
    /// must cover at least one real leaf.
    function pick(uint256 gameId, bytes32[] calldata workerChildren, uint256 child) external nonReentrant {
        Game storage g = _game(gameId);
        Phase p = g.phase;
        if (p != Phase.ChallengerOpPick && p != Phase.ChallengerChunkPick && p != Phase.ChallengerPrefixPick) {
            revert DisputeGameWrongPhase(gameId, p, Phase.ChallengerOpPick);
        }
        _move(gameId, p, false);
        if (keccak256(abi.encodePacked(workerChildren)) != g.childrenHash) revert DisputeGameChildrenMismatch(gameId);
        uint256 bits = g.stepBits;
        if (child >= workerChildren.length) revert DisputeGameChildOutOfRange(gameId, child, workerChildren.length);
        uint256 height = g.height - bits;
        uint256 position = (uint256(g.position) << bits) | child;
        if (position << height >= g.leafLimit) revert DisputeGamePickInPadding(gameId, child);
        g.node = workerChildren[child];
        g.height = uint8(height);
        g.position = uint64(position);
        g.childrenHash = bytes32(0);
        if (p == Phase.ChallengerPrefixPick) {
            g.phase = height != 0 ? Phase.WorkerPrefixNodes : Phase.PrefixStep;
        } else if (height != 0) {
            g.phase = p == Phase.ChallengerOpPick ? Phase.WorkerOpNodes : Phase.WorkerChunkNodes;
        } else {
            g.phase = p == Phase.ChallengerOpPick ? Phase.ChallengerOp : Phase.WorkerChunk;
        }
        emit ChildPicked(gameId, p, height, position);
    }

    /// Move 4 (challenger): op k, the op at the picked leaf of the trace tree. Opens its op leaf and
    /// its output tensor leaf (which fixes the output's byte length at the game's batch), and says
    /// where each input comes from. An earlier op's output is read from the worker's own trace tree.
    function nameOp(
        uint256 gameId,
        OpLeafOpening calldata op,
        TensorLeafOpening calldata out,
        InputSource[] calldata sources
    ) external nonReentrant {
        Game storage g = _move(gameId, Phase.ChallengerOp, false);
        uint256 k = g.position;
        if (op.index != k) revert DisputeGameWrongOp(gameId, op.index, k);
        if (!_opensOp(g, op)) revert DisputeGameOpLeafInvalid(gameId, k);
        uint256 outputLength = _outputLength(g, gameId, op.output, out);
        if (sources.length != op.inputs.length) {
            revert DisputeGameSourceCount(gameId, sources.length, op.inputs.length);
        }
        bytes32[] memory agreed = new bytes32[](sources.length);
        for (uint256 i; i < sources.length; ++i) {
            uint256 j = _checkSource(g, gameId, i, op.inputs[i], k, sources[i]);
            if (j == FROM_INPUT) {
                agreed[i] = g.inputRoot;
            } else if (j != FROM_CONSTANT) {
                InputSource calldata s = sources[i];
                if (!Commitments.verifyLeaf(g.traceTreeRoot, g.opCount, s.producerRoot, j, s.traceSiblings)) {
                    revert DisputeGameProducerRootInvalid(gameId, i, j);
                }
                agreed[i] = s.producerRoot;
            }
        }
        g.opIndex = uint32(k);
        g.outputLength = uint64(outputLength);
        g.agreedInputsHash = keccak256(abi.encode(agreed));
        g.phase = Phase.WorkerTensor;
        emit OpNamed(gameId, k, outputLength, agreed);
    }

    /// Move 5 (worker): the data root under its op-k output root, at the length the model fixes,
    /// and the first children of that chunk tree (none for a one-chunk tensor).
    function revealTensor(uint256 gameId, bytes32 dataRoot, bytes32[] calldata children) external nonReentrant {
        Game storage g = _move(gameId, Phase.WorkerTensor, true);
        uint256 len = g.outputLength;
        // INVARIANT: the worker's tensor has exactly the model's length, so every chunk it can be
        // asked for exists on both sides and has a fixed size.
        if (Commitments.wrap(Commitments.TENSOR_TAG, dataRoot, len) != g.node) {
            revert DisputeGameTensorLengthMismatch(gameId, len);
        }
        _enterTree(
            g, gameId, dataRoot, Commitments.chunkCount(len), children, Phase.ChallengerChunkPick, Phase.WorkerChunk
        );
        emit TensorRevealed(gameId, dataRoot, children);
    }

    /// Move 7 (worker): the bytes of the picked chunk: 1024, or what remains for the last one.
    function revealChunk(uint256 gameId, bytes calldata chunk) external nonReentrant {
        Game storage g = _move(gameId, Phase.WorkerChunk, true);
        uint256 expected = _chunkLength(g);
        if (chunk.length != expected) revert DisputeGameChunkLength(gameId, chunk.length, expected);
        if (keccak256(chunk) != g.node) revert DisputeGameChunkMismatch(gameId);
        g.phase = Phase.ChallengerElement;
        emit ChunkRevealed(gameId, g.position, chunk);
    }

    /// Move 8 (challenger): an offset in the worker's chunk (repeated here).
    function nameElement(uint256 gameId, bytes calldata workerChunk, uint256 offset) external nonReentrant {
        Game storage g = _move(gameId, Phase.ChallengerElement, false);
        if (keccak256(workerChunk) != g.node) revert DisputeGameChunkMismatch(gameId);
        if (offset >= workerChunk.length) revert DisputeGameOffsetOutOfRange(gameId, offset, workerChunk.length);
        uint256 element = uint256(g.position) * CHUNK_BYTES + offset;
        g.workerByte = uint8(workerChunk[offset]);
        g.element = uint64(element);
        g.phase = Phase.Step;
        emit ElementNamed(gameId, element, g.workerByte);
    }

    /// Move 9 (anyone, on the worker's clock): the one-step proof of the named element. The worker
    /// loses unless the recomputed value equals its byte.
    function submitStep(uint256 gameId, IOneStepVerifier.Step calldata step) external nonReentrant {
        Game storage g = _stepOf(gameId, step, Phase.Step);
        (uint256 value, bytes32[] memory inputRoots) = verifier.computeElement(step);
        _checkInputRoots(g, gameId, inputRoots);
        emit StepVerified(gameId, value);
        _resolve(gameId, g, g.workerByte != value);
    }

    /// Move 9' (worker), for an op whose reduction is split into S segments: the root of its
    /// partial-sum tree (S + 1 leaves), the proof that leaf S is its byte, and the first children.
    /// `step` is the element's descriptor (no chunks needed): it fixes S from the model.
    function revealPrefix(
        uint256 gameId,
        IOneStepVerifier.Step calldata step,
        bytes32 prefixRoot,
        bytes32[] calldata byteSiblings,
        bytes32[] calldata children
    ) external nonReentrant {
        _stepOf(gameId, step, Phase.Step);
        Game storage g = _move(gameId, Phase.Step, true);
        uint256 segments = verifier.segmentCount(step);
        if (segments == 0) revert DisputeGameNotSegmented(gameId);
        // INVARIANT: the last leaf is the worker's byte, so a worker whose partial sums are all
        // right and whose byte is wrong leaves the challenger a leaf to point at.
        bytes32 byteLeaf = _valueLeaf(int256(uint256(g.workerByte)));
        if (!Commitments.verifyLeaf(prefixRoot, segments + 1, byteLeaf, segments, byteSiblings)) {
            revert DisputeGamePrefixByteInvalid(gameId);
        }
        g.prefixRoot = prefixRoot;
        g.segments = uint64(segments);
        _enterTree(g, gameId, prefixRoot, segments + 1, children, Phase.ChallengerPrefixPick, Phase.PrefixStep);
        emit PrefixRevealed(gameId, segments, prefixRoot, children);
    }

    /// Move 11 (anyone, on the worker's clock): the step of the picked segment i, from the worker's
    /// leaf i-1 `before` (proven by `beforeSiblings`; 0 and no siblings for i = 0). For i < S the
    /// worker loses unless before + Σ(segment i) hashes to its leaf i; for i = S unless the
    /// requantized sum equals its byte.
    function submitSegmentStep(
        uint256 gameId,
        IOneStepVerifier.Step calldata step,
        int256 before,
        bytes32[] calldata beforeSiblings
    ) external nonReentrant {
        Game storage g = _stepOf(gameId, step, Phase.PrefixStep);
        uint256 i = g.position;
        uint256 segments = g.segments;
        bool proven = i == 0
            ? before == 0 && beforeSiblings.length == 0
            : Commitments.verifyLeaf(g.prefixRoot, segments + 1, _valueLeaf(before), i - 1, beforeSiblings);
        if (!proven) revert DisputeGamePrefixProofInvalid(gameId, i);
        (int256 value, bytes32[] memory inputRoots) = verifier.computeSegment(step, i, before);
        _checkInputRoots(g, gameId, inputRoots);
        emit SegmentVerified(gameId, i, value);
        _resolve(gameId, g, i < segments ? _valueLeaf(value) != g.node : value != int256(uint256(g.workerByte)));
    }

    /// Ends a game whose mover let its clock run out (the mover loses), or that its market declared
    /// moot (the challenger's bond is returned).
    function timeout(uint256 gameId) external nonReentrant {
        Game storage g = _game(gameId);
        _requireActive(gameId, g);
        if (IDisputeArena(g.arena).isMoot(g.subject, gameId)) return _resolve(gameId, g, true);
        address mover = _mover(g);
        uint256 left = Clock.unwrap(_clockOf(g, mover));
        uint256 elapsed = _elapsed(g);
        if (elapsed <= left) revert DisputeGameClockRunning(gameId, mover, left - elapsed);
        _resolve(gameId, g, mover == g.worker);
    }

    /// Resolves a game that its market declared moot: the challenger's bond is returned.
    function resolveMoot(uint256 gameId) external nonReentrant {
        Game storage g = _game(gameId);
        _requireActive(gameId, g);
        if (!IDisputeArena(g.arena).isMoot(g.subject, gameId)) revert DisputeGameNotMoot(gameId);
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

    /// The hash of an empty subtree of height h: 0 for a leaf, keccak256(z ‖ z) above.
    function zeroHash(uint256 h) public pure returns (bytes32 z) {
        for (uint256 i; i < h; ++i) z = MerkleTree.hashPair(z, z);
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
        if (
            p == Phase.ChallengerOpPick || p == Phase.ChallengerOp || p == Phase.ChallengerChunkPick
                || p == Phase.ChallengerElement || p == Phase.ChallengerPrefixPick
        ) return g.challenger;
        // The step phase runs on the worker's clock: an honest worker can always build the step.
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

    /// Starts a dissection at `root`, a tree of `leafLimit` real leaves padded to a power of two.
    function _enterTree(
        Game storage g,
        uint256 gameId,
        bytes32 root,
        uint256 leafLimit,
        bytes32[] calldata children,
        Phase pickPhase,
        Phase leafPhase
    ) private {
        uint256 height = MerkleTree.depth(leafLimit);
        g.node = root;
        g.height = uint8(height);
        g.position = 0;
        g.leafLimit = uint64(leafLimit);
        if (height == 0) {
            if (children.length != 0) revert DisputeGameChildCount(gameId, children.length, 0);
            g.phase = leafPhase;
        } else {
            _acceptChildren(g, gameId, children);
            g.phase = pickPhase;
        }
    }

    /// Checks that `children` are the 2^s nodes s levels below the cursor (s = min(NODE_BITS,
    /// height)), that they hash up to the worker's node, and that every child past the real leaves
    /// is the empty subtree.
    function _acceptChildren(Game storage g, uint256 gameId, bytes32[] calldata children) private {
        uint256 height = g.height;
        uint256 bits = height < NODE_BITS ? height : NODE_BITS;
        uint256 count = uint256(1) << bits;
        if (children.length != count) revert DisputeGameChildCount(gameId, children.length, count);
        bytes32[] memory level = children;
        for (uint256 width = count; width > 1; width >>= 1) {
            for (uint256 i; i < width >> 1; ++i) {
                level[i] = MerkleTree.hashPair(level[2 * i], level[2 * i + 1]);
            }
        }
        if (level[0] != g.node) revert DisputeGameNodesMismatch(gameId, level[0], g.node);
        uint256 childHeight = height - bits;
        uint256 first = uint256(g.position) << bits;
        uint256 limit = g.leafLimit;
        bytes32 empty = zeroHash(childHeight);
        for (uint256 i; i < count; ++i) {
            // INVARIANT: padding is proven empty here, so a dishonest tensor or trace can never hide
            // a difference where the honest challenger has nothing to point at.
            if ((first + i) << childHeight >= limit && children[i] != empty) {
                revert DisputeGamePaddingNotEmpty(gameId, i);
            }
        }
        g.stepBits = uint8(bits);
        g.childrenHash = keccak256(abi.encodePacked(children));
    }

    /// The game for a step in phase `phase` (anyone may submit it, on the worker's clock), after
    /// checking that the step is of the disputed element.
    function _stepOf(uint256 gameId, IOneStepVerifier.Step calldata step, Phase phase)
        private
        view
        returns (Game storage g)
    {
        g = _game(gameId);
        if (g.phase != phase) revert DisputeGameWrongPhase(gameId, g.phase, phase);
        if (_elapsed(g) > Clock.unwrap(g.workerClock)) revert DisputeGameClockExpired(gameId, g.worker);
        if (
            step.modelRoot != g.modelRoot || step.op.index != g.opIndex || step.element != g.element
                || step.opCount != g.opCount || step.modelLeafCount != g.leafCount || step.batch != g.batch
        ) revert DisputeGameStepMismatch(gameId);
    }

    function _checkInputRoots(Game storage g, uint256 gameId, bytes32[] memory inputRoots) private view {
        // INVARIANT: the step ran on the inputs the worker itself claimed for op k, so a wrong byte
        // is the worker's own error, and a right byte always survives.
        if (keccak256(abi.encode(inputRoots)) != g.agreedInputsHash) revert DisputeGameInputRootsMismatch(gameId);
    }

    /// A leaf of the partial-sum tree: an exact integer.
    function _valueLeaf(int256 v) private pure returns (bytes32) {
        return keccak256(abi.encode(v));
    }

    function _chunkLength(Game storage g) private view returns (uint256) {
        uint256 start = uint256(g.position) * CHUNK_BYTES;
        uint256 len = g.outputLength;
        if (len == 0) return 0;
        return len - start < CHUNK_BYTES ? len - start : CHUNK_BYTES;
    }

    function _opensOp(Game storage g, OpLeafOpening calldata op) private view returns (bool) {
        bytes32 leaf = Commitments.opLeaf(op.code, op.inputs, op.output, op.attrs);
        return Commitments.opensModel(g.modelRoot, g.leafCount, leaf, 1 + op.index, op.siblings);
    }

    function _opensTensor(Game storage g, TensorLeafOpening calldata t) private view returns (bool) {
        bytes32 leaf = Commitments.tensorLeaf(t.id, t.kind, t.dtype, t.shape, t.zeroPoint, t.constRoot);
        return Commitments.opensModel(g.modelRoot, g.leafCount, leaf, 1 + uint256(g.opCount) + t.id, t.siblings);
    }

    /// The byte length of op k's output at the game's batch: batch × Π shape[1:] (u8 activations).
    function _outputLength(Game storage g, uint256 gameId, uint256 tensorId, TensorLeafOpening calldata out)
        private
        view
        returns (uint256 len)
    {
        if (
            out.id != tensorId || out.kind != ACTIVATION || out.dtype != U8 || out.shape.length == 0
                || !_opensTensor(g, out)
        ) revert DisputeGameBadOutputTensor(gameId, tensorId);
        len = g.batch;
        for (uint256 i = 1; i < out.shape.length; ++i) {
            len *= out.shape[i];
            // The registry bounds every element count far below this; a corrupt shape cannot overflow.
            if (len >= 2 ** 64) revert DisputeGameBadOutputTensor(gameId, tensorId);
        }
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
            // The registry checked that models are in topological order with one writer per tensor.
            if (j >= k || s.producer.output != tensorId || !_opensOp(g, s.producer)) {
                revert DisputeGameBadSource(gameId, i, tensorId);
            }
            return j;
        }
        TensorLeafOpening calldata t = s.tensor;
        uint256 kind = s.kind == SourceKind.ModelInput ? 0 : 1;
        if (t.id != tensorId || t.kind != kind || !_opensTensor(g, t)) revert DisputeGameBadSource(gameId, i, tensorId);
        return kind == 0 ? FROM_INPUT : FROM_CONSTANT;
    }

    /// Pays out the bond and tells the arena. A game its market declared moot returns the bond.
    function _resolve(uint256 gameId, Game storage g, bool workerLost) private {
        IDisputeArena arena = IDisputeArena(g.arena);
        IDisputeArena.Outcome outcome = arena.isMoot(g.subject, gameId)
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
