// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// Seconds left on a party's chess clock.
type Clock is uint64;

/// A claimed output byte: 0..255, or ABSENT when the claimant's tensor has no byte at that index.
type ByteClaim is uint16;

ByteClaim constant ABSENT = ByteClaim.wrap(256);

using {eqClaim as ==, neClaim as !=} for ByteClaim global;

function eqClaim(ByteClaim a, ByteClaim b) pure returns (bool) {
    return ByteClaim.unwrap(a) == ByteClaim.unwrap(b);
}

function neClaim(ByteClaim a, ByteClaim b) pure returns (bool) {
    return ByteClaim.unwrap(a) != ByteClaim.unwrap(b);
}

/// The game's moves in order; the comment names whose clock runs.
enum Phase {
    None,
    WorkerTrace, // worker: revealTrace
    ChallengerOp, // challenger: nameOp
    WorkerLeaves, // worker: revealLeaves
    ChallengerChunk, // challenger: nameChunk
    WorkerChunk, // worker: revealChunk
    ChallengerElement, // challenger: nameElement
    Step, // anyone: submitStep (the worker's clock, or the challenger's if the worker's byte is absent)
    Resolved
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
    /// The output of an earlier op: `producer` opens that op, whose output must be the input tensor.
    Producer,
    /// The model input: `tensor` opens its leaf (kind 0); its root is the task's input root.
    ModelInput,
    /// A constant: `tensor` opens its leaf (kind 1); it is bound by the model root (agreed root 0).
    Constant
}

struct InputSource {
    SourceKind kind;
    OpLeafOpening producer;
    TensorLeafOpening tensor;
}
