// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IModelRegistry} from "../interfaces/IModelRegistry.sol";

// The errors carry the registry's prefix: this library is part of ModelRegistry's registration
// check and its reverts surface from ModelRegistry.register. `op` is the op's index, `input` the
// position among its inputs, `index` the position among its attributes (opAttributes order).
/// The op does not take a tensor of dtype `dtype` at this input.
error ModelRegistryInputDtype(uint256 op, uint256 input, uint256 dtype);
/// The input must be a constant (weight, bias, requantization vector, table), or, for a u8 matmul
/// operand b, must not be one: `kind` is the tensor's kind.
error ModelRegistryInputKind(uint256 op, uint256 input, uint256 kind);
/// The input's shape does not fit the op, its attributes or its other inputs (rank, vector length,
/// table size, inner or channel dimension, broadcasting, window, concat or reshape element count).
error ModelRegistryInputShape(uint256 op, uint256 input);
/// A concat input whose zero point differs from the output's.
error ModelRegistryInputZeroPoint(uint256 op, uint256 input, int256 zeroPoint, int256 expected);
/// An attribute outside its range (strides, pads, clamp, requantization, axis, perm, flags).
error ModelRegistryBadAttribute(uint256 op, uint256 index, int256 value);
/// A reduction longer than exact integer arithmetic allows: `length` taps or elements, `max` the cap.
error ModelRegistryReductionTooLong(uint256 op, uint256 length, uint256 max);
/// The output's shape is not the one the op computes from its inputs (src/engine/shapes.ts).
error ModelRegistryOutputShape(uint256 op, uint256 tensorId);

