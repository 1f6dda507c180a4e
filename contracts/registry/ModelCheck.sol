// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Commitments} from "../game/Commitments.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {OpArity} from "../lib/OpArity.sol";
import {OpShapes} from "./OpShapes.sol";

// The errors carry the registry's prefix: this library is ModelRegistry's registration check and
// its reverts surface from ModelRegistry.register.
error ModelRegistryNoOps();
error ModelRegistryTooManyOps(uint256 count, uint256 max);
error ModelRegistryTooManyTensors(uint256 count, uint256 max);
error ModelRegistryTensorIdMismatch(uint256 index, uint256 id);
error ModelRegistryTensorKindInvalid(uint256 tensorId, uint256 kind);
error ModelRegistryTensorDtypeInvalid(uint256 tensorId, uint256 dtype);
error ModelRegistryTensorRankTooHigh(uint256 tensorId, uint256 rank, uint256 max);
error ModelRegistryTensorDimZero(uint256 tensorId, uint256 axis);
/// `elements` is the dimension or partial product that reached the cap.
error ModelRegistryTensorTooLarge(uint256 tensorId, uint256 elements, uint256 max);
/// Inputs and activations need a leading batch dimension of 1 (`dim0` is 0 for rank 0).
error ModelRegistryTensorBatchDimInvalid(uint256 tensorId, uint256 rank, uint256 dim0);
error ModelRegistryActivationNotU8(uint256 tensorId, uint256 dtype);
error ModelRegistryInputDtypeInvalid(uint256 tensorId, uint256 dtype);
/// A model has exactly one tensor of kind input.
error ModelRegistryInputCount(uint256 count);
error ModelRegistryConstRootMissing(uint256 tensorId);
error ModelRegistryConstRootUnexpected(uint256 tensorId, bytes32 constRoot);
/// u8 zero points lie in [0, 255]; i8 and i32 tensors have zero point 0.
error ModelRegistryZeroPointInvalid(uint256 tensorId, uint256 dtype, int256 zeroPoint);
error ModelRegistryOpCodeUnknown(uint256 op, uint256 code);
error ModelRegistryOpTooManyInputs(uint256 op, uint256 count, uint256 max);
error ModelRegistryOpTooManyAttrs(uint256 op, uint256 count, uint256 max);
/// The input or attribute count differs from what the one-step verifier expects of `code`.
error ModelRegistryOpArityInvalid(uint256 op, uint256 code, uint256 inputs, uint256 attrs);
error ModelRegistryOpInputUnknown(uint256 op, uint256 input, uint256 tensorId);
/// A non-constant input that is neither the model input nor the output of an earlier op.
error ModelRegistryOpInputUndefined(uint256 op, uint256 input, uint256 tensorId);
error ModelRegistryOpOutputUnknown(uint256 op, uint256 tensorId);
error ModelRegistryOpOutputNotActivation(uint256 op, uint256 tensorId, uint256 kind);
error ModelRegistryOpOutputWrittenTwice(uint256 op, uint256 tensorId);
/// A constant that is input b of a matmul (committed column-major, src/engine/layout.ts) and is
/// also read in another role, here as input `input` of op `op` (or the reverse).
error ModelRegistryWeightRole(uint256 op, uint256 input, uint256 tensorId);

