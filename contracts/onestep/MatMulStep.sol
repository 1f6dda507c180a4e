// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Index} from "../lib/Index.sol";
import {Packed} from "../lib/Packed.sol";
import {Requant} from "./Requant.sol";

/// @title MatMulStep: one output element of matmul (src/engine/reference/matmul.ts).
/// @notice y[...,i,j] = clamp(zy + rq(bias[j] + Σ_k (a[...,i,k] - za) * (b[...,k,j] - zb),
/// mult[j|0], shift[j|0]), qmin, qmax). a is u8; b is an i8 constant (zb = 0) or a u8 activation.
///
/// A long dot product is checked as a chain of partial sums P(k) = bias + Σ_{k' < k} ...:
/// P(0) = bias, P(k1) = accumulate(P(k0), a[k0:k1], b[k0:k1]), y = finish(P(K)).
library MatMulStep {
    error LengthMismatch(uint256 aLength, uint256 bLength);

    /// The operands of one output element inside the full tensors.
    struct Operands {
        /// Flat index of a[..., i, 0]; the row is contiguous: a[aRowStart + k].
        uint256 aRowStart;
        /// Flat index of b[..., 0, j]; the column is strided: b[bColStart + k * N].
        uint256 bColStart;
        /// The column j, which selects bias[j] and mult/shift[j] (or [0] per tensor).
        uint256 column;
    }

    /// acc + Σ_k (a_k - za) * (b_k - zb) over one segment of the row of a and the column of b.
    function accumulate(int256 acc, bytes memory a, bytes memory b, bool bSigned, int256 za, int256 zb)
        internal
        pure
        returns (int256)
    {
        if (a.length != b.length) revert LengthMismatch(a.length, b.length);
        Packed.checkZeroPoint(za);
        Packed.checkZeroPoint(zb);
        int256 sum;
        // Each term is at most 255 * 383 < 2^17 in magnitude and fewer than 2^64 bytes fit in
        // memory, so |sum| < 2^81: no overflow. The addition to acc below is checked.
        // A loop iteration costs about 100 gas of jumps and counters on top of the arithmetic, so
        // whole 32-byte words of a and b are loaded once and their 32 elements taken with BYTE at
        // constant positions (unrolled, about 45 gas per element); the tail of fewer than 32
        // elements is looped. Two's complement arithmetic: every value fits (see above).
        assembly ("memory-safe") {
            let n := mload(a)
            let pa := add(a, 32)
            let pb := add(b, 32)
            let full := and(n, not(31))
            let w := 0
            switch bSigned
            case 0 {
                for {} lt(w, full) { w := add(w, 32) } {
                    let wa := mload(add(pa, w))
                    let wb := mload(add(pb, w))
                    sum := add(sum, mul(sub(byte(0, wa), za), sub(byte(0, wb), zb)))
                    sum := add(sum, mul(sub(byte(1, wa), za), sub(byte(1, wb), zb)))
                    sum := add(sum, mul(sub(byte(2, wa), za), sub(byte(2, wb), zb)))
                    sum := add(sum, mul(sub(byte(3, wa), za), sub(byte(3, wb), zb)))
                    sum := add(sum, mul(sub(byte(4, wa), za), sub(byte(4, wb), zb)))
                    sum := add(sum, mul(sub(byte(5, wa), za), sub(byte(5, wb), zb)))
                    sum := add(sum, mul(sub(byte(6, wa), za), sub(byte(6, wb), zb)))
                    sum := add(sum, mul(sub(byte(7, wa), za), sub(byte(7, wb), zb)))
                    sum := add(sum, mul(sub(byte(8, wa), za), sub(byte(8, wb), zb)))
                    sum := add(sum, mul(sub(byte(9, wa), za), sub(byte(9, wb), zb)))
                    sum := add(sum, mul(sub(byte(10, wa), za), sub(byte(10, wb), zb)))
                    sum := add(sum, mul(sub(byte(11, wa), za), sub(byte(11, wb), zb)))
                    sum := add(sum, mul(sub(byte(12, wa), za), sub(byte(12, wb), zb)))
                    sum := add(sum, mul(sub(byte(13, wa), za), sub(byte(13, wb), zb)))
                    sum := add(sum, mul(sub(byte(14, wa), za), sub(byte(14, wb), zb)))
                    sum := add(sum, mul(sub(byte(15, wa), za), sub(byte(15, wb), zb)))
                    sum := add(sum, mul(sub(byte(16, wa), za), sub(byte(16, wb), zb)))
                    sum := add(sum, mul(sub(byte(17, wa), za), sub(byte(17, wb), zb)))
                    sum := add(sum, mul(sub(byte(18, wa), za), sub(byte(18, wb), zb)))
                    sum := add(sum, mul(sub(byte(19, wa), za), sub(byte(19, wb), zb)))
                    sum := add(sum, mul(sub(byte(20, wa), za), sub(byte(20, wb), zb)))
                    sum := add(sum, mul(sub(byte(21, wa), za), sub(byte(21, wb), zb)))
                    sum := add(sum, mul(sub(byte(22, wa), za), sub(byte(22, wb), zb)))
                    sum := add(sum, mul(sub(byte(23, wa), za), sub(byte(23, wb), zb)))
                    sum := add(sum, mul(sub(byte(24, wa), za), sub(byte(24, wb), zb)))
                    sum := add(sum, mul(sub(byte(25, wa), za), sub(byte(25, wb), zb)))
                    sum := add(sum, mul(sub(byte(26, wa), za), sub(byte(26, wb), zb)))
                    sum := add(sum, mul(sub(byte(27, wa), za), sub(byte(27, wb), zb)))
                    sum := add(sum, mul(sub(byte(28, wa), za), sub(byte(28, wb), zb)))
                    sum := add(sum, mul(sub(byte(29, wa), za), sub(byte(29, wb), zb)))
                    sum := add(sum, mul(sub(byte(30, wa), za), sub(byte(30, wb), zb)))
                    sum := add(sum, mul(sub(byte(31, wa), za), sub(byte(31, wb), zb)))
                }
            }
            default {
                for {} lt(w, full) { w := add(w, 32) } {
                    let wa := mload(add(pa, w))
                    let wb := mload(add(pb, w))
                    sum := add(sum, mul(sub(byte(0, wa), za), sub(signextend(0, byte(0, wb)), zb)))
                    sum := add(sum, mul(sub(byte(1, wa), za), sub(signextend(0, byte(1, wb)), zb)))
                    sum := add(sum, mul(sub(byte(2, wa), za), sub(signextend(0, byte(2, wb)), zb)))
                    sum := add(sum, mul(sub(byte(3, wa), za), sub(signextend(0, byte(3, wb)), zb)))
                    sum := add(sum, mul(sub(byte(4, wa), za), sub(signextend(0, byte(4, wb)), zb)))
                    sum := add(sum, mul(sub(byte(5, wa), za), sub(signextend(0, byte(5, wb)), zb)))
                    sum := add(sum, mul(sub(byte(6, wa), za), sub(signextend(0, byte(6, wb)), zb)))
                    sum := add(sum, mul(sub(byte(7, wa), za), sub(signextend(0, byte(7, wb)), zb)))
                    sum := add(sum, mul(sub(byte(8, wa), za), sub(signextend(0, byte(8, wb)), zb)))
                    sum := add(sum, mul(sub(byte(9, wa), za), sub(signextend(0, byte(9, wb)), zb)))
                    sum := add(sum, mul(sub(byte(10, wa), za), sub(signextend(0, byte(10, wb)), zb)))
                    sum := add(sum, mul(sub(byte(11, wa), za), sub(signextend(0, byte(11, wb)), zb)))
                    sum := add(sum, mul(sub(byte(12, wa), za), sub(signextend(0, byte(12, wb)), zb)))
                    sum := add(sum, mul(sub(byte(13, wa), za), sub(signextend(0, byte(13, wb)), zb)))
                    sum := add(sum, mul(sub(byte(14, wa), za), sub(signextend(0, byte(14, wb)), zb)))
                    sum := add(sum, mul(sub(byte(15, wa), za), sub(signextend(0, byte(15, wb)), zb)))
                    sum := add(sum, mul(sub(byte(16, wa), za), sub(signextend(0, byte(16, wb)), zb)))
                    sum := add(sum, mul(sub(byte(17, wa), za), sub(signextend(0, byte(17, wb)), zb)))
                    sum := add(sum, mul(sub(byte(18, wa), za), sub(signextend(0, byte(18, wb)), zb)))
                    sum := add(sum, mul(sub(byte(19, wa), za), sub(signextend(0, byte(19, wb)), zb)))
                    sum := add(sum, mul(sub(byte(20, wa), za), sub(signextend(0, byte(20, wb)), zb)))
                    sum := add(sum, mul(sub(byte(21, wa), za), sub(signextend(0, byte(21, wb)), zb)))
                    sum := add(sum, mul(sub(byte(22, wa), za), sub(signextend(0, byte(22, wb)), zb)))
                    sum := add(sum, mul(sub(byte(23, wa), za), sub(signextend(0, byte(23, wb)), zb)))
                    sum := add(sum, mul(sub(byte(24, wa), za), sub(signextend(0, byte(24, wb)), zb)))
                    sum := add(sum, mul(sub(byte(25, wa), za), sub(signextend(0, byte(25, wb)), zb)))
                    sum := add(sum, mul(sub(byte(26, wa), za), sub(signextend(0, byte(26, wb)), zb)))
                    sum := add(sum, mul(sub(byte(27, wa), za), sub(signextend(0, byte(27, wb)), zb)))
                    sum := add(sum, mul(sub(byte(28, wa), za), sub(signextend(0, byte(28, wb)), zb)))
                    sum := add(sum, mul(sub(byte(29, wa), za), sub(signextend(0, byte(29, wb)), zb)))
                    sum := add(sum, mul(sub(byte(30, wa), za), sub(signextend(0, byte(30, wb)), zb)))
                    sum := add(sum, mul(sub(byte(31, wa), za), sub(signextend(0, byte(31, wb)), zb)))
                }
            }
            // The last, partial word: memory arrays are allocated in whole words, so it lies inside
            // a and b; only its first n - full bytes are elements.
            if lt(full, n) {
                let wa := mload(add(pa, full))
                let wb := mload(add(pb, full))
                for { let i := 0 } lt(i, sub(n, full)) { i := add(i, 1) } {
                    let bv := byte(i, wb)
                    if bSigned { bv := signextend(0, bv) }
                    sum := add(sum, mul(sub(byte(i, wa), za), sub(bv, zb)))
                }
            }
        }
        return acc + sum;
    }

    /// The output element from the full sum P(K) = bias + Σ_k ...
    function finish(int256 acc, Requant.Params memory q) internal pure returns (uint8) {
        return Requant.output(q, acc);
    }

    /// The output element from the whole row of a and column of b.
    function element(
        bytes memory a,
        bytes memory b,
        bool bSigned,
        int256 za,
        int256 zb,
        int256 bias,
        Requant.Params memory q
    ) internal pure returns (uint8) {
        return finish(accumulate(bias, a, b, bSigned, za, zb), q);
    }

    /// Where the operands of output element `outFlat` lie. outLead, aLead and bLead are the
    /// leading (batch) dimensions of y [...,M,N], a [...,M,K] and b [...,K,N]; they broadcast.
    function operands(
        uint256[] memory outLead,
        uint256[] memory aLead,
        uint256[] memory bLead,
        uint256 M,
        uint256 K,
        uint256 N,
        uint256 outFlat
    ) internal pure returns (Operands memory o) {
        o.column = outFlat % N;
        uint256 i = (outFlat / N) % M;
        uint256 t = outFlat / (N * M);
        o.aRowStart = (Index.broadcast(aLead, outLead, t) * M + i) * K;
        o.bColStart = Index.broadcast(bLead, outLead, t) * K * N + o.column;
    }
}
