// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// The reverts of the one-step verifier (OneStepVerifier.sol and its helper libraries). Every
// failure names what was wrong and where. Tensor ids are model tensor ids; chunk indices are
// 1024-byte chunk indices of the tensor's committed bytes.

/// The batch size is 0.
error OneStepZeroBatch();
/// op.index is not below opCount.
error OneStepOpIndexOutOfRange(uint256 index, uint256 opCount);
/// modelLeafCount cannot hold the meta leaf, opCount op leaves and at least one tensor leaf.
error OneStepBadLeafCount(uint256 leafCount, uint256 opCount);
/// A model-tree proof has the wrong number of siblings for modelLeafCount leaves.
error OneStepLeafProofLength(uint256 leafIndex, uint256 got, uint256 expected);
/// The op leaf (code, inputs, output, attrs) with its siblings does not give modelRoot.
error OneStepOpLeafMismatch(uint256 opIndex);
/// The tensor leaf (id, kind, dtype, shape, zeroPoint, constRoot) with its siblings does not give modelRoot.
error OneStepTensorLeafMismatch(uint256 tensorId);
/// The tensor id has no leaf in the model tree.
error OneStepTensorOutOfRange(uint256 tensorId, uint256 tensorCount);
/// step.inputs does not have one opening per op input.
error OneStepInputCount(uint256 expected, uint256 got);
/// The opening at `position` (an input index, or type(uint256).max for the output) is not of the op's tensor.
error OneStepTensorIdMismatch(uint256 position, uint256 expected, uint256 got);
/// The tensor's kind does not fit its place (the output must be an activation; kinds are 0, 1, 2).
error OneStepBadKind(uint256 tensorId, uint256 kind);
/// The tensor's dtype does not fit its place in the op.
error OneStepBadDtype(uint256 tensorId, uint256 dtype);
/// The tensor's shape (rank or a dimension) does not fit the op.
error OneStepBadShape(uint256 tensorId);
/// A constant was opened against a root other than its committed constRoot.
error OneStepConstRootMismatch(uint256 tensorId);
/// The claimed byte length is not element count times element size (or does not fit in 64 bits).
error OneStepByteLength(uint256 tensorId, uint256 byteLength, uint256 expected);
/// A chunk index beyond the tensor's chunk count.
error OneStepChunkOutOfRange(uint256 tensorId, uint256 chunkIndex, uint256 chunkCount);
/// A chunk proof with the wrong number of siblings.
error OneStepChunkProofLength(uint256 tensorId, uint256 chunkIndex, uint256 got, uint256 expected);
/// A chunk of the wrong length (1024 bytes, or the remainder for the last chunk).
error OneStepChunkLength(uint256 tensorId, uint256 chunkIndex, uint256 got, uint256 expected);
/// A chunk and its siblings do not give the tensor root.
error OneStepChunkMismatch(uint256 tensorId, uint256 chunkIndex);
/// The element needs a chunk that was not supplied.
error OneStepMissingChunk(uint256 tensorId, uint256 chunkIndex);
/// An operand index outside its tensor.
error OneStepIndexOutOfRange(uint256 tensorId, uint256 index, uint256 count);
/// The requested output element is outside op k's output.
error OneStepElementOutOfRange(uint256 element, uint256 count);
/// An op code outside 1..14.
error OneStepUnknownOp(uint256 code);
/// The op has the wrong number of inputs for its code.
error OneStepBadInputCount(uint256 code, uint256 count);
/// The op has the wrong number of attributes for its code.
error OneStepBadAttributes(uint256 code, uint256 length);
/// Attribute `position` has a value the op cannot use (negative, zero divisor or out of range).
error OneStepBadAttribute(uint256 position, int256 value);
/// A multiplier/shift vector whose length is neither 1 nor the channel count, or a negative shift.
error OneStepBadRequant(uint256 tensorId, uint256 length);
/// A partial-sum step of an op whose reduction is not split, or past its last segment.
error OneStepBadSegment(uint256 segment, uint256 segments);
