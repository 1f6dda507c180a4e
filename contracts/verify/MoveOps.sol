// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ShapeStep} from "../onestep/ShapeStep.sol";
import {OneStepBadAttribute, OneStepBadShape} from "./OneStepErrors.sol";
import {OpContext} from "./OpContext.sol";
import {TensorView} from "./TensorView.sol";

/// @title MoveOps: the data-movement ops of the one-step verifier. The output element is one
/// committed input byte, located with the ShapeStep index maps.
library MoveOps {
    /// gather (code 10): inputs table u8 const [V, D], ids i32; y[p, d] = table[ids[p], d].
    function gather(OpContext.Ctx memory c) internal pure returns (uint256) {
        TensorView.View memory table = c.ins[0];
        TensorView.View memory ids = c.ins[1];
        TensorView.expect(table, TensorView.U8);
        TensorView.expectRank(table, 2);
        uint256 D = table.shape[1];
        int256 id = TensorView.i32At(ids, ShapeStep.gatherIdsIndex(c.element, D));
        return TensorView.byteAt(table, ShapeStep.gatherSource(c.element, D, table.shape[0], id));
    }

    /// reshape (code 11): the same bytes.
    function reshape(OpContext.Ctx memory c) internal pure returns (uint256) {
        TensorView.View memory x = c.ins[0];
        TensorView.expect(x, TensorView.U8);
        return TensorView.byteAt(x, ShapeStep.reshapeSource(c.element, x.count));
    }

    /// transpose (code 12): attrs perm (one per axis).
    function transpose(OpContext.Ctx memory c) internal pure returns (uint256) {
        TensorView.View memory x = c.ins[0];
        TensorView.expect(x, TensorView.U8);
        uint256[] memory perm = new uint256[](c.attrs.length);
        for (uint256 i; i < perm.length; ++i) perm[i] = OpContext.uattr(c, i);
        return TensorView.byteAt(x, ShapeStep.transposeSource(x.shape, perm, c.element));
    }

    /// concat (code 13): attr axis; only the input that holds the element is read.
    function concat(OpContext.Ctx memory c) internal pure returns (uint256) {
        uint256 axis = OpContext.uattr(c, 0);
        uint256 rank = c.outShape.length;
        if (axis >= rank) revert OneStepBadAttribute(0, c.attrs[0]);
        uint256[] memory axisLens = new uint256[](c.ins.length);
        for (uint256 k; k < axisLens.length; ++k) {
            uint256[] memory s = c.ins[k].shape;
            if (s.length != rank) revert OneStepBadShape(c.ins[k].id);
            for (uint256 d; d < rank; ++d) {
                if (d != axis && s[d] != c.outShape[d]) revert OneStepBadShape(c.ins[k].id);
            }
            axisLens[k] = s[axis];
        }
        (uint256 which, uint256 inFlat) = ShapeStep.concatSource(c.outShape, axis, axisLens, c.element);
        TensorView.View memory x = c.ins[which];
        TensorView.expect(x, TensorView.U8);
        return TensorView.byteAt(x, inFlat);
    }
}
