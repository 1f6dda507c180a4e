// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IntArith} from "../lib/IntArith.sol";
import {Packed} from "../lib/Packed.sol";
import {Requant} from "./Requant.sol";

/// @title LayerNormStep: layernorm over the last axis of length D (src/engine/reference/normalize.ts).
/// @notice v_i = x_i - zx; S = Σ v_i; c_i = D*v_i - S; Q = Σ c_i²;
/// sigma = isqrt(floor(Q / D) + eps); n_i = sigma > 0 ? divRound(c_i * 2^10, sigma) : 0;
/// y_i = clamp(zy + rq(n_i * gamma_i + beta_i, mult, shift), qmin, qmax).
///
/// A long row is checked in segments: S with sumStep (from 0), then Q with squareStep (from 0,
/// given S), then each y_i with element.
library LayerNormStep {
    error EmptyRow();
    error NegativeRadicand(int256 radicand);
    error RowOutOfRange(uint256 D, int256 S);

    /// Fixed-point fraction bits of n_i (arith.ts LAYERNORM_FRAC_BITS).
    uint256 internal constant FRAC_BITS = 10;
    /// Bounds that no real row reaches (|S| <= 255 * D), which keep the unchecked sums exact.
    uint256 internal constant MAX_D = 2 ** 32;
    int256 internal constant MAX_ABS_S = 2 ** 48;

    struct Params {
        int256 zx;
        int256 eps;
        Requant.Params q;
    }

    /// S + Σ (x - zx) over the segment.
    function sumStep(int256 S, bytes memory segment, int256 zx) internal pure returns (int256) {
        Packed.checkZeroPoint(zx);
        int256 sum;
        // |x - zx| <= 255 and fewer than 2^64 bytes fit in memory: |sum| < 2^72.
        unchecked {
            for (uint256 i; i < segment.length; ++i) sum += int256(Packed.u8At(segment, i)) - zx;
        }
        return S + sum;
    }

    /// Q + Σ (D*(x - zx) - S)² over the segment, for the row sum S.
    function squareStep(int256 Q, bytes memory segment, int256 zx, uint256 D, int256 S)
        internal
        pure
        returns (int256)
    {
        Packed.checkZeroPoint(zx);
        if (D > MAX_D || S > MAX_ABS_S || S < -MAX_ABS_S) revert RowOutOfRange(D, S);
        int256 sum;
        int256 d = int256(D);
        // |c| <= 2^32 * 255 + 2^48 < 2^49, c^2 < 2^98, and fewer than 2^64 terms: |sum| < 2^162.
        unchecked {
            for (uint256 i; i < segment.length; ++i) {
                int256 c = d * (int256(Packed.u8At(segment, i)) - zx) - S;
                sum += c * c;
            }
        }
        return Q + sum;
    }

    /// c = D*(x - zx) - S.
    function centered(int256 x, int256 zx, uint256 D, int256 S) internal pure returns (int256) {
        return int256(D) * (x - zx) - S;
    }

    /// sigma = isqrt(floor(Q / D) + eps).
    function sigma(int256 Q, uint256 D, int256 eps) internal pure returns (int256) {
        if (D == 0) revert EmptyRow();
        int256 radicand = IntArith.floorDiv(Q, int256(D)) + eps;
        // Only a negative eps or Q, which no valid model and row has, makes it negative.
        if (radicand < 0) revert NegativeRadicand(radicand);
        return int256(IntArith.isqrt(uint256(radicand)));
    }

    /// n = sigma > 0 ? divRound(c * 2^10, sigma) : 0.
    function normalized(int256 c, int256 sig) internal pure returns (int256) {
        return sig > 0 ? IntArith.divRound(c * int256(1 << FRAC_BITS), sig) : int256(0);
    }

    /// y_i from x_i, the row length D, the row sum S, sigma and gamma_i, beta_i.
    function element(uint256 x, uint256 D, int256 S, int256 sig, int256 gamma, int256 beta, Params memory p)
        internal
        pure
        returns (uint8)
    {
        int256 n = normalized(centered(int256(x), p.zx, D, S), sig);
        return Requant.output(p.q, n * gamma + beta);
    }

    /// y_i from the whole row.
    function rowElement(bytes memory row, uint256 i, int256 gamma, int256 beta, Params memory p)
        internal
        pure
        returns (uint8)
    {
        uint256 D = row.length;
        int256 S = sumStep(0, row, p.zx);
        int256 sig = sigma(squareStep(0, row, p.zx, D, S), D, p.eps);
        return element(uint8(row[i]), D, S, sig, gamma, beta, p);
    }
}
