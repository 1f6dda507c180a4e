// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ConvStep} from "../onestep/ConvStep.sol";
import {LayerNormStep} from "../onestep/LayerNormStep.sol";
import {MatMulStep} from "../onestep/MatMulStep.sol";
import {Requant} from "../onestep/Requant.sol";
import {SoftmaxStep} from "../onestep/SoftmaxStep.sol";
import {OneStepHarness} from "./OneStepHarness.sol";

/// @title OneStepGasProbe: the gas of single one-step computations (test/chain/gas.test.ts).
/// @notice Each function returns its result and `gasUsed`, measured with gasleft() around the
/// library call only: the operands are already in memory, as after a verifier's proof checks.
contract OneStepGasProbe {
    function conv(OneStepHarness.ConvCase memory c) external view returns (uint256 y, uint256 gasUsed) {
        uint256 g0 = gasleft();
        y = ConvStep.element(c.g, c.oy, c.ox, c.xTaps, c.wTaps, c.zx, c.bias, c.q);
        gasUsed = g0 - gasleft();
    }

    function matmul(OneStepHarness.MatMulCase memory c) external view returns (uint256 y, uint256 gasUsed) {
        uint256 g0 = gasleft();
        y = MatMulStep.element(c.a, c.b, c.bSigned, c.za, c.zb, c.bias, c.q);
        gasUsed = g0 - gasleft();
    }

    /// One partial-sum step P(k1) = accumulate(P(k0), a[k0:k1], b[k0:k1]).
    function matmulStep(int256 acc, bytes memory a, bytes memory b, bool bSigned, int256 za, int256 zb)
        external
        view
        returns (int256 next, uint256 gasUsed)
    {
        uint256 g0 = gasleft();
        next = MatMulStep.accumulate(acc, a, b, bSigned, za, zb);
        gasUsed = g0 - gasleft();
    }

    function matmulFinish(int256 acc, Requant.Params memory q) external view returns (uint256 y, uint256 gasUsed) {
        uint256 g0 = gasleft();
        y = MatMulStep.finish(acc, q);
        gasUsed = g0 - gasleft();
    }

    function softmaxRow(bytes memory row, uint256 i, bytes memory expTable)
        external
        view
        returns (uint256 y, uint256 gasUsed)
    {
        uint256 g0 = gasleft();
        y = SoftmaxStep.rowElement(row, i, expTable);
        gasUsed = g0 - gasleft();
    }

    /// The segmented path: gas of the max step, the sum step and the element step.
    function softmaxSteps(bytes memory row, uint256 i, bytes memory expTable)
        external
        view
        returns (uint256 y, uint256[3] memory gasUsed)
    {
        uint256 g0 = gasleft();
        uint256 m = SoftmaxStep.maxStep(0, row);
        uint256 g1 = gasleft();
        int256 S = SoftmaxStep.sumStep(0, row, m, expTable);
        uint256 g2 = gasleft();
        y = SoftmaxStep.element(uint8(row[i]), m, expTable, S);
        gasUsed = [g0 - g1, g1 - g2, g2 - gasleft()];
    }

    function layernormRow(OneStepHarness.LayerNormCase memory c) external view returns (uint256 y, uint256 gasUsed) {
        uint256 g0 = gasleft();
        y = LayerNormStep.rowElement(c.row, c.i, c.gamma, c.beta, c.p);
        gasUsed = g0 - gasleft();
    }

    /// The segmented path: gas of the S step, the Q step, and sigma plus the element step.
    function layernormSteps(OneStepHarness.LayerNormCase memory c)
        external
        view
        returns (uint256 y, uint256[3] memory gasUsed)
    {
        uint256 g = gasleft();
        int256 S = LayerNormStep.sumStep(0, c.row, c.p.zx);
        gasUsed[0] = g - gasleft();
        g = gasleft();
        int256 Q = LayerNormStep.squareStep(0, c.row, c.p.zx, c.row.length, S);
        gasUsed[1] = g - gasleft();
        g = gasleft();
        y = layernormElement(c, S, Q);
        gasUsed[2] = g - gasleft();
    }

    function layernormElement(OneStepHarness.LayerNormCase memory c, int256 S, int256 Q)
        private
        pure
        returns (uint256)
    {
        uint256 D = c.row.length;
        int256 sig = LayerNormStep.sigma(Q, D, c.p.eps);
        return LayerNormStep.element(uint8(c.row[c.i]), D, S, sig, c.gamma, c.beta, c.p);
    }
}
