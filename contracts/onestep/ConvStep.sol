// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Packed} from "../lib/Packed.sol";
import {Requant} from "./Requant.sol";

/// @title ConvStep: one output element of conv (src/engine/reference/conv.ts).
/// @notice y[n,m,oy,ox] = clamp(zy + rq(bias[m] + Σ_{c,ky,kx} (x[n,g*Cg+c,iy,ix] - zx) * w[m,c,ky,kx],
/// mult[m], shift[m]), qmin, qmax), iy = oy*strideH - padTop + ky*dilH (ix alike); taps outside
/// the input contribute 0.
///
/// The taps of one output element are passed in the weight order (c, ky, kx), row-major: `wTaps`
/// is w[m, c0:c1, :, :], a contiguous slice of w; `xTaps[t]` is the input that meets weight tap t
/// (any value at a padding tap; it is ignored). `tapSource` says where each tap comes from.
/// The one-step verifier computes the same sum without the tap buffers, reading the taps from the
/// proven chunks in place (contracts/verify/ConvSum.sol).
library ConvStep {
    error TapsMismatch(uint256 xLength, uint256 wLength, uint256 kernelArea);
    error BadLayout();

    /// Spatial geometry: input H x W, kernel KH x KW, strides, top/left pads, dilations.
    struct Window {
        uint256 H;
        uint256 W;
        uint256 KH;
        uint256 KW;
        uint256 strideH;
        uint256 strideW;
        uint256 padTop;
        uint256 padLeft;
        uint256 dilH;
        uint256 dilW;
    }

    /// Channel layout: x is [N, C, H, W], w is [M, C / group, KH, KW], y is [N, M, OH, OW].
    struct Layout {
        uint256 C;
        uint256 M;
        uint256 group;
        uint256 OH;
        uint256 OW;
    }

    /// Input row and column of tap (ky, kx) of output (oy, ox); inBounds is false for a padding tap.
    function tapPosition(Window memory g, uint256 oy, uint256 ox, uint256 ky, uint256 kx)
        internal
        pure
        returns (bool inBounds, uint256 iy, uint256 ix)
    {
        bool rowIn;
        bool colIn;
        (rowIn, iy) = row(g, oy, ky);
        (colIn, ix) = column(g, ox, kx);
        inBounds = rowIn && colIn;
    }

    /// i = o*stride - pad + k*dil, and whether 0 <= i < size (computed without negative numbers).
    function coordinate(uint256 o, uint256 stride, uint256 pad, uint256 k, uint256 dil, uint256 size)
        internal
        pure
        returns (bool inBounds, uint256 i)
    {
        uint256 shifted = o * stride + k * dil;
        if (shifted < pad) return (false, 0);
        i = shifted - pad;
        inBounds = i < size;
    }

    /// The coordinates (n, m, oy, ox) of one output element.
    struct Output {
        uint256 n;
        uint256 m;
        uint256 oy;
        uint256 ox;
    }

    /// The coordinates of the output element at flat index `outFlat`.
    function outputCoords(Layout memory l, uint256 outFlat) internal pure returns (Output memory o) {
        o.ox = outFlat % l.OW;
        uint256 rest = outFlat / l.OW;
        o.oy = rest % l.OH;
        rest /= l.OH;
        o.m = rest % l.M;
        o.n = rest / l.M;
    }

    /// The flat index in x of weight tap (c, ky, kx) of output o; inBounds is false for a padding
    /// tap.
    function tapSource(Window memory g, Layout memory l, Output memory o, uint256 c, uint256 ky, uint256 kx)
        internal
        pure
        returns (bool inBounds, uint256 xFlat)
    {
        uint256 iy;
        uint256 ix;
        (inBounds, iy, ix) = tapPosition(g, o.oy, o.ox, ky, kx);
        if (inBounds) xFlat = ((o.n * l.C + inputChannel(l, o.m, c)) * g.H + iy) * g.W + ix;
    }

    /// The input channel of weight channel c of output channel m: the group of m selects the input
    /// channels g*Cg .. g*Cg + Cg - 1.
    function inputChannel(Layout memory l, uint256 m, uint256 c) internal pure returns (uint256) {
        if (l.group == 0 || l.C % l.group != 0 || l.M % l.group != 0) revert BadLayout();
        return (m / (l.M / l.group)) * (l.C / l.group) + c;
    }

    /// The contiguous range of w holding the taps of output channel m: [start, start + length).
    function weightRange(Window memory g, Layout memory l, uint256 m)
        internal
        pure
        returns (uint256 start, uint256 length)
    {
        length = (l.C / l.group) * g.KH * g.KW;
        start = m * length;
    }

    /// acc + Σ (x - zx) * w over the in-bounds taps of whole channels. Split the channels into
    /// ranges to check a long reduction as a chain of partial sums.
    function accumulate(
        Window memory g,
        uint256 oy,
        uint256 ox,
        bytes memory xTaps,
        bytes memory wTaps,
        int256 zx,
        int256 acc
    ) internal pure returns (int256) {
        uint256 area = g.KH * g.KW;
        if (area == 0 || xTaps.length != wTaps.length || xTaps.length % area != 0) {
            revert TapsMismatch(xTaps.length, wTaps.length, area);
        }
        Packed.checkZeroPoint(zx);
        for (uint256 ky; ky < g.KH; ++ky) {
            if (!rowInside(g, oy, ky)) continue;
            for (uint256 kx; kx < g.KW; ++kx) {
                if (!colInside(g, ox, kx)) continue;
                acc += tapSum(xTaps, wTaps, ky * g.KW + kx, area, zx);
            }
        }
        return acc;
    }

    /// The input row read by kernel row ky of output row oy, and whether it is inside the input.
    function row(Window memory g, uint256 oy, uint256 ky) internal pure returns (bool inBounds, uint256 iy) {
        return coordinate(oy, g.strideH, g.padTop, ky, g.dilH, g.H);
    }

    /// The input column read by kernel column kx of output column ox, and whether it is inside.
    function column(Window memory g, uint256 ox, uint256 kx) internal pure returns (bool inBounds, uint256 ix) {
        return coordinate(ox, g.strideW, g.padLeft, kx, g.dilW, g.W);
    }

    function rowInside(Window memory g, uint256 oy, uint256 ky) private pure returns (bool inBounds) {
        (inBounds,) = row(g, oy, ky);
    }

    function colInside(Window memory g, uint256 ox, uint256 kx) private pure returns (bool inBounds) {
        (inBounds,) = column(g, ox, kx);
    }

    /// Σ_c (x - zx) * w over the taps first, first + area, ... : one (ky, kx) of every channel.
    /// Both tap arrays have the same length (checked by accumulate) and zx is in [0, 255].
    function tapSum(bytes memory xTaps, bytes memory wTaps, uint256 first, uint256 area, int256 zx)
        private
        pure
        returns (int256 sum)
    {
        // Each term is at most 255 * 128 < 2^15 in magnitude and fewer than 2^64 taps fit in
        // memory, so |sum| < 2^79; t < xTaps.length <= 2^64 and area >= 1, so t += area cannot
        // wrap.
        unchecked {
            for (uint256 t = first; t < xTaps.length; t += area) {
                sum += (int256(Packed.u8At(xTaps, t)) - zx) * Packed.i8At(wTaps, t);
            }
        }
    }

    /// The output element from all of its taps.
    function element(
        Window memory g,
        uint256 oy,
        uint256 ox,
        bytes memory xTaps,
        bytes memory wTaps,
        int256 zx,
        int256 bias,
        Requant.Params memory q
    ) internal pure returns (uint8) {
        return Requant.output(q, accumulate(g, oy, ox, xTaps, wTaps, zx, bias));
    }
}
