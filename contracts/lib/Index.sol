// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Index: row-major flat indices and numpy broadcasting (src/engine/tensor.ts).
library Index {
    error IndexOutOfRange(uint256 index, uint256 count);
    error NotBroadcastable(uint256 inDim, uint256 outDim);

    /// The number of elements of `shape`.
    function count(uint256[] memory shape) internal pure returns (uint256 n) {
        n = 1;
        for (uint256 i; i < shape.length; ++i) n *= shape[i];
    }

    /// Row-major strides of `shape`.
    function strides(uint256[] memory shape) internal pure returns (uint256[] memory s) {
        s = new uint256[](shape.length);
        uint256 acc = 1;
        for (uint256 i = shape.length; i > 0; --i) {
            s[i - 1] = acc;
            acc *= shape[i - 1];
        }
    }

    /// The flat index, in a tensor of shape `inShape` broadcast to `outShape`, that feeds the output
    /// element `outFlat` (tensor.ts `broadcastIndexMap`): leading axes are aligned to the right and
    /// an axis of size 1 is repeated.
    function broadcast(uint256[] memory inShape, uint256[] memory outShape, uint256 outFlat)
        internal
        pure
        returns (uint256 inFlat)
    {
        uint256 rank = outShape.length;
        if (inShape.length > rank) revert NotBroadcastable(inShape.length, rank);
        uint256 lead = rank - inShape.length;
        uint256 rest = outFlat;
        uint256 stride = 1;
        for (uint256 ax = rank; ax > lead; --ax) {
            uint256 d = outShape[ax - 1];
            uint256 di = inShape[ax - 1 - lead];
            uint256 idx = rest % d;
            rest /= d;
            if (di != 1) {
                if (di != d) revert NotBroadcastable(di, d);
                inFlat += idx * stride;
            }
            stride *= di;
        }
        // The leading output axes that the input lacks: only check the range.
        for (uint256 ax = lead; ax > 0; --ax) rest /= outShape[ax - 1];
        if (rest != 0) revert IndexOutOfRange(outFlat, count(outShape));
    }
}
