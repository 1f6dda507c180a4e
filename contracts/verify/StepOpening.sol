// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {OpArity} from "../lib/OpArity.sol";
import {IOneStepVerifier} from "./IOneStepVerifier.sol";
import {ModelProof} from "./ModelProof.sol";
import {
    OneStepBadAttributes,
    OneStepBadDtype,
    OneStepBadInputCount,
    OneStepBadKind,
    OneStepConstRootMismatch,
    OneStepElementOutOfRange,
    OneStepInputCount,
    OneStepTensorIdMismatch,
    OneStepUnknownOp,
    OneStepZeroBatch
} from "./OneStepErrors.sol";
import {OpContext} from "./OpContext.sol";
import {TensorView} from "./TensorView.sol";

/// @title StepOpening: checks 1-2 of a one-step proof (OneStepVerifier), shared by the contract
/// that computes whole elements and the one that computes partial sums (SegmentVerifier), so that
/// both open a Step identically.
abstract contract StepOpening {
    uint256 private constant ACTIVATION = 2;

    /// The op context of `step` with its inputs opened and its output checked; `inputRoots` as
    /// for IOneStepVerifier.computeElement.
    function openStep(IOneStepVerifier.Step calldata step)
        internal
        pure
        returns (OpContext.Ctx memory c, bytes32[] memory inputRoots)
    {
        if (step.batch == 0) revert OneStepZeroBatch();
        ModelProof.checkOp(step);
        checkArity(step.op);
        c.code = step.op.code;
        c.attrs = step.op.attrs;
        c.element = step.element;
        (c.ins, inputRoots) = openInputs(step);
        openOutput(step, c);
    }

    function checkArity(IOneStepVerifier.OpOpening calldata op) private pure {
        (bool known, uint256 inputs, uint256 attrs) = OpArity.ofCode(op.code);
        if (!known) revert OneStepUnknownOp(op.code);
        uint256 n = op.inputs.length;
        if (inputs == OpArity.ANY ? n == 0 : n != inputs) revert OneStepBadInputCount(op.code, n);
        if (attrs != OpArity.ANY && op.attrs.length != attrs) revert OneStepBadAttributes(op.code, op.attrs.length);
    }

    function openInputs(IOneStepVerifier.Step calldata step)
        private
        pure
        returns (TensorView.View[] memory ins, bytes32[] memory roots)
    {
        uint256 n = step.op.inputs.length;
        if (step.inputs.length != n) revert OneStepInputCount(n, step.inputs.length);
        ins = new TensorView.View[](n);
        roots = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            IOneStepVerifier.TensorOpening calldata t = step.inputs[i];
            if (t.id != step.op.inputs[i]) revert OneStepTensorIdMismatch(i, step.op.inputs[i], t.id);
            ModelProof.checkTensor(step, t);
            if (t.kind == TensorView.CONST) {
                if (t.root != t.constRoot) revert OneStepConstRootMismatch(t.id);
            } else {
                roots[i] = t.root;
            }
            ins[i] = TensorView.open(t, t.root, step.batch);
        }
    }

    /// Checks the output descriptor (a u8 activation) and the element index.
    function openOutput(IOneStepVerifier.Step calldata step, OpContext.Ctx memory c) private pure {
        IOneStepVerifier.TensorOpening calldata t = step.output;
        if (t.id != step.op.output) revert OneStepTensorIdMismatch(type(uint256).max, step.op.output, t.id);
        ModelProof.checkTensor(step, t);
        if (t.kind != ACTIVATION) revert OneStepBadKind(t.id, t.kind);
        if (t.dtype != TensorView.U8) revert OneStepBadDtype(t.id, t.dtype);
        c.outId = t.id;
        c.outShape = TensorView.batchedShape(t, step.batch);
        c.zy = t.zeroPoint;
        uint256 count = TensorView.product(c.outShape);
        if (step.element >= count) revert OneStepElementOutOfRange(step.element, count);
    }
}
