// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {OpArity} from "../lib/OpArity.sol";
import {IOneStepVerifier} from "./IOneStepVerifier.sol";
import {LinearOps} from "./LinearOps.sol";
import {ModelProof} from "./ModelProof.sol";
import {MoveOps} from "./MoveOps.sol";
import {
    OneStepBadAttributes,
    OneStepBadDtype,
    OneStepBadInputCount,
    OneStepBadKind,
    OneStepBadSegment,
    OneStepConstRootMismatch,
    OneStepElementOutOfRange,
    OneStepInputCount,
    OneStepTensorIdMismatch,
    OneStepUnknownOp,
    OneStepZeroBatch
} from "./OneStepErrors.sol";
import {OpContext} from "./OpContext.sol";
import {PointOps} from "./PointOps.sol";
import {TensorView} from "./TensorView.sol";

/// @title OneStepVerifier: one output element of one op, proven against the model commitment and
/// the tensor roots of the op's inputs.
/// @notice computeElement
///  1. checks the op leaf (code, inputs, output, attrs) and every tensor leaf (id, kind, dtype,
///     shape, zeroPoint, constRoot) against modelRoot (ModelProof), and that the openings are of
///     the op's input and output tensors, in order;
///  2. opens every input: constants against their committed constRoot, inputs and activations
///     against the root the caller supplies (returned in inputRoots, for the caller to compare with
///     the agreed roots), checks the byte length at the run's batch size, and proves every supplied
///     chunk (TensorView);
///  3. gathers exactly the operands of output element `element` from those chunks (reverting
///     OneStepMissingChunk for a chunk that was not supplied) and computes the element with the
///     contracts/onestep libraries, bit-identical to src/engine/reference.
/// Conv takes mult/shift per output channel or per tensor (length 1, like matmul).
/// A conv whose element reads too many input chunks for one step (ConvSegments) is also checked as
/// a chain of partial sums over channel segments: segmentCount and computeSegment.
contract OneStepVerifier is IOneStepVerifier {
    uint256 private constant ACTIVATION = 2;

    /// @inheritdoc IOneStepVerifier
    function computeElement(Step calldata step)
        external
        pure
        override
        returns (uint256 value, bytes32[] memory inputRoots)
    {
        OpContext.Ctx memory c = context(step);
        (c.ins, inputRoots) = openInputs(step);
        openOutput(step, c);
        value = run(c);
    }

    /// @inheritdoc IOneStepVerifier
    function segmentCount(Step calldata step) external pure override returns (uint256 segments) {
        OpContext.Ctx memory c = context(step);
        (c.ins,) = openInputs(step);
        openOutput(step, c);
        if (c.code != 1) return 0;
        (, segments) = LinearOps.convSegments(c);
    }

    /// @inheritdoc IOneStepVerifier
    function computeSegment(Step calldata step, uint256 segment, int256 acc)
        external
        pure
        override
        returns (int256 value, bytes32[] memory inputRoots)
    {
        OpContext.Ctx memory c = context(step);
        (c.ins, inputRoots) = openInputs(step);
        openOutput(step, c);
        if (c.code != 1) revert OneStepBadSegment(segment, 0);
        value = LinearOps.convSegment(c, segment, acc);
    }

    function context(Step calldata step) private pure returns (OpContext.Ctx memory c) {
        if (step.batch == 0) revert OneStepZeroBatch();
        ModelProof.checkOp(step);
        checkArity(step.op);
        c.code = step.op.code;
        c.attrs = step.op.attrs;
        c.element = step.element;
    }

    function checkArity(OpOpening calldata op) private pure {
        (bool known, uint256 inputs, uint256 attrs) = OpArity.ofCode(op.code);
        if (!known) revert OneStepUnknownOp(op.code);
        uint256 n = op.inputs.length;
        if (inputs == OpArity.ANY ? n == 0 : n != inputs) revert OneStepBadInputCount(op.code, n);
        if (attrs != OpArity.ANY && op.attrs.length != attrs) revert OneStepBadAttributes(op.code, op.attrs.length);
    }

    function openInputs(Step calldata step)
        private
        pure
        returns (TensorView.View[] memory ins, bytes32[] memory roots)
    {
        uint256 n = step.op.inputs.length;
        if (step.inputs.length != n) revert OneStepInputCount(n, step.inputs.length);
        ins = new TensorView.View[](n);
        roots = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            TensorOpening calldata t = step.inputs[i];
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
    function openOutput(Step calldata step, OpContext.Ctx memory c) private pure {
        TensorOpening calldata t = step.output;
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

    function run(OpContext.Ctx memory c) private pure returns (uint256) {
        uint256 code = c.code;
        if (code == 1) return LinearOps.conv(c);
        if (code == 2) return LinearOps.matmul(c);
        if (code == 3) return PointOps.add(c);
        if (code == 4) return PointOps.lut(c);
        if (code == 5) return PointOps.maxpool(c);
        if (code == 6) return PointOps.avgpool(c);
        if (code == 7) return PointOps.reducemean(c);
        if (code == 8) return PointOps.softmax(c);
        if (code == 9) return PointOps.layernorm(c);
        if (code == 10) return MoveOps.gather(c);
        if (code == 11) return MoveOps.reshape(c);
        if (code == 12) return MoveOps.transpose(c);
        if (code == 13) return MoveOps.concat(c);
        return PointOps.mul(c);
    }
}