/// @title ModelCheck: the model root and the structure of a model, rebuilt from its descriptor.
/// @notice The structural rules of src/engine/validate.ts that the dispute game relies on: ops in
/// topological order, one writer per activation, every activation produced before it is read, so
/// that trace leaf k is op k's output and the last leaf is the model output; then every op's
/// types, attributes and output shape (OpShapes) and the committed layout of matmul weights. Only
/// the rules on constant values stay off chain (see OpShapes).
library ModelCheck {
    /// Protocol caps. A game move carries one op with its inputs and attributes and bisects over
    /// the ops, so these bound the calldata and gas of every move.
    uint256 internal constant MAX_OPS = 4096;
    uint256 internal constant MAX_TENSORS = 16384;
    uint256 internal constant MAX_OP_INPUTS = 16;
    uint256 internal constant MAX_OP_ATTRS = 16;
    /// Rank and element caps keep every index and byte count of the verifier far from overflow.
    uint256 internal constant MAX_RANK = 8;
    uint256 internal constant MAX_ELEMENTS = 2 ** 40;

    uint256 private constant INPUT = 0;
    uint256 private constant CONST = 1;
    uint256 private constant ACTIVATION = 2;
    uint256 private constant U8 = 0;
    uint256 private constant I8 = 1;
    uint256 private constant I32 = 2;

    /// The model root of `d` (docs/commitments.md) and its layout; reverts on any structural fault.
    function check(IModelRegistry.Descriptor calldata d)
        internal
        pure
        returns (bytes32 root, IModelRegistry.Layout memory l)
    {
        uint256 n = d.ops.length;
        uint256 m = d.tensors.length;
        if (n == 0) revert ModelRegistryNoOps();
        if (n > MAX_OPS) revert ModelRegistryTooManyOps(n, MAX_OPS);
        if (m > MAX_TENSORS) revert ModelRegistryTooManyTensors(m, MAX_TENSORS);
        bytes32[] memory leaves = new bytes32[](1 + n + m);
        leaves[0] = d.metaLeaf;
        uint256 input = checkTensors(d.tensors, leaves, 1 + n);
        checkOps(d.ops, d.tensors, input, leaves);

        // The caps keep every count below 2^40 (bytes per sample below 2^42), so the casts are exact.
        IModelRegistry.TensorLeaf calldata x = d.tensors[input];
        l.leafCount = uint64(1 + n + m);
        l.opCount = uint64(n);
        l.inputBytesPerSample = uint64(sampleElements(x.shape) * (x.dtype == I32 ? 4 : 1));
        l.outputBytesPerSample = uint64(sampleElements(d.tensors[d.ops[n - 1].output].shape));
        root = Commitments.wrap(Commitments.MODEL_TAG, Commitments.merkleRootInPlace(leaves), 1 + n + m);
    }

    /// Checks every tensor, writes its leaf at `offset + id`, and returns the model input's id.
    function checkTensors(IModelRegistry.TensorLeaf[] calldata tensors, bytes32[] memory leaves, uint256 offset)
        private
        pure
        returns (uint256 input)
    {
        uint256 inputs;
        for (uint256 i; i < tensors.length; ++i) {
            IModelRegistry.TensorLeaf calldata t = tensors[i];
            checkTensor(t, i);
            if (t.kind == INPUT) {
                input = i;
                ++inputs;
            }
            leaves[offset + i] = Commitments.tensorLeaf(t.id, t.kind, t.dtype, t.shape, t.zeroPoint, t.constRoot);
        }
        if (inputs != 1) revert ModelRegistryInputCount(inputs);
    }

    function checkTensor(IModelRegistry.TensorLeaf calldata t, uint256 i) private pure {
        // The leaf hashes its id, so an id that is not its index would let two leaves name one tensor.
        if (t.id != i) revert ModelRegistryTensorIdMismatch(i, t.id);
        if (t.kind > ACTIVATION) revert ModelRegistryTensorKindInvalid(i, t.kind);
        if (t.dtype > I32) revert ModelRegistryTensorDtypeInvalid(i, t.dtype);
        uint256 rank = t.shape.length;
        if (rank > MAX_RANK) revert ModelRegistryTensorRankTooHigh(i, rank, MAX_RANK);
        uint256 elements = 1;
        for (uint256 a; a < rank; ++a) {
            uint256 dim = t.shape[a];
            if (dim == 0) revert ModelRegistryTensorDimZero(i, a);
            if (dim >= MAX_ELEMENTS) revert ModelRegistryTensorTooLarge(i, dim, MAX_ELEMENTS);
            elements *= dim;
            if (elements >= MAX_ELEMENTS) revert ModelRegistryTensorTooLarge(i, elements, MAX_ELEMENTS);
        }
        if (t.kind == CONST) {
            // A constant's bytes are only ever proven against its constRoot; zero would open nothing.
            if (t.constRoot == 0) revert ModelRegistryConstRootMissing(i);
        } else {
            // The game binds inputs and activations to roots of the run, never to the model.
            if (t.constRoot != 0) revert ModelRegistryConstRootUnexpected(i, t.constRoot);
            // Dimension 0 is the batch: the model stores 1 and a run scales it.
            if (rank == 0 || t.shape[0] != 1) {
                revert ModelRegistryTensorBatchDimInvalid(i, rank, rank == 0 ? 0 : t.shape[0]);
            }
            if (t.kind == ACTIVATION && t.dtype != U8) revert ModelRegistryActivationNotU8(i, t.dtype);
            if (t.kind == INPUT && t.dtype == I8) revert ModelRegistryInputDtypeInvalid(i, t.dtype);
        }
        bool zeroPointOk = t.dtype == U8 ? t.zeroPoint >= 0 && t.zeroPoint <= 255 : t.zeroPoint == 0;
        if (!zeroPointOk) revert ModelRegistryZeroPointInvalid(i, t.dtype, t.zeroPoint);
    }

    /// Checks the ops in order against the tensors and writes op k's leaf at 1 + k.
    function checkOps(
        IModelRegistry.OpLeaf[] calldata ops,
        IModelRegistry.TensorLeaf[] calldata tensors,
        uint256 input,
        bytes32[] memory leaves
    ) private pure {
        uint256 m = tensors.length;
        // One bit per tensor: set once an op has written it.
        uint256[] memory written = new uint256[]((m >> 8) + 1);
        // One bit per constant: read as a matmul b (a weight), or read in any other role.
        uint256[] memory weights = new uint256[]((m >> 8) + 1);
        uint256[] memory others = new uint256[]((m >> 8) + 1);
        for (uint256 k; k < ops.length; ++k) {
            IModelRegistry.OpLeaf calldata op = ops[k];
            checkArity(op, k);
            for (uint256 j; j < op.inputs.length; ++j) {
                uint256 id = op.inputs[j];
                if (id >= m) revert ModelRegistryOpInputUnknown(k, j, id);
                if (tensors[id].kind != CONST && id != input && !isSet(written, id)) {
                    revert ModelRegistryOpInputUndefined(k, j, id);
                }
            }
            uint256 out = op.output;
            if (out >= m) revert ModelRegistryOpOutputUnknown(k, out);
            uint256 kind = tensors[out].kind;
            if (kind != ACTIVATION) revert ModelRegistryOpOutputNotActivation(k, out, kind);
            // INVARIANT: one writer per activation, so trace leaf k is the only value of op k's output.
            if (isSet(written, out)) revert ModelRegistryOpOutputWrittenTwice(k, out);
            written[out >> 8] |= uint256(1) << (out & 255);
            OpShapes.check(op, tensors, k);
            checkWeightRoles(op, tensors, k, weights, others);
            leaves[1 + k] = Commitments.opLeaf(op.code, op.inputs, op.output, op.attrs);
        }
    }

    /// A matmul weight is committed column by column, so a proof of any other op (or of another
    /// input) would read its bytes in the wrong order: such a constant may only be a matmul b.
    function checkWeightRoles(
        IModelRegistry.OpLeaf calldata op,
        IModelRegistry.TensorLeaf[] calldata tensors,
        uint256 k,
        uint256[] memory weights,
        uint256[] memory others
    ) private pure {
        for (uint256 j; j < op.inputs.length; ++j) {
            uint256 id = op.inputs[j];
            if (tensors[id].kind != CONST) continue;
            bool weight = op.code == 2 && j == 1;
            if (isSet(weight ? others : weights, id)) revert ModelRegistryWeightRole(k, j, id);
            uint256[] memory mine = weight ? weights : others;
            mine[id >> 8] |= uint256(1) << (id & 255);
        }
    }

    function checkArity(IModelRegistry.OpLeaf calldata op, uint256 k) private pure {
        uint256 code = op.code;
        if (code == 0 || code > 14) revert ModelRegistryOpCodeUnknown(k, code);
        uint256 inputs = op.inputs.length;
        uint256 attrs = op.attrs.length;
        if (inputs > MAX_OP_INPUTS) revert ModelRegistryOpTooManyInputs(k, inputs, MAX_OP_INPUTS);
        if (attrs > MAX_OP_ATTRS) revert ModelRegistryOpTooManyAttrs(k, attrs, MAX_OP_ATTRS);
        (, uint256 wantInputs, uint256 wantAttrs) = OpArity.ofCode(code);
        bool inputsOk = wantInputs == OpArity.ANY ? inputs != 0 : inputs == wantInputs;
        if (!inputsOk || (wantAttrs != OpArity.ANY && attrs != wantAttrs)) {
            revert ModelRegistryOpArityInvalid(k, code, inputs, attrs);
        }
    }

    function isSet(uint256[] memory bits, uint256 i) private pure returns (bool) {
        return bits[i >> 8] & (uint256(1) << (i & 255)) != 0;
    }

    /// Elements of one batch row: the product of shape[1:] (rank >= 1, checked above).
    function sampleElements(uint256[] calldata shape) private pure returns (uint256 p) {
        p = 1;
        for (uint256 a = 1; a < shape.length; ++a) {
            p *= shape[a];
        }
    }
}
