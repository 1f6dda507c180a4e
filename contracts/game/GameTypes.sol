// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// Seconds left on a party's chess clock.
type Clock is uint64;

/// The game's moves in order; the comment names whose clock runs.
enum Phase {
    None,
    WorkerTrace, // worker: revealTrace (its trace root, the output proof, the batch, the first nodes)
    ChallengerOpPick, // challenger: pick a child of the current trace-tree node
    WorkerOpNodes, // worker: revealNodes (children of the picked trace-tree node)
    ChallengerOp, // challenger: nameOp (the op at the picked trace leaf, its output tensor, its input sources)
    WorkerTensor, // worker: revealTensor (the data root of its op output and the first chunk-tree nodes)
    ChallengerChunkPick, // challenger: pick a child of the current chunk-tree node
    WorkerChunkNodes, // worker: revealNodes (children of the picked chunk-tree node)
    WorkerChunk, // worker: revealChunk (the bytes of the picked chunk, of the length the layout fixes)
    ChallengerElement, // challenger: nameElement (an offset in that chunk)
    Step, // worker (anyone may submit): submitStep, the one-step proof of the named element; or, for an
    // op whose reduction is split into segments (IOneStepVerifier.segmentCount), the worker's
    // revealPrefix (the root of its partial sums)
    Resolved,
    // The partial-sum level, after Resolved so that the phase numbers above stay as they were:
    ChallengerPrefixPick, // challenger: pick a child of the current partial-sum-tree node
    WorkerPrefixNodes, // worker: revealNodes (children of the picked partial-sum-tree node)
    PrefixStep // worker (anyone may submit): submitSegmentStep, the step of the picked segment
}

/// Opening of an op leaf of the model tree (index = op index; the leaf sits at 1 + index).
struct OpLeafOpening {
    uint256 index;
    uint256 code;
    uint256[] inputs;
    uint256 output;
    int256[] attrs;
    bytes32[] siblings;
}

/// Opening of a tensor leaf of the model tree (at 1 + opCount + id).
struct TensorLeafOpening {
    uint256 id;
    uint256 kind;
    uint256 dtype;
    uint256[] shape;
    int256 zeroPoint;
    bytes32 constRoot;
    bytes32[] siblings;
}

/// Where an input of the disputed op comes from.
enum SourceKind {
    /// The output of an earlier op j: `producer` opens op j, whose output must be the input tensor,
    /// and `producerRoot` is leaf j of the worker's trace tree (proven by `traceSiblings`).
    Producer,
    /// The model input: `tensor` opens its leaf (kind 0); its root is the task's input root.
    ModelInput,
    /// A constant: `tensor` opens its leaf (kind 1); it is bound by the model root (agreed root 0).
    Constant
}

struct InputSource {
    SourceKind kind;
    OpLeafOpening producer;
    bytes32 producerRoot;
    bytes32[] traceSiblings;
    TensorLeafOpening tensor;
}
