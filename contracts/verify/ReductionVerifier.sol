// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IOneStepVerifier} from "./IOneStepVerifier.sol";
import {LinearOps} from "./LinearOps.sol";
import {OneStepBadSegment, OneStepUnknownOp} from "./OneStepErrors.sol";
import {OpContext} from "./OpContext.sol";
import {PointOps} from "./PointOps.sol";
import {StepOpening} from "./StepOpening.sol";

/// @title ReductionVerifier: the steps of IOneStepVerifier with the largest code: computeElement of
/// a conv, and the partial-sum steps (segmentCount, computeSegment) of a reduction split into
/// model-fixed segments: conv over input channels (ConvSegments), avgpool over its kernel rows
/// (PoolSegments) and reducemean over its reduced axis (ReduceSegments).
/// @notice OneStepVerifier creates it and forwards those calls to it unchanged (same selectors and
/// ABI), so that neither contract comes near the EIP-170 code size limit. It opens a Step exactly
/// as OneStepVerifier does (StepOpening).
contract ReductionVerifier is StepOpening {
    uint256 private constant CONV = 1;
    uint256 private constant AVGPOOL = 6;
    uint256 private constant REDUCEMEAN = 7;

    /// IOneStepVerifier.computeElement of a conv.
    function computeElement(IOneStepVerifier.Step calldata step)
        external
        pure
        returns (uint256 value, bytes32[] memory inputRoots)
    {
        OpContext.Ctx memory c;
        (c, inputRoots) = openStep(step);
        if (c.code != CONV) revert OneStepUnknownOp(c.code);
        value = LinearOps.conv(c);
    }

    /// IOneStepVerifier.segmentCount.
    function segmentCount(IOneStepVerifier.Step calldata step) external pure returns (uint256 segments) {
        (OpContext.Ctx memory c,) = openStep(step);
        if (c.code == CONV) (, segments) = LinearOps.convSegments(c);
        else if (c.code == AVGPOOL) (, segments) = PointOps.avgpoolSegments(c);
        else if (c.code == REDUCEMEAN) (, segments) = PointOps.reducemeanSegments(c);
    }

    /// IOneStepVerifier.computeSegment.
    function computeSegment(IOneStepVerifier.Step calldata step, uint256 segment, int256 acc)
        external
        pure
        returns (int256 value, bytes32[] memory inputRoots)
    {
        OpContext.Ctx memory c;
        (c, inputRoots) = openStep(step);
        if (c.code == CONV) value = LinearOps.convSegment(c, segment, acc);
        else if (c.code == AVGPOOL) value = PointOps.avgpoolSegment(c, segment, acc);
        else if (c.code == REDUCEMEAN) value = PointOps.reducemeanSegment(c, segment, acc);
        else revert OneStepBadSegment(segment, 0);
    }
}