/// @title OpShapes: the per-op type and shape rules of src/engine/validate.ts (checkOp) and
/// src/engine/shapes.ts (inferShape), from the descriptor alone.
/// @notice The one-step verifier assumes every one of these; an op that broke one would revert in
/// the verifier, so a cheating worker could never be convicted at it. What stays off chain is only
/// what needs the constants' values (the chain sees their roots): the requantization vectors'
/// entries, the softmax and layernorm tables' ranges, the bias part of the accumulator bound.
library OpShapes {
    uint256 private constant CONST = 1;
    uint256 private constant U8 = 0;
    uint256 private constant I8 = 1;
    uint256 private constant I32 = 2;

    /// Window attributes stay below the dimension cap of ModelCheck, so window arithmetic is exact.
    int256 private constant MAX_WINDOW = 2 ** 40;
    /// src/engine/arith.ts: multipliers in [0, 2^15), shifts in [0, 40].
    int256 private constant MAX_MULT = 2 ** 15 - 1;
    int256 private constant MAX_SHIFT = 40;
    /// |acc| < 2^31 for the worst products with a zero bias: 255 * 128 per constant-weight tap,
    /// 255 * 255 per activation tap (validate.ts checkAccumulator).
    uint256 private constant MAX_CONST_TAPS = uint256(2 ** 31 - 1) / (255 * 128);
    uint256 private constant MAX_ACT_TAPS = uint256(2 ** 31 - 1) / (255 * 255);
    /// avgpool and reducemean keep count * 255 * 2^15 below 2^49.
    uint256 private constant MAX_MEAN = uint256(2 ** 49 - 1) / (255 * 2 ** 15);
    uint256 private constant MAX_SOFTMAX_AXIS = 2 ** 16;
    uint256 private constant MAX_NORM_AXIS = 2048;
    int256 private constant MAX_EPS = 2 ** 40 - 1;
    uint256 private constant TABLE_SIZE = 256;

    /// Reverts unless op `k` satisfies the rules of its code. Runs after ModelCheck has checked the
    /// arity, that every input and the output exist, and every tensor's own fields.
    function check(IModelRegistry.OpLeaf calldata op, IModelRegistry.TensorLeaf[] calldata ts, uint256 k)
        internal
        pure
    {
        uint256 code = op.code;
        if (code == 1) conv(op, ts, k);
        else if (code == 2) matmul(op, ts, k);
        else if (code == 3 || code == 14) addMul(op, ts, k, code == 3);
        else if (code == 4) lut(op, ts, k);
        else if (code == 5 || code == 6) pool(op, ts, k, code == 6);
        else if (code == 7) reducemean(op, ts, k);
        else if (code == 8) softmax(op, ts, k);
        else if (code == 9) layernorm(op, ts, k);
        else if (code == 10) gather(op, ts, k);
        else if (code == 11) reshape(op, ts, k);
        else if (code == 12) transpose(op, ts, k);
        else concat(op, ts, k);
    }

    // ---------------------------------------------------------------------------------------
    // Ops

    function conv(IModelRegistry.OpLeaf calldata op, IModelRegistry.TensorLeaf[] calldata ts, uint256 k) private pure {
        expectDtype(op, ts, k, 0, U8);
        expectDtype(op, ts, k, 1, I8);
        expectDtype(op, ts, k, 2, I32);
        expectConst(op, ts, k, 2);
        uint256[] calldata x = shapeOf(op, ts, 0);
        uint256[] calldata w = shapeOf(op, ts, 1);
        if (x.length != 4) revert ModelRegistryInputShape(k, 0);
        if (w.length != 4) revert ModelRegistryInputShape(k, 1);
        if (!isVector(shapeOf(op, ts, 2), w[0])) revert ModelRegistryInputShape(k, 2);
        requantVectors(op, ts, k, w[0]);
        clampRange(op, k, 9);
        // The caps of ModelCheck keep the weight's element count, so this product, below 2^40.
        uint256 taps = w[1] * w[2] * w[3];
        if (taps > MAX_CONST_TAPS) revert ModelRegistryReductionTooLong(k, taps, MAX_CONST_TAPS);
        uint256 group = attrIn(op, k, 8, 1, type(int256).max);
        if (x[1] % group != 0 || w[0] % group != 0) revert ModelRegistryBadAttribute(k, 8, op.attrs[8]);
        if (x[1] / group != w[1]) revert ModelRegistryInputShape(k, 1);
        convOutput(op, ts, k);
    }

    /// The output [N, M, OH, OW] of a conv whose input and weight ranks were checked.
    function convOutput(IModelRegistry.OpLeaf calldata op, IModelRegistry.TensorLeaf[] calldata ts, uint256 k)
        private
        pure
    {
        uint256[] calldata x = shapeOf(op, ts, 0);
        uint256[] calldata w = shapeOf(op, ts, 1);
        uint256 oh = convAxis(op, k, x[2], w[2], 0);
        uint256 ow = convAxis(op, k, x[3], w[3], 1);
        expectOutput4(op, ts, k, x[0], w[0], oh, ow);
    }

    /// Output size of conv along H (a = 0) or W (a = 1): stride a, pads 2 + a and 4 + a, dilation 6 + a.
    function convAxis(IModelRegistry.OpLeaf calldata op, uint256 k, uint256 size, uint256 kernel, uint256 a)
        private
        pure
        returns (uint256)
    {
        uint256 stride = attrIn(op, k, a, 1, MAX_WINDOW);
        uint256 p0 = attrIn(op, k, 2 + a, 0, MAX_WINDOW);
        uint256 p1 = attrIn(op, k, 4 + a, 0, MAX_WINDOW);
        uint256 dilation = attrIn(op, k, 6 + a, 1, MAX_WINDOW);
        // The verifier indexes the first tap at -pad; a pad past the dilated kernel has no tap.
        if (p0 >= kernel * dilation) revert ModelRegistryBadAttribute(k, 2 + a, op.attrs[2 + a]);
        return windowOut(k, size, kernel, stride, p0, p1, dilation);
    }

    function matmul(IModelRegistry.OpLeaf calldata op, IModelRegistry.TensorLeaf[] calldata ts, uint256 k)
        private
        pure
    {
        expectDtype(op, ts, k, 0, U8);
        IModelRegistry.TensorLeaf calldata b = ts[op.inputs[1]];
        // b is an i8 weight or a u8 activation: the step reads a weight without a zero point.
        bool weight = b.kind == CONST;
        if (weight ? b.dtype != I8 : b.dtype != U8) {
            if (weight && b.dtype == U8) revert ModelRegistryInputKind(k, 1, b.kind);
            revert ModelRegistryInputDtype(k, 1, b.dtype);
        }
        expectDtype(op, ts, k, 2, I32);
        expectConst(op, ts, k, 2);
        clampRange(op, k, 0);
        matmulShapes(op, ts, k, weight ? MAX_CONST_TAPS : MAX_ACT_TAPS);
    }

    /// a [..., M, K] times b [..., K, N] (leading axes broadcast), bias [N], requant vectors [N] or [1].
    function matmulShapes(
        IModelRegistry.OpLeaf calldata op,
        IModelRegistry.TensorLeaf[] calldata ts,
        uint256 k,
        uint256 maxTaps
    ) private pure {
        uint256[] calldata a = shapeOf(op, ts, 0);
        uint256[] calldata bs = shapeOf(op, ts, 1);
        if (a.length < 2) revert ModelRegistryInputShape(k, 0);
        if (bs.length < 2) revert ModelRegistryInputShape(k, 1);
        uint256 n = bs[bs.length - 1];
        if (!isVector(shapeOf(op, ts, 2), n)) revert ModelRegistryInputShape(k, 2);
        requantVectors(op, ts, k, n);
        uint256 inner = a[a.length - 1];
        if (inner > maxTaps) revert ModelRegistryReductionTooLong(k, inner, maxTaps);
        if (bs[bs.length - 2] != inner) revert ModelRegistryInputShape(k, 1);
        {
            uint256 r = a.length > bs.length ? a.length : bs.length;
            uint256[] calldata o = ts[op.output].shape;
            if (o.length != r || o[r - 2] != a[a.length - 2] || o[r - 1] != n) {
                revert ModelRegistryOutputShape(k, op.output);
            }
        }
        broadcastInto(op, ts, k, 2);
    }

    /// add: attrs (multA, multB, shift, qmin, qmax); mul: (mult, shift, qmin, qmax).
    function addMul(IModelRegistry.OpLeaf calldata op, IModelRegistry.TensorLeaf[] calldata ts, uint256 k, bool isAdd)
        private
        pure
    {
        expectDtype(op, ts, k, 0, U8);
        expectDtype(op, ts, k, 1, U8);
        if (isAdd) {
            attrIn(op, k, 0, 0, MAX_MULT);
            attrIn(op, k, 1, 0, MAX_MULT);
            attrIn(op, k, 2, 0, MAX_SHIFT);
            clampRange(op, k, 3);
        } else {
            attrIn(op, k, 0, 0, MAX_MULT);
            attrIn(op, k, 1, 0, MAX_SHIFT);
            clampRange(op, k, 2);
        }
        uint256[] calldata a = shapeOf(op, ts, 0);
        uint256[] calldata b = shapeOf(op, ts, 1);
        if (ts[op.output].shape.length != (a.length > b.length ? a.length : b.length)) {
            revert ModelRegistryOutputShape(k, op.output);
        }
        broadcastInto(op, ts, k, 0);
    }

    function lut(IModelRegistry.OpLeaf calldata op, IModelRegistry.TensorLeaf[] calldata ts, uint256 k) private pure {
        expectDtype(op, ts, k, 0, U8);
        expectDtype(op, ts, k, 1, U8);
        expectConst(op, ts, k, 1);
        if (elements(shapeOf(op, ts, 1)) != TABLE_SIZE) revert ModelRegistryInputShape(k, 1);
        expectSameShape(op, ts, k);
    }

    /// attrs (kernelH, kernelW, strideH, strideW, padTop, padLeft, padBottom, padRight), then for
    /// avgpool (countIncludePad, mult, shift).
    function pool(IModelRegistry.OpLeaf calldata op, IModelRegistry.TensorLeaf[] calldata ts, uint256 k, bool avg)
        private
        pure
    {
        expectDtype(op, ts, k, 0, U8);
        for (uint256 i; i < 4; ++i) {
            attrIn(op, k, i, 1, MAX_WINDOW);
        }
        // A pad as wide as the kernel would leave a window with no input tap (nothing to max or average).
        for (uint256 i = 4; i < 8; ++i) {
            if (attrIn(op, k, i, 0, MAX_WINDOW) >= uint256(op.attrs[i % 2])) {
                revert ModelRegistryBadAttribute(k, i, op.attrs[i]);
            }
        }
        if (avg) {
            attrIn(op, k, 8, 0, 1);
            attrIn(op, k, 9, 0, MAX_MULT);
            attrIn(op, k, 10, 0, MAX_SHIFT);
            // Both kernel sizes are at most 2^40 (checked above).
            uint256 window = uint256(op.attrs[0]) * uint256(op.attrs[1]);
            if (window > MAX_MEAN) revert ModelRegistryReductionTooLong(k, window, MAX_MEAN);
        }
        uint256[] calldata x = shapeOf(op, ts, 0);
        if (x.length != 4) revert ModelRegistryInputShape(k, 0);
        uint256 oh = poolAxis(op, k, x[2], 0);
        uint256 ow = poolAxis(op, k, x[3], 1);
        expectOutput4(op, ts, k, x[0], x[1], oh, ow);
    }

    /// Output size of a pool along H (a = 0) or W (a = 1): kernel a, stride 2 + a, pads 4 + a and 6 + a.
    function poolAxis(IModelRegistry.OpLeaf calldata op, uint256 k, uint256 size, uint256 a)
        private
        pure
        returns (uint256)
    {
        int256[] calldata attrs = op.attrs;
        return windowOut(k, size, uint256(attrs[a]), uint256(attrs[2 + a]), uint256(attrs[4 + a]), uint256(attrs[6 + a]), 1);
    }

    /// attrs (axis, keepDims, mult, shift).
    function reducemean(IModelRegistry.OpLeaf calldata op, IModelRegistry.TensorLeaf[] calldata ts, uint256 k)
        private
        pure
    {
        expectDtype(op, ts, k, 0, U8);
        uint256[] calldata x = shapeOf(op, ts, 0);
        // Axis 0 is the batch, which no op mixes.
        uint256 axis = attrIn(op, k, 0, 1, int256(x.length) - 1);
        bool keep = attrIn(op, k, 1, 0, 1) == 1;
        attrIn(op, k, 2, 0, MAX_MULT);
        attrIn(op, k, 3, 0, MAX_SHIFT);
        if (x[axis] > MAX_MEAN) revert ModelRegistryReductionTooLong(k, x[axis], MAX_MEAN);
        uint256[] calldata o = ts[op.output].shape;
        if (o.length != (keep ? x.length : x.length - 1)) revert ModelRegistryOutputShape(k, op.output);
        for (uint256 i; i < o.length; ++i) {
            uint256 want = keep ? (i == axis ? 1 : x[i]) : x[i < axis ? i : i + 1];
            if (o[i] != want) revert ModelRegistryOutputShape(k, op.output);
        }
    }

    function softmax(IModelRegistry.OpLeaf calldata op, IModelRegistry.TensorLeaf[] calldata ts, uint256 k)
        private
        pure
    {
        expectDtype(op, ts, k, 0, U8);
        expectDtype(op, ts, k, 1, I32);
        expectConst(op, ts, k, 1);
        if (elements(shapeOf(op, ts, 1)) != TABLE_SIZE) revert ModelRegistryInputShape(k, 1);
        // The row sum of 2^16-bounded terms stays far inside the step's arithmetic.
        uint256 len = last(shapeOf(op, ts, 0));
        if (len > MAX_SOFTMAX_AXIS) revert ModelRegistryReductionTooLong(k, len, MAX_SOFTMAX_AXIS);
        expectSameShape(op, ts, k);
    }

    /// attrs (eps, mult, shift, qmin, qmax).
    function layernorm(IModelRegistry.OpLeaf calldata op, IModelRegistry.TensorLeaf[] calldata ts, uint256 k)
        private
        pure
    {
        expectDtype(op, ts, k, 0, U8);
        expectDtype(op, ts, k, 1, I32);
        expectDtype(op, ts, k, 2, I32);
        expectConst(op, ts, k, 1);
        expectConst(op, ts, k, 2);
        uint256 d = last(shapeOf(op, ts, 0));
        if (d > MAX_NORM_AXIS) revert ModelRegistryReductionTooLong(k, d, MAX_NORM_AXIS);
        if (!isVector(shapeOf(op, ts, 1), d)) revert ModelRegistryInputShape(k, 1);
        if (!isVector(shapeOf(op, ts, 2), d)) revert ModelRegistryInputShape(k, 2);
        attrIn(op, k, 0, 0, MAX_EPS);
        attrIn(op, k, 1, 0, MAX_MULT);
        attrIn(op, k, 2, 0, MAX_SHIFT);
        clampRange(op, k, 3);
        expectSameShape(op, ts, k);
    }

    /// y = table[ids]: table u8 constant [V, D], output [...ids, D].
    function gather(IModelRegistry.OpLeaf calldata op, IModelRegistry.TensorLeaf[] calldata ts, uint256 k) private pure {
        expectConst(op, ts, k, 0);
        expectDtype(op, ts, k, 0, U8);
        uint256[] calldata table = shapeOf(op, ts, 0);
        if (table.length != 2) revert ModelRegistryInputShape(k, 0);
        expectDtype(op, ts, k, 1, I32);
        uint256[] calldata ids = shapeOf(op, ts, 1);
        uint256[] calldata o = ts[op.output].shape;
        if (o.length != ids.length + 1 || o[ids.length] != table[1]) revert ModelRegistryOutputShape(k, op.output);
        for (uint256 i; i < ids.length; ++i) {
            if (o[i] != ids[i]) revert ModelRegistryOutputShape(k, op.output);
        }
    }

    /// attrs: the target shape without the batch dimension.
    function reshape(IModelRegistry.OpLeaf calldata op, IModelRegistry.TensorLeaf[] calldata ts, uint256 k) private pure {
        expectDtype(op, ts, k, 0, U8);
        uint256[] calldata x = shapeOf(op, ts, 0);
        uint256 target = 1;
        uint256 n = op.attrs.length;
        for (uint256 i; i < n; ++i) {
            // Capped like a dimension, so the product stays exact until it passes any input count.
            target *= attrIn(op, k, i, 1, MAX_WINDOW);
            if (target >= 2 ** 40) revert ModelRegistryInputShape(k, 0);
        }
        if (target != sampleElements(x)) revert ModelRegistryInputShape(k, 0);
        uint256[] calldata o = ts[op.output].shape;
        if (o.length != n + 1 || o[0] != x[0]) revert ModelRegistryOutputShape(k, op.output);
        for (uint256 i; i < n; ++i) {
            if (o[i + 1] != uint256(op.attrs[i])) revert ModelRegistryOutputShape(k, op.output);
        }
    }

    /// attrs: perm, a permutation of the input's axes that keeps the batch axis first.
    function transpose(IModelRegistry.OpLeaf calldata op, IModelRegistry.TensorLeaf[] calldata ts, uint256 k)
        private
        pure
    {
        expectDtype(op, ts, k, 0, U8);
        uint256[] calldata x = shapeOf(op, ts, 0);
        uint256 r = x.length;
        if (r == 0 || op.attrs.length != r) revert ModelRegistryInputShape(k, 0);
        if (op.attrs[0] != 0) revert ModelRegistryBadAttribute(k, 0, op.attrs[0]);
        uint256[] calldata o = ts[op.output].shape;
        if (o.length != r) revert ModelRegistryOutputShape(k, op.output);
        uint256 seen;
        for (uint256 i; i < r; ++i) {
            uint256 p = attrIn(op, k, i, 0, int256(r) - 1);
            if (seen & (1 << p) != 0) revert ModelRegistryBadAttribute(k, i, op.attrs[i]);
            seen |= 1 << p;
            if (o[i] != x[p]) revert ModelRegistryOutputShape(k, op.output);
        }
    }

    /// attrs (axis): the inputs agree on every other axis and share the output's zero point.
    function concat(IModelRegistry.OpLeaf calldata op, IModelRegistry.TensorLeaf[] calldata ts, uint256 k) private pure {
        int256 zy = ts[op.output].zeroPoint;
        uint256 n = op.inputs.length;
        for (uint256 j; j < n; ++j) {
            expectDtype(op, ts, k, j, U8);
            // The step copies bytes: every input must already be in the output's quantization.
            int256 zp = ts[op.inputs[j]].zeroPoint;
            if (zp != zy) revert ModelRegistryInputZeroPoint(k, j, zp, zy);
        }
        uint256[] calldata first = shapeOf(op, ts, 0);
        uint256 r = first.length;
        uint256 axis = attrIn(op, k, 0, 1, int256(r) - 1);
        uint256 total;
        for (uint256 j; j < n; ++j) {
            uint256[] calldata s = shapeOf(op, ts, j);
            if (s.length != r) revert ModelRegistryInputShape(k, j);
            for (uint256 i; i < r; ++i) {
                if (i != axis && s[i] != first[i]) revert ModelRegistryInputShape(k, j);
            }
            total += s[axis];
        }
        uint256[] calldata o = ts[op.output].shape;
        if (o.length != r) revert ModelRegistryOutputShape(k, op.output);
        for (uint256 i; i < r; ++i) {
            if (o[i] != (i == axis ? total : first[i])) revert ModelRegistryOutputShape(k, op.output);
        }
    }

    // ---------------------------------------------------------------------------------------
    // Helpers

    function shapeOf(IModelRegistry.OpLeaf calldata op, IModelRegistry.TensorLeaf[] calldata ts, uint256 j)
        private
        pure
        returns (uint256[] calldata)
    {
        return ts[op.inputs[j]].shape;
    }

    function expectDtype(
        IModelRegistry.OpLeaf calldata op,
        IModelRegistry.TensorLeaf[] calldata ts,
        uint256 k,
        uint256 j,
        uint256 want
    ) private pure {
        uint256 dtype = ts[op.inputs[j]].dtype;
        if (dtype != want) revert ModelRegistryInputDtype(k, j, dtype);
    }

    function expectConst(IModelRegistry.OpLeaf calldata op, IModelRegistry.TensorLeaf[] calldata ts, uint256 k, uint256 j)
        private
        pure
    {
        uint256 kind = ts[op.inputs[j]].kind;
        if (kind != CONST) revert ModelRegistryInputKind(k, j, kind);
    }

    /// Attribute i as a uint256, reverting unless lo <= value <= hi (an empty range rejects all).
    function attrIn(IModelRegistry.OpLeaf calldata op, uint256 k, uint256 i, int256 lo, int256 hi)
        private
        pure
        returns (uint256)
    {
        int256 v = op.attrs[i];
        if (v < lo || v > hi) revert ModelRegistryBadAttribute(k, i, v);
        return uint256(v);
    }

    /// Attributes i and i + 1 are qmin and qmax with 0 <= qmin <= qmax <= 255.
    function clampRange(IModelRegistry.OpLeaf calldata op, uint256 k, uint256 i) private pure {
        uint256 qmin = attrIn(op, k, i, 0, 255);
        attrIn(op, k, i + 1, int256(qmin), 255);
    }

    /// Inputs 3 and 4 are i32 constant multiplier and shift vectors of `channels` or 1 entries.
    function requantVectors(
        IModelRegistry.OpLeaf calldata op,
        IModelRegistry.TensorLeaf[] calldata ts,
        uint256 k,
        uint256 channels
    ) private pure {
        expectDtype(op, ts, k, 3, I32);
        expectDtype(op, ts, k, 4, I32);
        expectConst(op, ts, k, 3);
        expectConst(op, ts, k, 4);
        uint256 m = elements(shapeOf(op, ts, 3));
        if (elements(shapeOf(op, ts, 4)) != m) revert ModelRegistryInputShape(k, 4);
        if (m != channels && m != 1) revert ModelRegistryInputShape(k, 3);
    }

    /// The output size of a window of `kernel` taps `dilation` apart, or a revert if none fits.
    function windowOut(
        uint256 k,
        uint256 size,
        uint256 kernel,
        uint256 stride,
        uint256 p0,
        uint256 p1,
        uint256 dilation
    ) private pure returns (uint256) {
        uint256 span = (kernel - 1) * dilation + 1;
        if (size + p0 + p1 < span) revert ModelRegistryInputShape(k, 0);
        return (size + p0 + p1 - span) / stride + 1;
    }

    /// The output's axes but the last `drop` are the numpy broadcast of those of inputs 0 and 1
    /// (right-aligned). The caller has checked that the output's rank is the larger input rank.
    function broadcastInto(
        IModelRegistry.OpLeaf calldata op,
        IModelRegistry.TensorLeaf[] calldata ts,
        uint256 k,
        uint256 drop
    ) private pure {
        uint256[] calldata o = ts[op.output].shape;
        uint256 n = o.length - drop;
        for (uint256 i; i < n; ++i) {
            uint256 da = alignedDim(shapeOf(op, ts, 0), i, n, drop);
            uint256 db = alignedDim(shapeOf(op, ts, 1), i, n, drop);
            if (da != db && da != 1 && db != 1) revert ModelRegistryInputShape(k, 1);
            if (o[i] != (da == 1 ? db : da)) revert ModelRegistryOutputShape(k, op.output);
        }
    }

    /// Axis i of the first s.length - drop axes of s, right-aligned to n axes (1 where s has none).
    function alignedDim(uint256[] calldata s, uint256 i, uint256 n, uint256 drop) private pure returns (uint256) {
        uint256 m = s.length - drop;
        return i + m >= n ? s[i + m - n] : 1;
    }

    /// The output has shape [n0, n1, n2, n3].
    function expectOutput4(
        IModelRegistry.OpLeaf calldata op,
        IModelRegistry.TensorLeaf[] calldata ts,
        uint256 k,
        uint256 n0,
        uint256 n1,
        uint256 n2,
        uint256 n3
    ) private pure {
        uint256[] calldata o = ts[op.output].shape;
        if (o.length != 4 || o[0] != n0 || o[1] != n1 || o[2] != n2 || o[3] != n3) {
            revert ModelRegistryOutputShape(k, op.output);
        }
    }

    /// The output has the shape of input 0 (elementwise and last-axis ops).
    function expectSameShape(IModelRegistry.OpLeaf calldata op, IModelRegistry.TensorLeaf[] calldata ts, uint256 k)
        private
        pure
    {
        uint256[] calldata x = shapeOf(op, ts, 0);
        uint256[] calldata o = ts[op.output].shape;
        if (o.length != x.length) revert ModelRegistryOutputShape(k, op.output);
        for (uint256 i; i < x.length; ++i) {
            if (o[i] != x[i]) revert ModelRegistryOutputShape(k, op.output);
        }
    }

    function isVector(uint256[] calldata s, uint256 n) private pure returns (bool) {
        return s.length == 1 && s[0] == n;
    }

    /// The last dimension, or 0 for a rank-0 constant (no dimension is 0, so 0 fits no rule).
    function last(uint256[] calldata s) private pure returns (uint256) {
        return s.length == 0 ? 0 : s[s.length - 1];
    }

    /// Below 2^40 by the caps of ModelCheck.
    function elements(uint256[] calldata s) private pure returns (uint256 p) {
        p = 1;
        for (uint256 i; i < s.length; ++i) {
            p *= s[i];
        }
    }

    function sampleElements(uint256[] calldata s) private pure returns (uint256 p) {
        p = 1;
        for (uint256 i = 1; i < s.length; ++i) {
            p *= s[i];
        }
    }
}
