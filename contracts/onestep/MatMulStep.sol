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
        unchecked {
            for (uint256 k; k < a.length; ++k) {
                int256 av;
                int256 bv;
                // a[k] and b[k] (k < length of both), b[k] sign-extended if b is i8.
                assembly ("memory-safe") {
                    av := byte(0, mload(add(add(a, 32), k)))
                    bv := byte(0, mload(add(add(b, 32), k)))
                    if bSigned { bv := signextend(0, bv) }
                }
                sum += (av - za) * (bv - zb);
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
