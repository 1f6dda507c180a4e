// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title PoolSegments: how an avgpool's window sum is split into committed partial sums when one
/// output element has too many taps for one step (a global average pool over 56x56 or 112x112
/// planes, as in squeeze-excitation blocks, sums 3136 or 12544 taps).
/// @notice Mirrored by src/engine/poolSegments.ts; the validator prices each segment step and the
/// final step (src/engine/stepCost.ts). Everything here is fixed by the model's kernel and shapes.
///  - R consecutive kernel rows of kW taps, W bytes apart in the plane, span (R-1)*W + kW bytes;
///    each row touches at most perRow = floor((kW + 1022) / 1024) + 1 chunks, so R rows touch at
///    most reads(R) = min(R * perRow, floor(((R-1)*W + kW + 1022) / 1024) + 1) chunks.
/// An avgpool with kH*kW > SPLIT_TAPS is split into segments of R kernel rows, the most with
/// R*kW <= SEGMENT_TAPS and reads(R) <= SEGMENT_CHUNKS (at least one), S = ceil(kH / R).
library PoolSegments {
    uint256 internal constant SPLIT_TAPS = 1024;
    uint256 internal constant SEGMENT_TAPS = 1024;
    uint256 internal constant SEGMENT_CHUNKS = 8;

    /// Kernel rows per segment and the segment count; (kH, 0) for an avgpool checked in one step.
    function plan(uint256 kH, uint256 kW, uint256 W) internal pure returns (uint256 rows, uint256 segments) {
        if (kH == 0 || kW == 0 || W == 0 || kH * kW <= SPLIT_TAPS) return (kH, 0);
        uint256 perRow = (kW + 1022) / 1024 + 1;
        rows = SEGMENT_CHUNKS / perRow;
        // reads(R) <= SEGMENT_CHUNKS for dense rows: (R-1)*W + kW + 1022 < SEGMENT_CHUNKS * 1024.
        uint256 limit = (SEGMENT_CHUNKS - 1) * 1024 + 1;
        if (kW <= limit) {
            uint256 dense = (limit - kW) / W + 1;
            if (dense > rows) rows = dense;
        }
        uint256 taps = SEGMENT_TAPS / kW;
        if (taps < rows) rows = taps;
        if (rows == 0) rows = 1;
        segments = (kH + rows - 1) / rows;
    }
}
