// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IntArith} from "../lib/IntArith.sol";

/// @title Requant: the final step shared by conv, matmul and layernorm,
/// y = clamp(zy + rq(acc, mult, shift), qmin, qmax).
library Requant {
    error NotU8(int256 value);

    struct Params {
        int256 zy;
        int256 mult;
        uint256 shift;
        int256 qmin;
        int256 qmax;
    }

    function output(Params memory p, int256 acc) internal pure returns (uint8) {
        return toU8(IntArith.clamp(p.zy + IntArith.rq(acc, p.mult, p.shift), p.qmin, p.qmax));
    }

    /// A u8 activation value. Only a model with a clamp range outside [0, 255], which the model
    /// validator rejects, can produce anything else; then the step reverts.
    function toU8(int256 v) internal pure returns (uint8) {
        if (v < 0 || v > 255) revert NotU8(v);
        return uint8(uint256(v));
    }
}
