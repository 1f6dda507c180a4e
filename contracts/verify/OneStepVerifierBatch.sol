// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IOneStepVerifier} from "./IOneStepVerifier.sol";

/// @title OneStepVerifierBatch: many computeElement calls in one eth_call (differential tests and
/// off-chain checks). Each step runs as its own external call, so a revert is caught and returned
/// as revert data instead of failing the batch. gasUsed is the gas of the call itself (execution
/// and ABI decoding inside the verifier, without the transaction's intrinsic and calldata cost).
contract OneStepVerifierBatch {
    IOneStepVerifier public immutable verifier;

    struct Result {
        bool ok;
        uint256 value;
        uint256 gasUsed;
        bytes32[] inputRoots;
        bytes revertData;
    }

    constructor(IOneStepVerifier verifier_) {
        verifier = verifier_;
    }

    function computeMany(IOneStepVerifier.Step[] calldata steps) external view returns (Result[] memory results) {
        results = new Result[](steps.length);
        for (uint256 i; i < steps.length; ++i) {
            uint256 before = gasleft();
            try verifier.computeElement(steps[i]) returns (uint256 value, bytes32[] memory roots) {
                results[i] = Result(true, value, before - gasleft(), roots, "");
            } catch (bytes memory data) {
                results[i] = Result(false, 0, before - gasleft(), new bytes32[](0), data);
            }
        }
    }
}
