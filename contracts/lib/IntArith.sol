// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IntArith: the rounding rules of src/engine/arith.ts over int256.
/// @notice Every function returns exactly what arith.ts returns inside arith.ts's documented
/// range. Outside it the result is still the exact mathematical value (arith.ts may be inexact
/// there), or the call reverts on overflow through Solidity's checked arithmetic.
///
/// Floor is toward -infinity for negative values, as in arith.ts. Solidity's `/` truncates
/// toward zero, so floorDiv corrects it; `>>` on a signed integer is already a floor.
library IntArith {
    error NonPositiveDivisor(int256 divisor);
    error ShiftTooLarge(uint256 shift);

    /// floor((v + 2^(s-1)) / 2^s): shift right, rounding half up; rshift(v, 0) = v. s <= 255.
    function rshift(int256 v, uint256 s) internal pure returns (int256) {
        if (s == 0) return v;
        if (s > 255) revert ShiftTooLarge(s);
        // 1 << (s - 1) <= 2^254 is positive. The addition is checked. `>>` of a signed value is
        // an arithmetic shift, i.e. floor(x / 2^s) also for negative x.
        return (v + (int256(1) << (s - 1))) >> s;
    }

    /// Requantize: rshift(acc * mult, shift).
    function rq(int256 acc, int256 mult, uint256 shift) internal pure returns (int256) {
        return rshift(acc * mult, shift);
    }

    /// Clamp to [lo, hi], with the same tie-breaking as arith.ts (lo wins when lo > hi and v < lo).
    function clamp(int256 v, int256 lo, int256 hi) internal pure returns (int256) {
        if (v < lo) return lo;
        return v < hi ? v : hi;
    }

    /// floor(a / b) for b > 0.
    function floorDiv(int256 a, int256 b) internal pure returns (int256 q) {
        if (b <= 0) revert NonPositiveDivisor(b);
        q = a / b;
        // With b > 0 the remainder has the sign of a; a negative remainder means `/` rounded up.
        if (a % b < 0) {
            // q <= 0 here, and q - 1 >= a / b - 1 > type(int256).min because |a / b| <= |a| and
            // b >= 2 whenever the remainder is non-zero, so |q| <= 2^254.
            unchecked {
                q -= 1;
            }
        }
    }

    /// Round to nearest, half up: floor((2p + q) / (2q)) for q > 0.
    function divRound(int256 p, int256 q) internal pure returns (int256) {
        if (q <= 0) revert NonPositiveDivisor(q);
        return floorDiv(2 * p + q, 2 * q);
    }

    /// 2^s as an int256, for s <= 254.
    function pow2(uint256 s) internal pure returns (int256) {
        if (s > 254) revert ShiftTooLarge(s);
        return int256(1) << s;
    }

    /// floor(sqrt(v)) by integer Newton iteration, started (as in arith.ts) from the power of two
    /// 2^ceil(bits/2) >= sqrt(v), from which the iterates decrease monotonically to the floor.
    function isqrt(uint256 v) internal pure returns (uint256 x) {
        if (v < 2) return v;
        x = uint256(1) << ((bitLength(v) + 1) / 2);
        // No overflow: every iterate x satisfies floor(sqrt(v)) <= x <= 2^128, so x + v / x is
        // at most 2^128 + v / floor(sqrt(v)) < 2^128 + 2^129.
        unchecked {
            for (;;) {
                uint256 y = (x + v / x) >> 1;
                if (y >= x) return x;
                x = y;
            }
        }
    }

    /// The number of significant bits of v (0 for v = 0): the least b with v < 2^b.
    function bitLength(uint256 v) internal pure returns (uint256 b) {
        // Binary search over the bit position; every shift amount is below 256.
        for (uint256 step = 128; step > 0; step >>= 1) {
            if (v >> step != 0) {
                v >>= step;
                b += step;
            }
        }
        if (v != 0) b += 1;
    }
}
