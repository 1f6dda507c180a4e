// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Index} from "../lib/Index.sol";

/// @title ShapeStep: the data-movement ops gather, reshape, transpose and concat
/// (src/engine/reference/shape.ts). Each maps an output flat index to the input element that
/// feeds it; the one-step check is then equality of the two committed bytes.
library ShapeStep {
    error TokenOutOfRange(int256 id, uint256 vocab);
    error BadPermutation();
    error AxisMismatch(uint256 sum, uint256 axisSize);

    /// gather, y[p, d] = table[ids[p], d] with table [V, D]: the index in ids of output `outFlat`.
    function gatherIdsIndex(uint256 outFlat, uint256 D) internal pure returns (uint256) {
        return outFlat / D;
    }

    /// gather: the flat index in table of output `outFlat`, given id = ids[outFlat / D]. An id
    /// outside [0, V) is an input error, as in the reference.
    function gatherSource(uint256 outFlat, uint256 D, uint256 V, int256 id) internal pure returns (uint256) {
        if (id < 0 || uint256(id) >= V) revert TokenOutOfRange(id, V);
        return uint256(id) * D + (outFlat % D);
    }

    /// reshape keeps the bytes: output element i is input element i.
    function reshapeSource(uint256 outFlat, uint256 count) internal pure returns (uint256) {
        if (outFlat >= count) revert Index.IndexOutOfRange(outFlat, count);
        return outFlat;
    }

    /// transpose, y[i_perm[0], ..., i_perm[r-1]] = x[i_0, ..., i_{r-1}]: the flat index in x
    /// (shape inShape) of output `outFlat` (output shape inShape[perm[k]]).
    function transposeSource(uint256[] memory inShape, uint256[] memory perm, uint256 outFlat)
        internal
        pure
        returns (uint256 inFlat)
    {
        uint256 rank = inShape.length;
        if (perm.length != rank) revert BadPermutation();
        uint256[] memory inStrides = Index.strides(inShape);
        uint256 seen;
        uint256 rest = outFlat;
        for (uint256 ax = rank; ax > 0; --ax) {
            uint256 p = perm[ax - 1];
            if (p >= rank || (seen >> p) & 1 == 1) revert BadPermutation();
            seen |= 1 << p;
            uint256 d = inShape[p];
            inFlat += (rest % d) * inStrides[p];
            rest /= d;
        }
        if (rest != 0) revert Index.IndexOutOfRange(outFlat, Index.count(inShape));
    }

    /// concat along `axis`: which input (k) and which flat index in it feed output `outFlat`.
    /// axisLens[k] is input k's size along the axis; all other dimensions equal outShape's.
    function concatSource(uint256[] memory outShape, uint256 axis, uint256[] memory axisLens, uint256 outFlat)
        internal
        pure
        returns (uint256 k, uint256 inFlat)
    {
        uint256 total;
        for (uint256 i; i < axisLens.length; ++i) total += axisLens[i];
        if (total != outShape[axis]) revert AxisMismatch(total, outShape[axis]);
        uint256 inner = 1;
        for (uint256 i = axis + 1; i < outShape.length; ++i) inner *= outShape[i];
        uint256 count = Index.count(outShape);
        if (outFlat >= count) revert Index.IndexOutOfRange(outFlat, count);
        uint256 rowLen = total * inner;
        uint256 o = outFlat / rowLen;
        uint256 r = outFlat % rowLen;
        uint256 offset;
        for (k = 0; k < axisLens.length; ++k) {
            uint256 len = axisLens[k] * inner;
            if (r < offset + len) return (k, o * len + (r - offset));
            offset += len;
        }
        // Unreachable: r < rowLen = Σ len.
        revert AxisMismatch(total, outShape[axis]);
    }
}
