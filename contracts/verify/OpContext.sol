// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {OneStepBadAttribute, OneStepBadRequant, OneStepBadShape} from "./OneStepErrors.sol";
import {Requant} from "../onestep/Requant.sol";
import {TensorView} from "./TensorView.sol";

/// @title OpContext: what every op handler of the one-step verifier receives.
library OpContext {
    struct Ctx {
        /// Op code and attributes in opAttributes order (docs/commitments.md).
        uint256 code;
        int256[] attrs;
        /// The opened inputs, in the op's input order.
        TensorView.View[] ins;
        /// The output tensor id, shape at the run's batch size, and zero point.
        uint256 outId;
        uint256[] outShape;
        int256 zy;
        /// Flat index of the output element (already checked to be inside the output).
        uint256 element;
    }

    /// Attribute i.
    function attr(Ctx memory c, uint256 i) internal pure returns (int256) {
        return c.attrs[i];
    }

    /// Attribute i, which must not be negative.
    function uattr(Ctx memory c, uint256 i) internal pure returns (uint256) {
        int256 v = c.attrs[i];
        if (v < 0) revert OneStepBadAttribute(i, v);
        return uint256(v);
    }

    /// Reverts unless the output has rank `rank`.
    function outRank(Ctx memory c, uint256 rank) internal pure {
        if (c.outShape.length != rank) revert OneStepBadShape(c.outId);
    }

    /// The first n entries of s.
    function prefix(uint256[] memory s, uint256 n) internal pure returns (uint256[] memory p) {
        p = new uint256[](n);
        for (uint256 i; i < n; ++i) p[i] = s[i];
    }

    /// The requantization of channel `channel` of `channels`, from the multiplier and shift vectors
    /// at inputs 3 and 4: per channel (length `channels`) or per tensor (length 1, entry 0).
    function requant(Ctx memory c, uint256 channel, uint256 channels, uint256 qminAttr)
        internal
        pure
        returns (Requant.Params memory q)
    {
        TensorView.View memory m = c.ins[3];
        TensorView.View memory s = c.ins[4];
        if (m.count != s.count) revert OneStepBadRequant(s.id, s.count);
        if (m.count != 1 && m.count != channels) revert OneStepBadRequant(m.id, m.count);
        uint256 i = m.count == 1 ? 0 : channel;
        q.zy = c.zy;
        q.mult = TensorView.i32At(m, i);
        int256 shift = TensorView.i32At(s, i);
        if (shift < 0) revert OneStepBadRequant(s.id, s.count);
        q.shift = uint256(shift);
        q.qmin = c.attrs[qminAttr];
        q.qmax = c.attrs[qminAttr + 1];
    }
}
