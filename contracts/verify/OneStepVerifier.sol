// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IOneStepVerifier} from "./IOneStepVerifier.sol";
import {LinearOps} from "./LinearOps.sol";
import {MoveOps} from "./MoveOps.sol";
import {OpContext} from "./OpContext.sol";
import {PointOps} from "./PointOps.sol";
import {ReductionVerifier} from "./ReductionVerifier.sol";
import {StepOpening} from "./StepOpening.sol";

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
/// A conv, avgpool or reducemean whose element reads too many input chunks or sums too many taps
/// for one step (ConvSegments, PoolSegments, ReduceSegments) is also checked as a chain of partial sums over segments of its reduction:
/// segmentCount and computeSegment. Those and conv's computeElement run in a ReductionVerifier this
/// contract creates (together they would not fit the EIP-170 code size limit).
contract OneStepVerifier is IOneStepVerifier, StepOpening {
    uint256 private constant CONV = 1;

    /// Runs conv's computeElement, segmentCount and computeSegment (the calldata is forwarded).
    address public immutable reductionVerifier;

    constructor() {
        reductionVerifier = address(new ReductionVerifier());
    }

    /// @inheritdoc IOneStepVerifier
    function computeElement(Step calldata step)
        external
        view
        override
        returns (uint256 value, bytes32[] memory inputRoots)
    {
        if (step.op.code == CONV) forward();
        OpContext.Ctx memory c;
        (c, inputRoots) = openStep(step);
        value = run(c);
    }

    /// @inheritdoc IOneStepVerifier
    function segmentCount(Step calldata) external view override returns (uint256) {
        forward();
    }

    /// @inheritdoc IOneStepVerifier
    function computeSegment(Step calldata, uint256, int256)
        external
        view
        override
        returns (int256, bytes32[] memory)
    {
        forward();
    }

    /// Calls reductionVerifier with this call's calldata (same selectors, same ABI) and returns or
    /// reverts with its return data, so callers see its named errors unchanged. The copy and the
    /// call cost a few thousand gas, against steps of up to a million.
    function forward() private view {
        address target = reductionVerifier;
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, 0, calldatasize())
            let ok := staticcall(gas(), target, p, calldatasize(), 0, 0)
            returndatacopy(p, 0, returndatasize())
            if iszero(ok) { revert(p, returndatasize()) }
            return(p, returndatasize())
        }
    }

    function run(OpContext.Ctx memory c) private pure returns (uint256) {
        uint256 code = c.code;
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
