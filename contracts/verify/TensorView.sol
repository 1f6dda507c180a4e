// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MerkleTree} from "../lib/MerkleTree.sol";
import {IOneStepVerifier} from "./IOneStepVerifier.sol";
import {ModelProof} from "./ModelProof.sol";
import {
    OneStepBadDtype,
    OneStepBadShape,
    OneStepByteLength,
    OneStepChunkLength,
    OneStepChunkMismatch,
    OneStepChunkOutOfRange,
    OneStepChunkProofLength,
    OneStepIndexOutOfRange,
    OneStepMissingChunk
} from "./OneStepErrors.sol";

/// @title TensorView: an opened tensor, its proven chunks, and element reads from them.
/// @notice The chunks stay in calldata: a view records, for every proven chunk, its index and the
/// calldata offset of its bytes, and reads elements from there (docs/commitments.md: u8 and i8 take
/// one byte, i32 four bytes big-endian; 1024-byte chunks, the last one not padded). Reading an
/// element whose chunk was not supplied reverts OneStepMissingChunk(tensorId, chunkIndex).
library TensorView {
    uint256 internal constant CHUNK_BYTES = 1024;
    uint256 internal constant U8 = 0;
    uint256 internal constant I8 = 1;
    uint256 internal constant I32 = 2;
    uint256 internal constant CONST = 1;

    struct View {
        uint256 id;
        uint256 kind;
        uint256 dtype;
        int256 zeroPoint;
        /// The shape at the run's batch size (dimension 0 of inputs and activations is the batch).
        uint256[] shape;
        /// Element count.
        uint256 count;
        /// Per proven chunk: its index, and the calldata offset of its bytes.
        uint256[] chunkIndex;
        uint256[] chunkData;
        /// Cache of the last chunk found: its index + 1 (0 = none) and its data offset.
        uint256 hitIndex;
        uint256 hitData;
    }

    /// Opens `t` at batch size `batch`: checks its byte length and proves every chunk against `root`.
    /// The tensor leaf itself is checked by ModelProof.checkTensor.
    function open(IOneStepVerifier.TensorOpening calldata t, bytes32 root, uint256 batch)
        internal
        pure
        returns (View memory v)
    {
        if (t.dtype > I32) revert OneStepBadDtype(t.id, t.dtype);
        v.id = t.id;
        v.kind = t.kind;
        v.dtype = t.dtype;
        v.zeroPoint = t.zeroPoint;
        v.shape = batchedShape(t, batch);
        v.count = product(v.shape);
        uint256 len = v.count * (t.dtype == I32 ? 4 : 1);
        if (t.byteLength != len || len >= 2 ** 64) revert OneStepByteLength(t.id, t.byteLength, len);
        uint256 n = t.chunks.length;
        v.chunkIndex = new uint256[](n);
        v.chunkData = new uint256[](n);
        for (uint256 j; j < n; ++j) {
            IOneStepVerifier.ChunkProof calldata c = t.chunks[j];
            verifyChunk(t.id, root, len, c);
            bytes calldata data = c.chunk;
            uint256 offset;
            assembly ("memory-safe") {
                offset := data.offset
            }
            v.chunkIndex[j] = c.index;
            v.chunkData[j] = offset;
        }
    }

    /// The shape of `t` at batch size `batch`: constants as committed, others with dim 0 = batch.
    function batchedShape(IOneStepVerifier.TensorOpening calldata t, uint256 batch)
        internal
        pure
        returns (uint256[] memory s)
    {
        s = t.shape;
        if (s.length == 0) revert OneStepBadShape(t.id);
        if (t.kind != CONST) s[0] = batch;
    }

    /// The product of the dimensions.
    function product(uint256[] memory s) internal pure returns (uint256 n) {
        n = 1;
        for (uint256 i; i < s.length; ++i) n *= s[i];
    }

    /// Checks chunk `c` of a tensor of `len` bytes against the tensor root `root`.
    function verifyChunk(uint256 id, bytes32 root, uint256 len, IOneStepVerifier.ChunkProof calldata c)
        internal
        pure
    {
        uint256 count = len == 0 ? 1 : (len + CHUNK_BYTES - 1) / CHUNK_BYTES;
        uint256 index = c.index;
        if (index >= count) revert OneStepChunkOutOfRange(id, index, count);
        uint256 d = MerkleTree.depth(count);
        if (c.siblings.length != d) revert OneStepChunkProofLength(id, index, c.siblings.length, d);
        uint256 expected = len - index * CHUNK_BYTES;
        if (expected > CHUNK_BYTES) expected = CHUNK_BYTES;
        bytes calldata chunk = c.chunk;
        if (chunk.length != expected) revert OneStepChunkLength(id, index, chunk.length, expected);
        bytes32 leaf;
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, chunk.offset, chunk.length)
            leaf := keccak256(p, chunk.length)
        }
        if (MerkleTree.wrap(ModelProof.TENSOR_TAG, MerkleTree.fold(leaf, index, c.siblings), len) != root) {
            revert OneStepChunkMismatch(id, index);
        }
    }

    /// Reverts unless the tensor has dtype `dtype`.
    function expect(View memory v, uint256 dtype) internal pure {
        if (v.dtype != dtype) revert OneStepBadDtype(v.id, v.dtype);
    }

    /// Reverts unless the tensor has rank `rank`.
    function expectRank(View memory v, uint256 rank) internal pure {
        if (v.shape.length != rank) revert OneStepBadShape(v.id);
    }

    /// The last dimension.
    function lastDim(View memory v) internal pure returns (uint256) {
        return v.shape[v.shape.length - 1];
    }

    /// The calldata offset of chunk `chunk`'s bytes.
    function locate(View memory v, uint256 chunk) internal pure returns (uint256 data) {
        if (v.hitIndex == chunk + 1) return v.hitData;
        uint256[] memory index = v.chunkIndex;
        for (uint256 j; j < index.length; ++j) {
            if (index[j] == chunk) {
                data = v.chunkData[j];
                v.hitIndex = chunk + 1;
                v.hitData = data;
                return data;
            }
        }
        revert OneStepMissingChunk(v.id, chunk);
    }

    function checkIndex(View memory v, uint256 i) private pure {
        if (i >= v.count) revert OneStepIndexOutOfRange(v.id, i, v.count);
    }

    /// The raw byte of element i of a u8 or i8 tensor (the caller checks the dtype).
    function byteAt(View memory v, uint256 i) internal pure returns (uint256 b) {
        checkIndex(v, i);
        uint256 data = locate(v, i / CHUNK_BYTES);
        assembly ("memory-safe") {
            b := byte(0, calldataload(add(data, mod(i, CHUNK_BYTES))))
        }
    }

    /// Element i of an i32 tensor.
    function i32At(View memory v, uint256 i) internal pure returns (int256 x) {
        expect(v, I32);
        checkIndex(v, i);
        uint256 offset = i * 4;
        uint256 data = locate(v, offset / CHUNK_BYTES);
        assembly ("memory-safe") {
            x := signextend(3, shr(224, calldataload(add(data, mod(offset, CHUNK_BYTES)))))
        }
    }

    /// Bytes [start, start + n) of the tensor's committed encoding, copied to memory.
    function copyBytes(View memory v, uint256 start, uint256 n) internal pure returns (bytes memory out) {
        uint256 len = v.count * (v.dtype == I32 ? 4 : 1);
        if (start + n > len) revert OneStepIndexOutOfRange(v.id, start + n, len);
        out = new bytes(n);
        copyInto(v, start, n, out, 0);
    }

    /// out[outAt + k] = byte start + k of the tensor for k < n, chunk by chunk; the caller checks both
    /// ranges.
    function copyInto(View memory v, uint256 start, uint256 n, bytes memory out, uint256 outAt) private pure {
        uint256 pos = start;
        uint256 end = start + n;
        while (pos < end) {
            uint256 chunk = pos / CHUNK_BYTES;
            uint256 segEnd = (chunk + 1) * CHUNK_BYTES;
            if (segEnd > end) segEnd = end;
            uint256 src = locate(v, chunk) + (pos % CHUNK_BYTES);
            uint256 dst = outAt + pos - start;
            uint256 size = segEnd - pos;
            assembly ("memory-safe") {
                calldatacopy(add(add(out, 32), dst), src, size)
            }
            pos = segEnd;
        }
    }

    /// out[outAt + k] = element start + k * stride of a u8 or i8 tensor (its raw byte) for k < n.
    /// Reverts unless every element is inside the tensor and every written byte inside `out`.
    function gather(View memory v, uint256 start, uint256 stride, uint256 n, bytes memory out, uint256 outAt)
        internal
        pure
    {
        if (n == 0) return;
        uint256 last = start + (n - 1) * stride;
        if (last >= v.count) revert OneStepIndexOutOfRange(v.id, last, v.count);
        if (outAt + n > out.length) revert OneStepIndexOutOfRange(type(uint256).max, outAt + n, out.length);
        if (stride == 1) return copyInto(v, start, n, out, outAt);
        uint256 chunk = type(uint256).max;
        uint256 data;
        // i <= last < count and outAt + k < out.length: no index wraps.
        unchecked {
            for (uint256 k; k < n; ++k) {
                uint256 i = start + k * stride;
                if (i / CHUNK_BYTES != chunk) {
                    chunk = i / CHUNK_BYTES;
                    data = locate(v, chunk);
                }
                assembly ("memory-safe") {
                    mstore8(add(add(out, 32), add(outAt, k)), byte(0, calldataload(add(data, mod(i, CHUNK_BYTES)))))
                }
            }
        }
    }
}
