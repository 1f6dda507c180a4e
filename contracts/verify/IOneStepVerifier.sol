// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;
interface IOneStepVerifier {
    struct ChunkProof { uint256 index; bytes chunk; bytes32[] siblings; }
    /// A tensor of the model: its leaf in the model tree, and chunks of its bytes.
    struct TensorOpening {
        uint256 id; uint256 kind; uint256 dtype; uint256[] shape; int256 zeroPoint; bytes32 constRoot;
        bytes32[] leafSiblings;   // proof of the tensor leaf at index 1 + opCount + id in the model tree
        bytes32 root;             // tensor root the chunks open: constRoot for constants; for inputs/activations supplied by the caller
        uint256 byteLength;
        ChunkProof[] chunks;      // only the chunks the element needs, any order, no duplicates needed
    }
    struct OpOpening {
        uint256 index; uint256 code; uint256[] inputs; uint256 output; int256[] attrs;
        bytes32[] leafSiblings;   // proof of the op leaf at index 1 + index in the model tree
    }
    struct Step {
        bytes32 modelRoot; uint256 modelLeafCount; uint256 opCount;
        OpOpening op;
        TensorOpening[] inputs;   // one per op.inputs entry, same order
        TensorOpening output;     // descriptor of op.output (chunks empty)
        uint256 batch;            // batch size of the run (activation dim 0)
        uint256 element;          // flat index into op k's output
    }
    /// Recomputes output element `element` of op `op.index`. Reverts with a named custom error if
    /// any proof or descriptor is wrong. Returns the value and, for every input, the tensor root it
    /// was opened against (bytes32(0) for constants) so the caller can check that it equals the
    /// agreed root (task input root or the producing op's agreed output root).
    function computeElement(Step calldata step) external view returns (uint256 value, bytes32[] memory inputRoots);
    /// The number S of channel segments that op `step.op` splits its reduction into (0 when one
    /// computeElement step checks it), fixed by the model (contracts/verify/ConvSegments.sol).
    /// Checks the openings like computeElement; reads no chunk.
    function segmentCount(Step calldata step) external view returns (uint256 segments);
    /// One step of a split reduction of output element `element`: for segment < S, `acc` (the prefix
    /// sum after the segments before it, 0 before the first) plus the sum over segment's taps; for
    /// segment = S, the output value requantized from the whole sum `acc` (bias added). Needs only
    /// the chunks that step reads. inputRoots as for computeElement.
    function computeSegment(Step calldata step, uint256 segment, int256 acc)
        external
        view
        returns (int256 value, bytes32[] memory inputRoots);
}
