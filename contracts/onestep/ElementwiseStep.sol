// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IntArith} from "../lib/IntArith.sol";
import {Requant} from "./Requant.sol";

/// @title ElementwiseStep: add, mul and lut (src/engine/reference/elementwise.ts).
/// @notice The operand of add or mul that feeds an output element is Index.broadcast(inShape, outShape, i).
library ElementwiseStep {
    error BadTable(uint256 length);

    struct AddParams {
        int256 za;
        int256 zb;
        int256 multA;
        int256 multB;
        uint256 shift;
        int256 zy;
        int256 qmin;
        int256 qmax;
    }

    /// add: y = clamp(zy + rshift((a - za) * multA + (b - zb) * multB, shift), qmin, qmax).
    function add(uint256 a, uint256 b, AddParams memory p) internal pure returns (uint8) {
        int256 v = (int256(a) - p.za) * p.multA + (int256(b) - p.zb) * p.multB;
        return Requant.toU8(IntArith.clamp(p.zy + IntArith.rshift(v, p.shift), p.qmin, p.qmax));
    }

    struct MulParams {
        int256 za;
        int256 zb;
        int256 zy;
        int256 mult;
        uint256 shift;
        int256 qmin;
        int256 qmax;
    }

    /// mul: y = clamp(zy + rq((a - za) * (b - zb), mult, shift), qmin, qmax).
    function mul(uint256 a, uint256 b, MulParams memory p) internal pure returns (uint8) {
        int256 product = (int256(a) - p.za) * (int256(b) - p.zb);
        return Requant.toU8(IntArith.clamp(p.zy + IntArith.rq(product, p.mult, p.shift), p.qmin, p.qmax));
    }

    /// lut: y = table[x], with the whole 256-byte table (one chunk).
    function lut(bytes memory table, uint256 x) internal pure returns (uint8) {
        if (table.length != 256) revert BadTable(table.length);
        return uint8(table[x]);
    }
}
