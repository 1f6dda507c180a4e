// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IntArith} from "../lib/IntArith.sol";
import {Packed} from "../lib/Packed.sol";
import {Requant} from "./Requant.sol";

/// @title PoolStep: maxpool, avgpool and reducemean (src/engine/reference/pool.ts).
/// @notice The taps of a pooling window are passed in window order (ky, kx), row-major, kH*kW of
/// them; the values at taps outside the input are ignored. `tapSource` says where each tap comes
/// from.
library PoolStep {
    error TapsMismatch(uint256 length, uint256 kernelArea);
    error EmptyReduction();

    /// Input H x W, kernel kH x kW, strides and top/left pads (the bottom/right pads only shape the
    /// output).
    struct Window {
        uint256 H;
        uint256 W;
        uint256 kH;
        uint256 kW;
        uint256 strideH;
        uint256 strideW;
        uint256 padTop;
        uint256 padLeft;
    }

    /// The integer parameters of avgpool.
    struct AvgParams {
        bool countIncludePad;
        int256 zx;
        int256 zy;
        int256 mult;
        uint256 shift;
    }

    /// The window taps (ky, kx) of one output that fall inside the input:
    /// ky in [kyLo, kyHi), kx in [kxLo, kxHi).
    struct Taps {
        uint256 kyLo;
        uint256 kyHi;
        uint256 kxLo;
        uint256 kxHi;
    }

    /// The in-bounds taps of the window of output (oy, ox). Tap k of an axis reads input
    /// i = o*stride - pad + k, so it is in bounds for pad - o*stride <= k < size + pad - o*stride.
    function inBoundsTaps(Window memory w, uint256 oy, uint256 ox) internal pure returns (Taps memory t) {
        (t.kyLo, t.kyHi) = tapSpan(oy * w.strideH, w.padTop, w.kH, w.H);
        (t.kxLo, t.kxHi) = tapSpan(ox * w.strideW, w.padLeft, w.kW, w.W);
    }

    /// [max(0, pad - s), min(k, size + pad - s)) without negative numbers; empty as [lo, lo).
    function tapSpan(uint256 s, uint256 pad, uint256 k, uint256 size) internal pure returns (uint256 lo, uint256 hi) {
        lo = pad > s ? pad - s : 0;
        hi = size + pad > s ? size + pad - s : 0;
        if (hi > k) hi = k;
        if (lo > hi) lo = hi;
    }

    /// The flat index in x [N*C planes, H, W] of window tap (ky, kx) of output (plane, oy, ox), or
    /// inBounds = false for a tap outside the input.
    function tapSource(Window memory w, uint256 plane, uint256 oy, uint256 ox, uint256 ky, uint256 kx)
        internal
        pure
        returns (bool inBounds, uint256 xFlat)
    {
        uint256 r = oy * w.strideH + ky;
        uint256 c = ox * w.strideW + kx;
        if (r < w.padTop || c < w.padLeft) return (false, 0);
        r -= w.padTop;
        c -= w.padLeft;
        if (r >= w.H || c >= w.W) return (false, 0);
        return (true, (plane * w.H + r) * w.W + c);
    }

    /// maxpool: the largest in-bounds tap (starting from 0, as the reference).
    function maxpool(Window memory w, uint256 oy, uint256 ox, bytes memory taps) internal pure returns (uint8) {
        uint256 m;
        checkTaps(w, taps);
        Taps memory t = inBoundsTaps(w, oy, ox);
        for (uint256 ky = t.kyLo; ky < t.kyHi; ++ky) {
            for (uint256 kx = t.kxLo; kx < t.kxHi; ++kx) {
                uint256 v = Packed.u8At(taps, ky * w.kW + kx);
                if (v > m) m = v;
            }
        }
        return uint8(m);
    }

    /// avgpool: clamp(zy + divRound(Σ_in-bounds (x - zx) * mult, count * 2^shift), 0, 255),
    /// count = kH*kW if countIncludePad, else the number of in-bounds taps.
    function avgpool(Window memory w, uint256 oy, uint256 ox, bytes memory taps, AvgParams memory p)
        internal
        pure
        returns (uint8)
    {
        checkTaps(w, taps);
        Packed.checkZeroPoint(p.zx);
        Taps memory t = inBoundsTaps(w, oy, ox);
        int256 sum;
        // |x - zx| <= 255 over kH * kW = taps.length < 2^64 taps: |sum| < 2^72. The tap index
        // ky * kW + kx < kH * kW cannot wrap either.
        unchecked {
            for (uint256 ky = t.kyLo; ky < t.kyHi; ++ky) {
                for (uint256 kx = t.kxLo; kx < t.kxHi; ++kx) {
                    sum += int256(Packed.u8At(taps, ky * w.kW + kx)) - p.zx;
                }
            }
        }
        uint256 count = p.countIncludePad ? w.kH * w.kW : (t.kyHi - t.kyLo) * (t.kxHi - t.kxLo);
        return meanOf(sum, count, p.zy, p.mult, p.shift);
    }

    /// reducemean, partial form: sum + Σ (x - zx) over a segment of the reduced axis.
    function reduceSum(int256 sum, bytes memory values, int256 zx) internal pure returns (int256) {
        Packed.checkZeroPoint(zx);
        int256 segment;
        // |x - zx| <= 255 and fewer than 2^64 bytes fit in memory: |segment| < 2^72.
        unchecked {
            for (uint256 r; r < values.length; ++r) segment += int256(Packed.u8At(values, r)) - zx;
        }
        return sum + segment;
    }

    /// reducemean: clamp(zy + divRound(Σ_axis (x - zx) * mult, len * 2^shift), 0, 255) over the
    /// `len` values of the reduced axis.
    function reducemean(bytes memory values, int256 zx, int256 zy, int256 mult, uint256 shift)
        internal
        pure
        returns (uint8)
    {
        return meanOf(reduceSum(0, values, zx), values.length, zy, mult, shift);
    }

    /// The flat index in x of entry r of the reduced axis for output `outFlat`, where the reduced
    /// axis has length `len` and the axes after it hold `inner` elements.
    function reduceSource(uint256 outFlat, uint256 len, uint256 inner, uint256 r) internal pure returns (uint256) {
        return ((outFlat / inner) * len + r) * inner + (outFlat % inner);
    }

    /// clamp(zy + divRound(sum * mult, count * 2^shift), 0, 255).
    function meanOf(int256 sum, uint256 count, int256 zy, int256 mult, uint256 shift)
        internal
        pure
        returns (uint8)
    {
        if (count == 0) revert EmptyReduction();
        int256 divisor = int256(count) * IntArith.pow2(shift);
        return Requant.toU8(IntArith.clamp(zy + IntArith.divRound(sum * mult, divisor), 0, 255));
    }

    function checkTaps(Window memory w, bytes memory taps) private pure {
        if (taps.length != w.kH * w.kW) revert TapsMismatch(taps.length, w.kH * w.kW);
    }
}
