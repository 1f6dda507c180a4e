// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ConvStep} from "../onestep/ConvStep.sol";
import {MatMulStep} from "../onestep/MatMulStep.sol";
import {Requant} from "../onestep/Requant.sol";
import {OneStepBadShape} from "./OneStepErrors.sol";
import {OpContext} from "./OpContext.sol";
import {TensorView} from "./TensorView.sol";

/// @title LinearOps: the operands of one conv or matmul output element, gathered from the opened
/// chunks and reduced with ConvStep / MatMulStep.
library LinearOps {
    /// The conv taps of one output element being gathered.
    struct ConvTaps {
        ConvStep.Window g;
        ConvStep.Layout l;
        ConvStep.Output o;
        uint256 wStart;
        bytes xTaps;
        bytes wTaps;
        /// The in-bounds kernel columns are [kxLo, kxLo + run). Per kernel row, rowStart is the
        /// offset iy * W + ix(kxLo) inside an input plane, or type(uint256).max for a padding row.
        uint256 kxLo;
        uint256 run;
        uint256[] rowStart;
    }

    /// conv (code 1): inputs x u8 [N,C,H,W], w i8 [M,C/group,KH,KW], bias, mult, shift i32;
    /// attrs strideH, strideW, padTop, padLeft, padBottom, padRight, dilH, dilW, group, qmin, qmax.
    /// mult/shift are per output channel ([M]) or per tensor ([1]).
    function conv(OpContext.Ctx memory c) internal pure returns (uint256) {
        TensorView.View memory x = c.ins[0];
        TensorView.View memory w = c.ins[1];
        TensorView.expect(x, TensorView.U8);
        TensorView.expect(w, TensorView.I8);
        TensorView.expectRank(x, 4);
        TensorView.expectRank(w, 4);
        OpContext.outRank(c, 4);
        ConvTaps memory t;
        t.g = convWindow(c, x, w);
        t.l = convLayout(c, x, w);
        t.o = ConvStep.outputCoords(t.l, c.element);
        gatherConvTaps(t, x, w);
        Requant.Params memory q = OpContext.requant(c, t.o.m, t.l.M, 9);
        int256 bias = TensorView.i32At(c.ins[2], t.o.m);
        return ConvStep.element(t.g, t.o.oy, t.o.ox, t.xTaps, t.wTaps, x.zeroPoint, bias, q);
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

    /// Fills the tap arrays in weight order (c, ky, kx): wTaps is the weight slice of output channel
    /// m (contiguous in w), xTaps holds the input byte at every in-bounds tap and 0 at padding taps
    /// (ConvStep skips those). The in-bounds taps of one kernel row are a run of kx whose input
    /// columns are ix0, ix0 + dilW, ...
    function gatherConvTaps(ConvTaps memory t, TensorView.View memory x, TensorView.View memory w) private pure {
        uint256 length;
        (t.wStart, length) = ConvStep.weightRange(t.g, t.l, t.o.m);
        t.wTaps = TensorView.copyBytes(w, t.wStart, length);
        t.xTaps = new bytes(length);
        uint256 ix0;
        (t.kxLo, t.run, ix0) = columnRun(t.g, t.o.ox);
        if (t.run == 0) return;
        t.rowStart = rowStarts(t, ix0);
        uint256 planeSize = t.g.H * t.g.W;
        // The first input plane of the group of m, for sample n.
        uint256 plane = (t.o.n * t.l.C + ConvStep.inputChannel(t.l, t.o.m, 0)) * planeSize;
        uint256 channels = t.l.C / t.l.group;
        for (uint256 ch; ch < channels; ++ch) {
            gatherConvChannel(t, x, plane, ch * t.g.KH * t.g.KW + t.kxLo);
            plane += planeSize;
        }
    }

    /// The taps of one input channel (its plane starts at x[plane]; its first tap is `tap`).
    function gatherConvChannel(ConvTaps memory t, TensorView.View memory x, uint256 plane, uint256 tap)
        private
        pure
    {
        uint256[] memory rowStart = t.rowStart;
        for (uint256 ky; ky < rowStart.length; ++ky) {
            if (rowStart[ky] != type(uint256).max) {
                TensorView.gather(x, plane + rowStart[ky], t.g.dilW, t.run, t.xTaps, tap);
            }
            tap += t.g.KW;
        }
    }

    /// The in-bounds kernel columns [kxLo, kxLo + run) of output column ox (a run: the input
    /// column grows with kx) and the input column ix0 of kxLo.
    function columnRun(ConvStep.Window memory g, uint256 ox)
        private
        pure
        returns (uint256 kxLo, uint256 run, uint256 ix0)
    {
        for (uint256 kx; kx < g.KW; ++kx) {
            (bool inBounds, uint256 ix) = ConvStep.column(g, ox, kx);
            if (!inBounds) continue;
            if (run == 0) (kxLo, ix0) = (kx, ix);
            run = kx + 1 - kxLo;
        }
    }

    /// Per kernel row ky: iy * W + ix0 for an in-bounds input row iy, or type(uint256).max.
    function rowStarts(ConvTaps memory t, uint256 ix0) private pure returns (uint256[] memory start) {
        start = new uint256[](t.g.KH);
        for (uint256 ky; ky < t.g.KH; ++ky) {
            (bool inBounds, uint256 iy) = ConvStep.row(t.g, t.o.oy, ky);
            start[ky] = inBounds ? iy * t.g.W + ix0 : type(uint256).max;
        }
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
