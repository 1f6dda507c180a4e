// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Index} from "../lib/Index.sol";
import {IntArith} from "../lib/IntArith.sol";
import {ConvStep} from "../onestep/ConvStep.sol";
import {ElementwiseStep} from "../onestep/ElementwiseStep.sol";
import {LayerNormStep} from "../onestep/LayerNormStep.sol";
import {MatMulStep} from "../onestep/MatMulStep.sol";
import {PoolStep} from "../onestep/PoolStep.sol";
import {Requant} from "../onestep/Requant.sol";
import {ShapeStep} from "../onestep/ShapeStep.sol";
import {SoftmaxStep} from "../onestep/SoftmaxStep.sol";

/// @title OneStepHarness: batched entry points for the differential tests (test/chain/).
/// @notice Test-only. Every function takes an array of cases so that thousands of cases run in
/// one eth_call. After each case the free memory pointer is reset, so memory (whose gas cost is
/// quadratic in its size) does not grow with the batch.
contract OneStepHarness {
    // ---------------------------------------------------------------- memory reuse

    function mark() private pure returns (uint256 p) {
        assembly ("memory-safe") {
            p := mload(0x40)
        }
    }

    function release(uint256 p) private pure {
        assembly ("memory-safe") {
            mstore(0x40, p)
        }
    }

    // ---------------------------------------------------------------- IntArith

    function rshift(int256[] calldata v, uint256[] calldata s) external pure returns (int256[] memory r) {
        r = new int256[](v.length);
        for (uint256 i; i < v.length; ++i) r[i] = IntArith.rshift(v[i], s[i]);
    }

    function rq(int256[] calldata acc, int256[] calldata mult, uint256[] calldata s)
        external
        pure
        returns (int256[] memory r)
    {
        r = new int256[](acc.length);
        for (uint256 i; i < acc.length; ++i) r[i] = IntArith.rq(acc[i], mult[i], s[i]);
    }

    function clamp(int256[] calldata v, int256[] calldata lo, int256[] calldata hi)
        external
        pure
        returns (int256[] memory r)
    {
        r = new int256[](v.length);
        for (uint256 i; i < v.length; ++i) r[i] = IntArith.clamp(v[i], lo[i], hi[i]);
    }

    function floorDiv(int256[] calldata a, int256[] calldata b) external pure returns (int256[] memory r) {
        r = new int256[](a.length);
        for (uint256 i; i < a.length; ++i) r[i] = IntArith.floorDiv(a[i], b[i]);
    }

    function divRound(int256[] calldata p, int256[] calldata q) external pure returns (int256[] memory r) {
        r = new int256[](p.length);
        for (uint256 i; i < p.length; ++i) r[i] = IntArith.divRound(p[i], q[i]);
    }

    function isqrt(uint256[] calldata v) external pure returns (uint256[] memory r) {
        r = new uint256[](v.length);
        for (uint256 i; i < v.length; ++i) r[i] = IntArith.isqrt(v[i]);
    }

    // ---------------------------------------------------------------- conv

    struct ConvSourceCase {
        ConvStep.Window g;
        ConvStep.Layout l;
        uint256 outFlat;
    }

    struct ConvSources {
        uint256 n;
        uint256 m;
        uint256 oy;
        uint256 ox;
        uint256 wStart;
        uint256 wLength;
        /// Per weight tap (c, ky, kx): the flat index in x, or type(uint256).max for padding.
        uint256[] taps;
    }

    function convSources(ConvSourceCase[] calldata cases) external pure returns (ConvSources[] memory r) {
        r = new ConvSources[](cases.length);
        for (uint256 i; i < cases.length; ++i) {
            ConvStep.Window memory g = cases[i].g;
            ConvStep.Layout memory l = cases[i].l;
            ConvStep.Output memory o = ConvStep.outputCoords(l, cases[i].outFlat);
            (uint256 wStart, uint256 wLength) = ConvStep.weightRange(g, l, o.m);
            uint256[] memory taps = new uint256[](wLength);
            uint256 t;
            for (uint256 c; c < l.C / l.group; ++c) {
                for (uint256 ky; ky < g.KH; ++ky) {
                    for (uint256 kx; kx < g.KW; ++kx) {
                        (bool ok, uint256 xFlat) = ConvStep.tapSource(g, l, o, c, ky, kx);
                        taps[t++] = ok ? xFlat : type(uint256).max;
                    }
                }
            }
            r[i] = ConvSources(o.n, o.m, o.oy, o.ox, wStart, wLength, taps);
        }
    }

    struct ConvCase {
        ConvStep.Window g;
        uint256 oy;
        uint256 ox;
        bytes xTaps;
        bytes wTaps;
        int256 zx;
        int256 bias;
        Requant.Params q;
        /// Channel boundaries at which the reduction is split into partial sums (may be empty).
        uint256[] channelCuts;
    }

    /// y for each case: through the partial sums over the channel ranges if channelCuts is not empty.
    function conv(ConvCase[] calldata cases) external pure returns (uint256[] memory y) {
        y = new uint256[](cases.length);
        for (uint256 i; i < cases.length; ++i) {
            uint256 p = mark();
            ConvCase memory c = cases[i];
            if (c.channelCuts.length == 0) {
                y[i] = ConvStep.element(c.g, c.oy, c.ox, c.xTaps, c.wTaps, c.zx, c.bias, c.q);
            } else {
                uint256 area = c.g.KH * c.g.KW;
                int256 acc = c.bias;
                uint256 from;
                for (uint256 k; k <= c.channelCuts.length; ++k) {
                    uint256 to = k < c.channelCuts.length ? c.channelCuts[k] * area : c.xTaps.length;
                    acc = ConvStep.accumulate(
                        c.g, c.oy, c.ox, slice(c.xTaps, from, to), slice(c.wTaps, from, to), c.zx, acc
                    );
                    from = to;
                }
                y[i] = Requant.output(c.q, acc);
            }
            release(p);
        }
    }

    // ---------------------------------------------------------------- matmul

    struct MatMulSourceCase {
        uint256[] outLead;
        uint256[] aLead;
        uint256[] bLead;
        uint256 M;
        uint256 K;
        uint256 N;
        uint256 outFlat;
    }

    function matmulSources(MatMulSourceCase[] calldata cases)
        external
        pure
        returns (MatMulStep.Operands[] memory r)
    {
        r = new MatMulStep.Operands[](cases.length);
        for (uint256 i; i < cases.length; ++i) {
            MatMulSourceCase memory c = cases[i];
            r[i] = MatMulStep.operands(c.outLead, c.aLead, c.bLead, c.M, c.K, c.N, c.outFlat);
        }
    }

    struct MatMulCase {
        bytes a;
        bytes b;
        bool bSigned;
        int256 za;
        int256 zb;
        int256 bias;
        Requant.Params q;
        /// k at which the dot product is split into partial sums (may be empty).
        uint256[] cuts;
    }

    /// y for each case, and the partial sums P(cut) and P(K) of the chain.
    function matmul(MatMulCase[] calldata cases) external pure returns (uint256[] memory y, int256[][] memory partials) {
        y = new uint256[](cases.length);
        partials = new int256[][](cases.length);
        for (uint256 i; i < cases.length; ++i) {
            int256[] memory sums = new int256[](cases[i].cuts.length + 1);
            partials[i] = sums;
            uint256 p = mark();
            MatMulCase memory c = cases[i];
            if (c.cuts.length == 0) {
                y[i] = MatMulStep.element(c.a, c.b, c.bSigned, c.za, c.zb, c.bias, c.q);
                sums[0] = MatMulStep.accumulate(c.bias, c.a, c.b, c.bSigned, c.za, c.zb);
            } else {
                int256 acc = c.bias;
                uint256 from;
                for (uint256 k; k <= c.cuts.length; ++k) {
                    uint256 to = k < c.cuts.length ? c.cuts[k] : c.a.length;
                    acc = MatMulStep.accumulate(acc, slice(c.a, from, to), slice(c.b, from, to), c.bSigned, c.za, c.zb);
                    sums[k] = acc;
                    from = to;
                }
                y[i] = MatMulStep.finish(acc, c.q);
            }
            release(p);
        }
    }

    // ---------------------------------------------------------------- add, mul, lut

    struct AddSourceCase {
        uint256[] aShape;
        uint256[] bShape;
        uint256[] outShape;
        uint256 outFlat;
    }

    function addSources(AddSourceCase[] calldata cases)
        external
        pure
        returns (uint256[] memory aIndex, uint256[] memory bIndex)
    {
        aIndex = new uint256[](cases.length);
        bIndex = new uint256[](cases.length);
        for (uint256 i; i < cases.length; ++i) {
            uint256 p = mark();
            AddSourceCase memory c = cases[i];
            aIndex[i] = Index.broadcast(c.aShape, c.outShape, c.outFlat);
            bIndex[i] = Index.broadcast(c.bShape, c.outShape, c.outFlat);
            release(p);
        }
    }

    struct AddCase {
        uint256 a;
        uint256 b;
        ElementwiseStep.AddParams p;
    }

    function add(AddCase[] calldata cases) external pure returns (uint256[] memory y) {
        y = new uint256[](cases.length);
        for (uint256 i; i < cases.length; ++i) y[i] = ElementwiseStep.add(cases[i].a, cases[i].b, cases[i].p);
    }

    struct MulCase {
        uint256 a;
        uint256 b;
        ElementwiseStep.MulParams p;
    }

    function mul(MulCase[] calldata cases) external pure returns (uint256[] memory y) {
        y = new uint256[](cases.length);
        for (uint256 i; i < cases.length; ++i) y[i] = ElementwiseStep.mul(cases[i].a, cases[i].b, cases[i].p);
    }

    function lut(bytes calldata table, uint256[] calldata x) external pure returns (uint256[] memory y) {
        y = new uint256[](x.length);
        bytes memory t = table;
        for (uint256 i; i < x.length; ++i) y[i] = ElementwiseStep.lut(t, x[i]);
    }

    // ---------------------------------------------------------------- pooling, reducemean

    struct PoolSourceCase {
        PoolStep.Window w;
        uint256 OH;
        uint256 OW;
        uint256 outFlat;
    }

    struct PoolSources {
        uint256 oy;
        uint256 ox;
        /// Per window tap (ky, kx): the flat index in x, or type(uint256).max outside the input.
        uint256[] taps;
    }

    function poolSources(PoolSourceCase[] calldata cases) external pure returns (PoolSources[] memory r) {
        r = new PoolSources[](cases.length);
        for (uint256 i; i < cases.length; ++i) {
            PoolStep.Window memory w = cases[i].w;
            uint256 outFlat = cases[i].outFlat;
            uint256 ox = outFlat % cases[i].OW;
            uint256 oy = (outFlat / cases[i].OW) % cases[i].OH;
            uint256 plane = outFlat / (cases[i].OW * cases[i].OH);
            uint256[] memory taps = new uint256[](w.kH * w.kW);
            for (uint256 ky; ky < w.kH; ++ky) {
                for (uint256 kx; kx < w.kW; ++kx) {
                    (bool ok, uint256 xFlat) = PoolStep.tapSource(w, plane, oy, ox, ky, kx);
                    taps[ky * w.kW + kx] = ok ? xFlat : type(uint256).max;
                }
            }
            r[i] = PoolSources(oy, ox, taps);
        }
    }

    struct PoolCase {
        PoolStep.Window w;
        uint256 oy;
        uint256 ox;
        bytes taps;
        bool isMax;
        PoolStep.AvgParams avg;
    }

    function pool(PoolCase[] calldata cases) external pure returns (uint256[] memory y) {
        y = new uint256[](cases.length);
        for (uint256 i; i < cases.length; ++i) {
            uint256 p = mark();
            PoolCase memory c = cases[i];
            y[i] = c.isMax
                ? PoolStep.maxpool(c.w, c.oy, c.ox, c.taps)
                : PoolStep.avgpool(c.w, c.oy, c.ox, c.taps, c.avg);
            release(p);
        }
    }

    function reduceSources(uint256[] calldata outFlat, uint256 len, uint256 inner)
        external
        pure
        returns (uint256[][] memory r)
    {
        r = new uint256[][](outFlat.length);
        for (uint256 i; i < outFlat.length; ++i) {
            r[i] = new uint256[](len);
            for (uint256 k; k < len; ++k) r[i][k] = PoolStep.reduceSource(outFlat[i], len, inner, k);
        }
    }

    struct ReduceCase {
        bytes values;
        int256 zx;
        int256 zy;
        int256 mult;
        uint256 shift;
    }

    function reducemean(ReduceCase[] calldata cases) external pure returns (uint256[] memory y) {
        y = new uint256[](cases.length);
        for (uint256 i; i < cases.length; ++i) {
            uint256 p = mark();
            ReduceCase memory c = cases[i];
            y[i] = PoolStep.reducemean(c.values, c.zx, c.zy, c.mult, c.shift);
            release(p);
        }
    }

    // ---------------------------------------------------------------- softmax, layernorm

    struct SoftmaxCase {
        bytes row;
        uint256 i;
        bytes expTable;
        /// Segment boundaries for the partial max and sum (may be empty).
        uint256[] cuts;
    }

    /// y_i from the whole row, and again through the segmented max, sum and element steps.
    function softmax(SoftmaxCase[] calldata cases)
        external
        pure
        returns (uint256[] memory yRow, uint256[] memory ySteps, int256[] memory sums)
    {
        yRow = new uint256[](cases.length);
        ySteps = new uint256[](cases.length);
        sums = new int256[](cases.length);
        for (uint256 i; i < cases.length; ++i) {
            uint256 p = mark();
            SoftmaxCase memory c = cases[i];
            yRow[i] = SoftmaxStep.rowElement(c.row, c.i, c.expTable);
            uint256 m;
            uint256 from;
            for (uint256 k; k <= c.cuts.length; ++k) {
                uint256 to = k < c.cuts.length ? c.cuts[k] : c.row.length;
                m = SoftmaxStep.maxStep(m, slice(c.row, from, to));
                from = to;
            }
            int256 S;
            from = 0;
            for (uint256 k; k <= c.cuts.length; ++k) {
                uint256 to = k < c.cuts.length ? c.cuts[k] : c.row.length;
                S = SoftmaxStep.sumStep(S, slice(c.row, from, to), m, c.expTable);
                from = to;
            }
            sums[i] = S;
            ySteps[i] = SoftmaxStep.element(uint8(c.row[c.i]), m, c.expTable, S);
            release(p);
        }
    }

    struct LayerNormCase {
        bytes row;
        uint256 i;
        int256 gamma;
        int256 beta;
        LayerNormStep.Params p;
        uint256[] cuts;
    }

    struct LayerNormResult {
        uint256 yRow;
        uint256 ySteps;
        int256 S;
        int256 Q;
        int256 sigma;
    }

    /// y_i from the whole row, and again through the segmented S and Q steps; with S, Q, sigma.
    function layernorm(LayerNormCase[] calldata cases) external pure returns (LayerNormResult[] memory r) {
        r = new LayerNormResult[](cases.length);
        for (uint256 i; i < cases.length; ++i) {
            LayerNormResult memory out = r[i];
            uint256 p = mark();
            LayerNormCase memory c = cases[i];
            out.yRow = LayerNormStep.rowElement(c.row, c.i, c.gamma, c.beta, c.p);
            uint256 D = c.row.length;
            uint256 from;
            for (uint256 k; k <= c.cuts.length; ++k) {
                uint256 to = k < c.cuts.length ? c.cuts[k] : D;
                out.S = LayerNormStep.sumStep(out.S, slice(c.row, from, to), c.p.zx);
                from = to;
            }
            from = 0;
            for (uint256 k; k <= c.cuts.length; ++k) {
                uint256 to = k < c.cuts.length ? c.cuts[k] : D;
                out.Q = LayerNormStep.squareStep(out.Q, slice(c.row, from, to), c.p.zx, D, out.S);
                from = to;
            }
            out.sigma = LayerNormStep.sigma(out.Q, D, c.p.eps);
            out.ySteps = LayerNormStep.element(uint8(c.row[c.i]), D, out.S, out.sigma, c.gamma, c.beta, c.p);
            release(p);
        }
    }

    // ---------------------------------------------------------------- data movement

    struct GatherCase {
        uint256 outFlat;
        uint256 D;
        uint256 V;
        int256 id;
    }

    function gatherSources(GatherCase[] calldata cases)
        external
        pure
        returns (uint256[] memory idsIndex, uint256[] memory tableIndex)
    {
        idsIndex = new uint256[](cases.length);
        tableIndex = new uint256[](cases.length);
        for (uint256 i; i < cases.length; ++i) {
            GatherCase calldata c = cases[i];
            idsIndex[i] = ShapeStep.gatherIdsIndex(c.outFlat, c.D);
            tableIndex[i] = ShapeStep.gatherSource(c.outFlat, c.D, c.V, c.id);
        }
    }

    function reshapeSources(uint256[] calldata outFlat, uint256 count) external pure returns (uint256[] memory r) {
        r = new uint256[](outFlat.length);
        for (uint256 i; i < outFlat.length; ++i) r[i] = ShapeStep.reshapeSource(outFlat[i], count);
    }

    function transposeSources(uint256[] calldata inShape, uint256[] calldata perm, uint256[] calldata outFlat)
        external
        pure
        returns (uint256[] memory r)
    {
        r = new uint256[](outFlat.length);
        for (uint256 i; i < outFlat.length; ++i) {
            uint256 p = mark();
            r[i] = ShapeStep.transposeSource(inShape, perm, outFlat[i]);
            release(p);
        }
    }

    function concatSources(
        uint256[] calldata outShape,
        uint256 axis,
        uint256[] calldata axisLens,
        uint256[] calldata outFlat
    ) external pure returns (uint256[] memory input, uint256[] memory inFlat) {
        input = new uint256[](outFlat.length);
        inFlat = new uint256[](outFlat.length);
        for (uint256 i; i < outFlat.length; ++i) {
            uint256 p = mark();
            (input[i], inFlat[i]) = ShapeStep.concatSource(outShape, axis, axisLens, outFlat[i]);
            release(p);
        }
    }

    // ---------------------------------------------------------------- helpers

    /// b[from:to] as a new bytes array.
    function slice(bytes memory b, uint256 from, uint256 to) private pure returns (bytes memory s) {
        require(from <= to && to <= b.length, "slice out of range");
        s = new bytes(to - from);
        assembly ("memory-safe") {
            mcopy(add(s, 32), add(add(b, 32), from), sub(to, from))
        }
    }
}
