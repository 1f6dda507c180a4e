// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IntArith} from "../lib/IntArith.sol";
import {Packed} from "../lib/Packed.sol";
import {Requant} from "./Requant.sol";

/// @title SoftmaxStep: softmax over the last axis (src/engine/reference/normalize.ts).
/// @notice m = max_i x_i; e_i = expTable[m - x_i]; S = Σ e_i; y_i = divRound(255 * e_i, S).
/// The exp table is the committed i32 tensor of 256 entries: 1024 bytes, exactly one chunk.
///
/// A long row is checked in segments: m with maxStep (from 0), then S with sumStep (from 0), then
/// each y_i with element.
library SoftmaxStep {
    error BadTable(uint256 length);
    error AboveMax(uint256 x, uint256 max);

    /// max(m, max of the segment).
    function maxStep(uint256 m, bytes memory segment) internal pure returns (uint256) {
        for (uint256 i; i < segment.length; ++i) {
            uint256 v = Packed.u8At(segment, i);
            if (v > m) m = v;
        }
        return m;
    }

    /// S + Σ expTable[m - x] over the segment, for the row max m.
    function sumStep(int256 S, bytes memory segment, uint256 m, bytes memory expTable)
        internal
        pure
        returns (int256)
    {
        checkTable(expTable);
        int256 sum;
        // Every entry is an i32, |e| < 2^31, and fewer than 2^64 terms: |sum| < 2^95.
        unchecked {
            for (uint256 i; i < segment.length; ++i) sum += exp(expTable, m, Packed.u8At(segment, i));
        }
        return S + sum;
    }

    /// expTable[m - x]; reverts if x > m (then m is not the row max).
    function exp(bytes memory expTable, uint256 m, uint256 x) internal pure returns (int256) {
        if (x > m) revert AboveMax(x, m);
        return Packed.i32(expTable, m - x);
    }

    /// y_i = divRound(255 * e_i, S) from the exp value e_i and the row sum S.
    function fromExp(int256 e, int256 S) internal pure returns (uint8) {
        return Requant.toU8(IntArith.divRound(255 * e, S));
    }

    /// y_i from x_i, the row max m, the exp table and the row sum S.
    function element(uint256 x, uint256 m, bytes memory expTable, int256 S) internal pure returns (uint8) {
        checkTable(expTable);
        return fromExp(exp(expTable, m, x), S);
    }

    /// y_i from the whole row.
    function rowElement(bytes memory row, uint256 i, bytes memory expTable) internal pure returns (uint8) {
        uint256 m = maxStep(0, row);
        return element(uint8(row[i]), m, expTable, sumStep(0, row, m, expTable));
    }

    function checkTable(bytes memory expTable) private pure {
        if (expTable.length != 1024) revert BadTable(expTable.length);
    }
}
