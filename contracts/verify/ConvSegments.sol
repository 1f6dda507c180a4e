// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ConvStep} from "../onestep/ConvStep.sol";

/// @title ConvSegments: how a conv's reduction over input channels is split into committed partial
/// sums when one output element reads too many input chunks for one step (NCHW: every input
/// channel plane of 1 KiB or more is its own chunk per tap row).
/// @notice Mirrored by src/dispute/segments.ts (convSegmentPlan); the validator prices each segment
/// step and the final requantization step (src/engine/stepCost.ts). Everything here is fixed by
/// the model's shapes and attributes, never by a party.
///  - span: the bytes one channel's window covers inside its plane, (KH-1)*dilH*W + (KW-1)*dilW + 1;
///    it touches at most perChannel = floor((span + 1022) / 1024) + 1 chunks.
///  - G consecutive planes of P = H*W bytes touch at most floor((G*P + 1022) / 1024) + 1 chunks.
///  - An element reads at most reads(G) = min(G * perChannel, that) chunks of x for G channels.
/// A conv whose group of Cg channels has reads(Cg) > SPLIT_CHUNKS is split into segments of G
/// channels, the most with reads(G) <= SEGMENT_CHUNKS (at least one), S = ceil(Cg / G) of them.
library ConvSegments {
    uint256 internal constant SPLIT_CHUNKS = 8;
    uint256 internal constant SEGMENT_CHUNKS = 8;

    /// Channels per segment and the segment count for a group of Cg input channels; (Cg, 0) for a
    /// conv checked in one step.
    function plan(uint256 Cg, ConvStep.Window memory g) internal pure returns (uint256 channels, uint256 segments) {
        uint256 plane = g.H * g.W;
        if (Cg == 0 || plane == 0 || g.KH == 0 || g.KW == 0) return (Cg, 0);
        uint256 perChannel = ((g.KH - 1) * g.dilH * g.W + (g.KW - 1) * g.dilW + 1 + 1022) / 1024 + 1;
        if (reads(Cg, plane, perChannel) <= SPLIT_CHUNKS) return (Cg, 0);
        channels = SEGMENT_CHUNKS / perChannel;
        // reads(G) <= SEGMENT_CHUNKS for dense planes: G * plane + 1022 < SEGMENT_CHUNKS * 1024.
        uint256 dense = ((SEGMENT_CHUNKS - 1) * 1024 + 1) / plane;
        if (dense > channels) channels = dense;
        if (channels == 0) channels = 1;
        segments = (Cg + channels - 1) / channels;
    }

    function reads(uint256 channels, uint256 plane, uint256 perChannel) private pure returns (uint256) {
        uint256 sparse = channels * perChannel;
        uint256 dense = (channels * plane + 1022) / 1024 + 1;
        return sparse < dense ? sparse : dense;
    }
}
