// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MerkleTree} from "../lib/MerkleTree.sol";
import {IOneStepVerifier} from "./IOneStepVerifier.sol";
import {
    OneStepBadKind,
    OneStepBadLeafCount,
    OneStepLeafProofLength,
    OneStepOpIndexOutOfRange,
    OneStepOpLeafMismatch,
    OneStepTensorLeafMismatch,
    OneStepTensorOutOfRange
} from "./OneStepErrors.sol";

/// @title ModelProof: leaves of the model tree and Merkle folding (docs/commitments.md).
/// @notice modelRoot = keccak256(0x4d ‖ merkleRoot(leaves) ‖ uint64be(leafCount)), leaves =
/// [metaLeaf, opLeaf_0 … opLeaf_{n-1}, tensorLeaf_0 … tensorLeaf_{m-1}], padded with zero hashes to a
/// power of two; parent = keccak256(left ‖ right); bit k of a leaf index set means a right child at
/// level k. The tensor root wrapper keccak256(0x54 ‖ dataRoot ‖ uint64be(len)) uses the same fold.
///
/// An op leaf is the hash of the standard ABI encoding of (uint256, uint256[], uint256, int256[]),
/// whose second word is the offset 0x80; a tensor leaf hashes (uint256, uint256, uint256,
/// uint256[], int256, bytes32), whose second word is the kind (0, 1 or 2, checked). The two
/// encodings therefore never coincide, so an op can never be opened as a tensor or vice versa, and
/// a tensor leaf's committed id fixes its position 1 + opCount + id, which binds opCount.
library ModelProof {
    uint8 internal constant MODEL_TAG = 0x4d;
    uint8 internal constant TENSOR_TAG = 0x54;

    /// Checks modelLeafCount against opCount and the op leaf of step.op against modelRoot.
    function checkOp(IOneStepVerifier.Step calldata s) internal pure {
        uint256 leafCount = s.modelLeafCount;
        // The meta leaf, opCount op leaves and at least one tensor leaf; uint64be(leafCount).
        if (s.opCount >= leafCount || leafCount - s.opCount < 2 || leafCount >= 2 ** 64) {
            revert OneStepBadLeafCount(leafCount, s.opCount);
        }
        IOneStepVerifier.OpOpening calldata op = s.op;
        if (op.index >= s.opCount) revert OneStepOpIndexOutOfRange(op.index, s.opCount);
        bytes32 leaf = keccak256(abi.encode(op.code, op.inputs, op.output, op.attrs));
        if (!opensModel(s, leaf, 1 + op.index, op.leafSiblings)) revert OneStepOpLeafMismatch(op.index);
    }

    /// Checks the tensor leaf of `t` against modelRoot (call checkOp first).
    function checkTensor(IOneStepVerifier.Step calldata s, IOneStepVerifier.TensorOpening calldata t)
        internal
        pure
    {
        uint256 tensorCount = s.modelLeafCount - 1 - s.opCount;
        if (t.id >= tensorCount) revert OneStepTensorOutOfRange(t.id, tensorCount);
        if (t.kind > 2) revert OneStepBadKind(t.id, t.kind);
        bytes32 leaf = keccak256(abi.encode(t.id, t.kind, t.dtype, t.shape, t.zeroPoint, t.constRoot));
        if (!opensModel(s, leaf, 1 + s.opCount + t.id, t.leafSiblings)) revert OneStepTensorLeafMismatch(t.id);
    }

    /// Whether `leaf` at `index` with `siblings` gives modelRoot (index < modelLeafCount).
    function opensModel(IOneStepVerifier.Step calldata s, bytes32 leaf, uint256 index, bytes32[] calldata siblings)
        private
        pure
        returns (bool)
    {
        uint256 d = MerkleTree.depth(s.modelLeafCount);
        if (siblings.length != d) revert OneStepLeafProofLength(index, siblings.length, d);
        return MerkleTree.wrap(MODEL_TAG, MerkleTree.fold(leaf, index, siblings), s.modelLeafCount) == s.modelRoot;
    }
}
