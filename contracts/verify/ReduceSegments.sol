// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ReduceSegments: how a reducemean's reduction is split into committed partial sums when one
/// output element reads too many input chunks for one step (a mean over a strided axis, e.g. over
/// the tokens of [N,T,d]: the T values of one output are d bytes apart).
/// @notice Mirrored by src/engine/reduceSegments.ts; the validator prices each segment step and
/// the final step (src/engine/stepCost.ts). Everything here is fixed by the model's shapes.
///  - The G values r0 .. r0+G-1 of the reduced axis (length len, `inner` bytes apart) span
///    (G-1)*inner + 1 bytes and touch at most reads(G) = min(G, floor((span + 1022) / 1024) + 1)
///    chunks, wherever they start.
/// A reducemean with reads(len) > SPLIT_CHUNKS is split into segments of G consecutive values of
/// the reduced axis, the most with reads(G) <= SEGMENT_CHUNKS and at most SEGMENT_TAPS,
/// S = ceil(len / G) of them.
library ReduceSegments {
    uint256 internal constant SPLIT_CHUNKS = 8;
    uint256 internal constant SEGMENT_CHUNKS = 8;
    uint256 internal constant SEGMENT_TAPS = 1024;

    /// Values per segment and the segment count; (len, 0) for a reducemean checked in one step.
    function plan(uint256 len, uint256 inner) internal pure returns (uint256 taps, uint256 segments) {
        if (len == 0 || inner == 0 || reads(len, inner) <= SPLIT_CHUNKS) return (len, 0);
        // reads(G) <= SEGMENT_CHUNKS: G <= SEGMENT_CHUNKS, or (G-1)*inner + 1023 < SEGMENT_CHUNKS*1024.
        taps = ((SEGMENT_CHUNKS - 1) * 1024) / inner + 1;
        if (taps < SEGMENT_CHUNKS) taps = SEGMENT_CHUNKS;
        if (taps > SEGMENT_TAPS) taps = SEGMENT_TAPS;
        segments = (len + taps - 1) / taps;
    }

    function reads(uint256 n, uint256 inner) private pure returns (uint256) {
        uint256 dense = ((n - 1) * inner + 1 + 1022) / 1024 + 1;
        return n < dense ? n : dense;
    }
}
