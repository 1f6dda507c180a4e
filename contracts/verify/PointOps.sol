// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Index} from "../lib/Index.sol";
import {ElementwiseStep} from "../onestep/ElementwiseStep.sol";
import {LayerNormStep} from "../onestep/LayerNormStep.sol";
import {PoolStep} from "../onestep/PoolStep.sol";
import {Requant} from "../onestep/Requant.sol";
import {SoftmaxStep} from "../onestep/SoftmaxStep.sol";
import {OneStepBadAttribute, OneStepBadSegment, OneStepBadShape} from "./OneStepErrors.sol";
import {OpContext} from "./OpContext.sol";
import {PoolSegments} from "./PoolSegments.sol";
import {ReduceSegments} from "./ReduceSegments.sol";
import {TensorView} from "./TensorView.sol";

/// @title PointOps: elementwise, pooling and normalization ops of the one-step verifier. Each
/// gathers the operands of one output element from the opened chunks and computes it with the
/// contracts/onestep libraries.
library PointOps {
    /// add (code 3): attrs multA, multB, shift, qmin, qmax; numpy broadcasting.
    function add(OpContext.Ctx memory c) internal pure returns (uint256) {
        (uint256 a, uint256 b) = broadcastPair(c);
        ElementwiseStep.AddParams memory p = ElementwiseStep.AddParams({
            za: c.ins[0].zeroPoint,
            zb: c.ins[1].zeroPoint,
            multA: c.attrs[0],
            multB: c.attrs[1],
            shift: OpContext.uattr(c, 2),
            zy: c.zy,
            qmin: c.attrs[3],
            qmax: c.attrs[4]
        });
        return ElementwiseStep.add(a, b, p);
    }

    /// mul (code 14): attrs mult, shift, qmin, qmax; numpy broadcasting.
    function mul(OpContext.Ctx memory c) internal pure returns (uint256) {
        (uint256 a, uint256 b) = broadcastPair(c);
        ElementwiseStep.MulParams memory p = ElementwiseStep.MulParams({
            za: c.ins[0].zeroPoint,
            zb: c.ins[1].zeroPoint,
            zy: c.zy,
            mult: c.attrs[0],
            shift: OpContext.uattr(c, 1),
            qmin: c.attrs[2],
            qmax: c.attrs[3]
        });
        return ElementwiseStep.mul(a, b, p);
    }

    /// The two u8 operands of a binary elementwise op that feed the output element.
    function broadcastPair(OpContext.Ctx memory c) private pure returns (uint256 a, uint256 b) {
        TensorView.View memory x = c.ins[0];
        TensorView.View memory y = c.ins[1];
        TensorView.expect(x, TensorView.U8);
        TensorView.expect(y, TensorView.U8);
        a = TensorView.byteAt(x, Index.broadcast(x.shape, c.outShape, c.element));
        b = TensorView.byteAt(y, Index.broadcast(y.shape, c.outShape, c.element));
    }

    /// lut (code 4): y = table[x], table u8 with 256 entries (one chunk).
    function lut(OpContext.Ctx memory c) internal pure returns (uint256) {
        TensorView.View memory x = c.ins[0];
        TensorView.View memory table = c.ins[1];
        TensorView.expect(x, TensorView.U8);
        TensorView.expect(table, TensorView.U8);
        if (table.count != 256) revert OneStepBadShape(table.id);
        return ElementwiseStep.lut(TensorView.copyBytes(table, 0, 256), TensorView.byteAt(x, c.element));
    }

    /// The window geometry of maxpool/avgpool (attrs kH, kW, strideH, strideW, padTop, padLeft, ...)
    /// over x [N,C,H,W], and the output element's (plane, oy, ox).
    struct PoolAt {
        PoolStep.Window w;
        uint256 plane;
        uint256 oy;
        uint256 ox;
    }

    function poolAt(OpContext.Ctx memory c, TensorView.View memory x) private pure returns (PoolAt memory p) {
        TensorView.expect(x, TensorView.U8);
        TensorView.expectRank(x, 4);
        OpContext.outRank(c, 4);
        if (c.outShape[0] != x.shape[0] || c.outShape[1] != x.shape[1]) revert OneStepBadShape(c.outId);
        p.w = PoolStep.Window({
            H: x.shape[2],
            W: x.shape[3],
            kH: OpContext.uattr(c, 0),
            kW: OpContext.uattr(c, 1),
            strideH: OpContext.uattr(c, 2),
            strideW: OpContext.uattr(c, 3),
            padTop: OpContext.uattr(c, 4),
            padLeft: OpContext.uattr(c, 5)
        });
        uint256 OH = c.outShape[2];
        uint256 OW = c.outShape[3];
        p.ox = c.element % OW;
        p.oy = (c.element / OW) % OH;
        p.plane = c.element / (OW * OH);
    }

    /// The kH*kW window taps in (ky, kx) order; taps outside the input stay 0 (and are ignored).
    function windowTaps(PoolAt memory p, TensorView.View memory x) private pure returns (bytes memory taps) {
        taps = new bytes(p.w.kH * p.w.kW);
        PoolStep.Taps memory t = PoolStep.inBoundsTaps(p.w, p.oy, p.ox);
        if (t.kxLo == t.kxHi) return taps;
        // The in-bounds taps of one window row are contiguous in x.
        for (uint256 ky = t.kyLo; ky < t.kyHi; ++ky) {
            (, uint256 xFlat) = PoolStep.tapSource(p.w, p.plane, p.oy, p.ox, ky, t.kxLo);
            TensorView.gather(x, xFlat, 1, t.kxHi - t.kxLo, taps, ky * p.w.kW + t.kxLo);
        }
    }

    /// maxpool (code 5): attrs kH, kW, strideH, strideW, padTop, padLeft, padBottom, padRight.
    function maxpool(OpContext.Ctx memory c) internal pure returns (uint256) {
        TensorView.View memory x = c.ins[0];
        PoolAt memory p = poolAt(c, x);
        return PoolStep.maxpool(p.w, p.oy, p.ox, windowTaps(p, x));
    }

    /// avgpool (code 6): the maxpool attrs, then countIncludePad, mult, shift.
    function avgpool(OpContext.Ctx memory c) internal pure returns (uint256) {
        TensorView.View memory x = c.ins[0];
        PoolAt memory p = poolAt(c, x);
        PoolStep.AvgParams memory a = PoolStep.AvgParams({
            countIncludePad: c.attrs[8] != 0,
            zx: x.zeroPoint,
            zy: c.zy,
            mult: c.attrs[9],
            shift: OpContext.uattr(c, 10)
        });
        return PoolStep.avgpool(p.w, p.oy, p.ox, windowTaps(p, x), a);
    }

    /// The split of avgpool's window sum (PoolSegments.plan): [kernel rows per segment, segment
    /// count], the count 0 for an avgpool checked in one step.
    function avgpoolSegments(OpContext.Ctx memory c) internal pure returns (uint256 rows, uint256 segments) {
        PoolAt memory p = poolAt(c, c.ins[0]);
        return PoolSegments.plan(p.w.kH, p.w.kW, p.w.W);
    }

    /// One step of a split avgpool: for segment i < S, acc + Σ (x - zx) over the in-bounds taps of
    /// kernel rows [i*R, min((i+1)*R, kH)); for i = S, the output byte of the whole window sum acc
    /// (divided by kH*kW if countIncludePad, else by the in-bounds taps, as PoolStep.avgpool).
    function avgpoolSegment(OpContext.Ctx memory c, uint256 segment, int256 acc) internal pure returns (int256) {
        PoolAt memory p = poolAt(c, c.ins[0]);
        (uint256 rows, uint256 segments) = PoolSegments.plan(p.w.kH, p.w.kW, p.w.W);
        if (segments == 0 || segment > segments) revert OneStepBadSegment(segment, segments);
        PoolStep.Taps memory t = PoolStep.inBoundsTaps(p.w, p.oy, p.ox);
        if (segment == segments) {
            // acc is a partial sum the game proved against the worker's commitment; an absurd one
            // reverts in meanOf on overflow, on the worker's clock.
            uint256 count = c.attrs[8] != 0 ? p.w.kH * p.w.kW : (t.kyHi - t.kyLo) * (t.kxHi - t.kxLo);
            return int256(uint256(PoolStep.meanOf(acc, count, c.zy, c.attrs[9], OpContext.uattr(c, 10))));
        }
        uint256 lo = segment * rows;
        uint256 hi = lo + rows < p.w.kH ? lo + rows : p.w.kH;
        if (lo < t.kyLo) lo = t.kyLo;
        if (hi > t.kyHi) hi = t.kyHi;
        if (hi < lo) hi = lo;
        return PoolStep.reduceSum(acc, rowTaps(p, t, c.ins[0], lo, hi), c.ins[0].zeroPoint);
    }

    /// The in-bounds taps of kernel rows [lo, hi) (all in bounds vertically), row after row.
    function rowTaps(PoolAt memory p, PoolStep.Taps memory t, TensorView.View memory x, uint256 lo, uint256 hi)
        private
        pure
        returns (bytes memory values)
    {
        uint256 width = t.kxHi - t.kxLo;
        values = new bytes((hi - lo) * width);
        if (width == 0) return values;
        // The in-bounds taps of one window row are contiguous in x.
        for (uint256 ky = lo; ky < hi; ++ky) {
            (, uint256 xFlat) = PoolStep.tapSource(p.w, p.plane, p.oy, p.ox, ky, t.kxLo);
            TensorView.gather(x, xFlat, 1, width, values, (ky - lo) * width);
        }
    }

    /// reducemean (code 7): attrs axis, keepDims, mult, shift. keepDims only shapes the output; the
    /// output's flat index is the same either way.
    function reducemean(OpContext.Ctx memory c) internal pure returns (uint256) {
        (TensorView.View memory x, uint256 len, uint256 inner) = reduceAxis(c);
        return meanOf(c, reduceSum(c, x, len, inner, 0, len, 0), len);
    }

    /// The split of reducemean's reduction (ReduceSegments.plan): [values per segment, segment
    /// count], the count 0 for a reducemean checked in one step.
    function reducemeanSegments(OpContext.Ctx memory c) internal pure returns (uint256 taps, uint256 segments) {
        (, uint256 len, uint256 inner) = reduceAxis(c);
        return ReduceSegments.plan(len, inner);
    }

    /// One step of a split reducemean: for segment i < S, acc + Σ (x - zx) over values
    /// [i*G, min((i+1)*G, len)) of the reduced axis; for i = S, the output byte of the whole sum acc.
    function reducemeanSegment(OpContext.Ctx memory c, uint256 segment, int256 acc) internal pure returns (int256) {
        (TensorView.View memory x, uint256 len, uint256 inner) = reduceAxis(c);
        (uint256 taps, uint256 segments) = ReduceSegments.plan(len, inner);
        if (segments == 0 || segment > segments) revert OneStepBadSegment(segment, segments);
        // acc is a partial sum the game proved against the worker's commitment; an absurd one
        // reverts here on overflow, on the worker's clock.
        if (segment == segments) return int256(uint256(meanOf(c, acc, len)));
        uint256 r0 = segment * taps;
        uint256 n = len - r0 < taps ? len - r0 : taps;
        return reduceSum(c, x, len, inner, r0, n, acc);
    }

    function reduceAxis(OpContext.Ctx memory c)
        private
        pure
        returns (TensorView.View memory x, uint256 len, uint256 inner)
    {
        x = c.ins[0];
        TensorView.expect(x, TensorView.U8);
        uint256 axis = OpContext.uattr(c, 0);
        if (axis >= x.shape.length) revert OneStepBadAttribute(0, c.attrs[0]);
        len = x.shape[axis];
        inner = 1;
        for (uint256 i = axis + 1; i < x.shape.length; ++i) inner *= x.shape[i];
    }

    /// acc + Σ (x - zx) over values [r0, r0 + n) of the reduced axis of the output element.
    function reduceSum(
        OpContext.Ctx memory c,
        TensorView.View memory x,
        uint256 len,
        uint256 inner,
        uint256 r0,
        uint256 n,
        int256 acc
    ) private pure returns (int256) {
        bytes memory values = new bytes(n);
        TensorView.gather(x, PoolStep.reduceSource(c.element, len, inner, r0), inner, n, values, 0);
        return PoolStep.reduceSum(acc, values, x.zeroPoint);
    }

    function meanOf(OpContext.Ctx memory c, int256 sum, uint256 len) private pure returns (uint8) {
        return PoolStep.meanOf(sum, len, c.zy, c.attrs[2], OpContext.uattr(c, 3));
    }

    /// softmax (code 8): over the last axis; the whole row and the whole exp table (i32 [256], one
    /// chunk of 1024 bytes).
    function softmax(OpContext.Ctx memory c) internal pure returns (uint256) {
        TensorView.View memory x = c.ins[0];
        TensorView.View memory table = c.ins[1];
        TensorView.expect(x, TensorView.U8);
        TensorView.expect(table, TensorView.I32);
        if (table.count != 256) revert OneStepBadShape(table.id);
        uint256 L = TensorView.lastDim(x);
        uint256 i = c.element % L;
        bytes memory row = TensorView.copyBytes(x, c.element - i, L);
        return SoftmaxStep.rowElement(row, i, TensorView.copyBytes(table, 0, 1024));
    }

    /// layernorm (code 9): over the last axis D; gamma, beta i32 [D]; attrs eps, mult, shift, qmin, qmax.
    function layernorm(OpContext.Ctx memory c) internal pure returns (uint256) {
        TensorView.View memory x = c.ins[0];
        TensorView.expect(x, TensorView.U8);
        uint256 D = TensorView.lastDim(x);
        uint256 i = c.element % D;
        bytes memory row = TensorView.copyBytes(x, c.element - i, D);
        LayerNormStep.Params memory p = LayerNormStep.Params({
            zx: x.zeroPoint,
            eps: c.attrs[0],
            q: Requant.Params({
                zy: c.zy,
                mult: c.attrs[1],
                shift: OpContext.uattr(c, 2),
                qmin: c.attrs[3],
                qmax: c.attrs[4]
            })
        });
        int256 gamma = TensorView.i32At(c.ins[1], i);
        int256 beta = TensorView.i32At(c.ins[2], i);
        return LayerNormStep.rowElement(row, i, gamma, beta, p);
    }
}
