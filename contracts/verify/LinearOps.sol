// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ConvStep} from "../onestep/ConvStep.sol";
import {ConvSegments} from "./ConvSegments.sol";
import {ConvSum} from "./ConvSum.sol";
import {MatMulStep} from "../onestep/MatMulStep.sol";
import {Requant} from "../onestep/Requant.sol";
import {OneStepBadSegment, OneStepBadShape} from "./OneStepErrors.sol";
import {OpContext} from "./OpContext.sol";
import {TensorView} from "./TensorView.sol";

/// @title LinearOps: the operands of one conv or matmul output element, gathered from the opened
/// chunks and reduced with ConvSum (the conv taps, read in place) / MatMulStep.
library LinearOps {
    /// conv (code 1): inputs x u8 [N,C,H,W], w i8 [M,C/group,KH,KW], bias, mult, shift i32;
    /// attrs strideH, strideW, padTop, padLeft, padBottom, padRight, dilH, dilW, group, qmin, qmax.
    /// mult/shift are per output channel ([M]) or per tensor ([1]).
    function conv(OpContext.Ctx memory c) internal pure returns (uint256) {
        (ConvStep.Window memory g, ConvStep.Layout memory l, ConvStep.Output memory o) = convSetup(c);
        int256 acc = convSum(c, g, l, o, 0, l.C / l.group);
        return convRequant(c, l, o, acc);
    }

    /// The channel segments of conv (ConvSegments.plan): [channels per segment, segment count], the
    /// count 0 for a conv checked in one step.
    function convSegments(OpContext.Ctx memory c) internal pure returns (uint256 channels, uint256 segments) {
        (ConvStep.Window memory g, ConvStep.Layout memory l,) = convSetup(c);
        return ConvSegments.plan(l.C / l.group, g);
    }

    /// One step of a split conv reduction: for segment i < S, acc + Σ over the taps of segment i's
    /// input channels (the prefix sum after segment i, given the one before it); for i = S, the
    /// output byte requant(bias + acc) of the whole sum acc.
    function convSegment(OpContext.Ctx memory c, uint256 segment, int256 acc) internal pure returns (int256) {
        (ConvStep.Window memory g, ConvStep.Layout memory l, ConvStep.Output memory o) = convSetup(c);
        uint256 cg = l.C / l.group;
        (uint256 channels, uint256 segments) = ConvSegments.plan(cg, g);
        if (segments == 0 || segment > segments) revert OneStepBadSegment(segment, segments);
        if (segment == segments) return int256(convRequant(c, l, o, acc));
        uint256 c0 = segment * channels;
        uint256 n = cg - c0 < channels ? cg - c0 : channels;
        // acc is a partial sum the game proved against the worker's commitment; an absurd one
        // reverts here on overflow, on the worker's clock.
        return acc + convSum(c, g, l, o, c0, n);
    }

    function convSetup(OpContext.Ctx memory c)
        private
        pure
        returns (ConvStep.Window memory g, ConvStep.Layout memory l, ConvStep.Output memory o)
    {
        TensorView.View memory x = c.ins[0];
        TensorView.View memory w = c.ins[1];
        TensorView.expect(x, TensorView.U8);
        TensorView.expect(w, TensorView.I8);
        TensorView.expectRank(x, 4);
        TensorView.expectRank(w, 4);
        OpContext.outRank(c, 4);
        g = convWindow(c, x, w);
        l = convLayout(c, x, w);
        o = ConvStep.outputCoords(l, c.element);
    }

    /// Σ (x - zx) * w over the in-bounds taps of input channels [c0, c0 + n) of o's group.
    function convSum(
        OpContext.Ctx memory c,
        ConvStep.Window memory g,
        ConvStep.Layout memory l,
        ConvStep.Output memory o,
        uint256 c0,
        uint256 n
    ) private pure returns (int256) {
        // The weight slice of output channel m is contiguous in w: copied once, read a row per MLOAD.
        (uint256 wStart,) = ConvStep.weightRange(g, l, o.m);
        uint256 area = g.KH * g.KW;
        bytes memory wTaps = TensorView.copyBytes(c.ins[1], wStart + c0 * area, n * area);
        return ConvSum.sum(g, l, o, c.ins[0], wTaps, c0, n);
    }

    function convRequant(OpContext.Ctx memory c, ConvStep.Layout memory l, ConvStep.Output memory o, int256 acc)
        private
        pure
        returns (uint256)
    {
        Requant.Params memory q = OpContext.requant(c, o.m, l.M, 9);
        return Requant.output(q, TensorView.i32At(c.ins[2], o.m) + acc);
    }

    function convWindow(OpContext.Ctx memory c, TensorView.View memory x, TensorView.View memory w)
        private
        pure
        returns (ConvStep.Window memory g)
    {
        g.H = x.shape[2];
        g.W = x.shape[3];
        g.KH = w.shape[2];
        g.KW = w.shape[3];
        g.strideH = OpContext.uattr(c, 0);
        g.strideW = OpContext.uattr(c, 1);
        g.padTop = OpContext.uattr(c, 2);
        g.padLeft = OpContext.uattr(c, 3);
        g.dilH = OpContext.uattr(c, 6);
        g.dilW = OpContext.uattr(c, 7);
    }

    function convLayout(OpContext.Ctx memory c, TensorView.View memory x, TensorView.View memory w)
        private
        pure
        returns (ConvStep.Layout memory l)
    {
        l.C = x.shape[1];
        l.M = w.shape[0];
        l.group = OpContext.uattr(c, 8);
        l.OH = c.outShape[2];
        l.OW = c.outShape[3];
        // ConvStep.inputChannel checks the group divisibility; here the channel counts must agree.
        if (l.group == 0 || l.C % l.group != 0 || w.shape[1] != l.C / l.group) revert OneStepBadShape(w.id);
        if (c.outShape[1] != l.M || c.outShape[0] != x.shape[0]) revert OneStepBadShape(c.outId);
    }

    /// matmul (code 2): a u8 [...,M,K] times b (i8 constant or u8 activation) [...,K,N], leading
    /// dims broadcast; bias i32 [N]; mult/shift per column ([N]) or per tensor ([1]); attrs qmin, qmax.
    /// A constant b is committed column-major (its bytes are those of [...,N,K], docs/commitments.md),
    /// so the column b[...,:,j] is the contiguous run at j*K inside its matrix; an activation b is
    /// row-major, and its column has stride N.
    function matmul(OpContext.Ctx memory c) internal pure returns (uint256) {
        TensorView.View memory a = c.ins[0];
        TensorView.View memory b = c.ins[1];
        TensorView.expect(a, TensorView.U8);
        if (b.dtype != TensorView.U8) TensorView.expect(b, TensorView.I8);
        uint256 r = c.outShape.length;
        if (r < 2) revert OneStepBadShape(c.outId);
        if (a.shape.length < 2) revert OneStepBadShape(a.id);
        if (b.shape.length < 2) revert OneStepBadShape(b.id);
        uint256 M = c.outShape[r - 2];
        uint256 N = c.outShape[r - 1];
        uint256 K = TensorView.lastDim(a);
        if (a.shape[a.shape.length - 2] != M) revert OneStepBadShape(a.id);
        if (b.shape[b.shape.length - 2] != K || b.shape[b.shape.length - 1] != N) revert OneStepBadShape(b.id);
        MatMulStep.Operands memory o = MatMulStep.operands(
            OpContext.prefix(c.outShape, r - 2),
            OpContext.prefix(a.shape, a.shape.length - 2),
            OpContext.prefix(b.shape, b.shape.length - 2),
            M,
            K,
            N,
            c.element
        );
        bytes memory aRow = TensorView.copyBytes(a, o.aRowStart, K);
        bytes memory bCol = new bytes(K);
        if (b.kind == TensorView.CONST) {
            // bColStart = base + column with base the first element of b's matrix (a multiple of K*N).
            TensorView.gather(b, o.bColStart - o.column + o.column * K, 1, K, bCol, 0);
        } else {
            TensorView.gather(b, o.bColStart, N, K, bCol, 0);
        }
        Requant.Params memory q = OpContext.requant(c, o.column, N, 0);
        int256 bias = TensorView.i32At(c.ins[2], o.column);
        return MatMulStep.element(aRow, bCol, b.dtype == TensorView.I8, a.zeroPoint, b.zeroPoint, bias, q);
    }
}
