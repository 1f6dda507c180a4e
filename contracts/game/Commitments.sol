// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MerkleTree} from "../lib/MerkleTree.sol";

/// A byte length or leaf count that does not fit the uint64 of the root wrappers.
error CommitmentsTooLong(uint256 length);

/// @title Commitments: the byte layouts of docs/commitments.md, rebuilt on chain.
/// @notice Binary keccak256 Merkle trees padded with zero hashes to a power of two,
/// parent = keccak256(left ‖ right), bit k of a leaf index set = right child at level k.
///   tensorRoot = keccak256(0x54 ‖ merkleRoot(keccak256 of 1024-byte chunks) ‖ uint64be(len))
///   traceTree  = merkleRoot(op output roots), built only when a result is disputed or audited
///   modelRoot  = keccak256(0x4d ‖ merkleRoot(leaves) ‖ uint64be(leafCount))
///   result     = keccak256(abi.encode(taskId, inputRoot, outputRoot, checkpointRoot))
library Commitments {
    uint256 internal constant CHUNK_BYTES = 1024;
    uint8 internal constant TENSOR_TAG = 0x54;
    uint8 internal constant MODEL_TAG = 0x4d;

    /// Whether `leaf` is leaf `index` of a tree of `count` leaves with root `root` (proof length checked).
    function verifyLeaf(bytes32 root, uint256 count, bytes32 leaf, uint256 index, bytes32[] calldata siblings)
        internal
        pure
        returns (bool)
    {
        return index < count && siblings.length == MerkleTree.depth(count)
            && MerkleTree.fold(leaf, index, siblings) == root;
    }

    /// keccak256(tag ‖ root ‖ uint64be(n)), 41 bytes.
    function wrap(uint8 tag, bytes32 root, uint256 n) internal pure returns (bytes32 h) {
        if (n >= 2 ** 64) revert CommitmentsTooLong(n);
        h = MerkleTree.wrap(tag, root, n);
    }

    /// The Merkle root of `leaves` (at least one), padded with zero hashes. Overwrites `leaves`.
    function merkleRootInPlace(bytes32[] memory leaves) internal pure returns (bytes32) {
        uint256 n = leaves.length;
        uint256 width = uint256(1) << MerkleTree.depth(n);
        // Level by level, the first `n` entries hold real nodes and the rest are implicit zero hashes.
        while (width > 1) {
            uint256 half = width >> 1;
            for (uint256 i; i < half; ++i) {
                bytes32 l = 2 * i < n ? leaves[2 * i] : bytes32(0);
                bytes32 r = 2 * i + 1 < n ? leaves[2 * i + 1] : bytes32(0);
                leaves[i] = MerkleTree.hashPair(l, r);
            }
            n = half;
            width = half;
        }
        return leaves[0];
    }

    /// The Merkle root of calldata leaves (copied first).
    function merkleRoot(bytes32[] calldata leaves) internal pure returns (bytes32) {
        bytes32[] memory copy = leaves;
        return merkleRootInPlace(copy);
    }

    /// The tensor root of `data` (docs/commitments.md): 1024-byte chunks, the last one unpadded.
    function tensorRoot(bytes calldata data) internal pure returns (bytes32) {
        uint256 len = data.length;
        uint256 count = len == 0 ? 1 : (len + CHUNK_BYTES - 1) / CHUNK_BYTES;
        bytes32[] memory leaves = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            uint256 start = i * CHUNK_BYTES;
            uint256 end = start + CHUNK_BYTES < len ? start + CHUNK_BYTES : len;
            leaves[i] = keccak256(data[start:end]);
        }
        return wrap(TENSOR_TAG, merkleRootInPlace(leaves), len);
    }

    function chunkCount(uint256 len) internal pure returns (uint256) {
        return len == 0 ? 1 : (len + CHUNK_BYTES - 1) / CHUNK_BYTES;
    }

    /// The result commitment: the task, its input, its output and the checkpoint (the output root of
    /// op opCount - 2, or of op 0 for a one-op model), which stays hidden until an audit opens it.
    function resultCommitment(bytes32 taskId, bytes32 inputRoot, bytes32 outputRoot, bytes32 checkpointRoot)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(taskId, inputRoot, outputRoot, checkpointRoot));
    }

    /// keccak256(abi.encode(code, inputs, output, attrs)): an op leaf of the model tree.
    function opLeaf(uint256 code, uint256[] calldata inputs, uint256 output, int256[] calldata attrs)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(code, inputs, output, attrs));
    }

    /// keccak256(abi.encode(id, kind, dtype, shape, zeroPoint, constRoot)): a tensor leaf of the model tree.
    function tensorLeaf(
        uint256 id,
        uint256 kind,
        uint256 dtype,
        uint256[] calldata shape,
        int256 zeroPoint,
        bytes32 constRoot
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(id, kind, dtype, shape, zeroPoint, constRoot));
    }

    /// Whether `leaf` at `index` opens a model root of `leafCount` leaves.
    function opensModel(bytes32 modelRoot, uint256 leafCount, bytes32 leaf, uint256 index, bytes32[] calldata siblings)
        internal
        pure
        returns (bool)
    {
        return index < leafCount && siblings.length == MerkleTree.depth(leafCount)
            && wrap(MODEL_TAG, MerkleTree.fold(leaf, index, siblings), leafCount) == modelRoot;
    }
}
