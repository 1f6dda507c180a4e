// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

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

    /// The number of levels above n leaves: the least d with 2^d >= n (0 for one leaf).
    function depth(uint256 n) internal pure returns (uint256 d) {
        while ((uint256(1) << d) < n) ++d;
    }

    /// keccak256(a ‖ b).
    function hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            mstore(0x00, a)
            mstore(0x20, b)
            h := keccak256(0x00, 0x40)
        }
    }

    /// The root above `leaf` at `index`, given its siblings from the leaf up.
    function fold(bytes32 leaf, uint256 index, bytes32[] calldata siblings) internal pure returns (bytes32 node) {
        node = leaf;
        for (uint256 k; k < siblings.length; ++k) {
            node = index & 1 == 1 ? hashPair(siblings[k], node) : hashPair(node, siblings[k]);
            index >>= 1;
        }
    }

    /// keccak256(tag ‖ root ‖ uint64be(n)), 41 bytes; n < 2^64 (checked by the callers).
    function wrap(uint8 tag, bytes32 root, uint256 n) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            // Scratch memory past the free memory pointer; nothing is allocated.
            let p := mload(0x40)
            mstore8(p, tag)
            mstore(add(p, 1), root)
            mstore(add(p, 33), shl(192, n))
            h := keccak256(p, 41)
        }
    }

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
        uint256 d = depth(s.modelLeafCount);
        if (siblings.length != d) revert OneStepLeafProofLength(index, siblings.length, d);
        return wrap(MODEL_TAG, fold(leaf, index, siblings), s.modelLeafCount) == s.modelRoot;
    }
}
