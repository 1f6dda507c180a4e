// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IVerinferConsumer} from "../interfaces/IVerinferConsumer.sol";

/// Records the last result it received (the well-behaved consumer of the tests).
contract RecordingConsumer is IVerinferConsumer {
    bytes32 public lastTaskId;
    bytes32 public lastOutputRoot;
    bytes public lastOutput;
    uint256 public calls;

    function onVerinferResult(bytes32 taskId, bytes32 outputRoot, bytes calldata output) external {
        lastTaskId = taskId;
        lastOutputRoot = outputRoot;
        lastOutput = output;
        calls += 1;
    }
}

/// Always reverts.
contract RevertingConsumer is IVerinferConsumer {
    error RevertingConsumerNo();

    function onVerinferResult(bytes32, bytes32, bytes calldata) external pure {
        revert RevertingConsumerNo();
    }
}

/// Burns all the gas it gets, then returns a large revert payload.
contract GasBurningConsumer is IVerinferConsumer {
    function onVerinferResult(bytes32, bytes32, bytes calldata) external view {
        uint256 x;
        while (gasleft() > 2_000) x += 1;
        assembly {
            revert(0, 100000)
        }
    }
}

/// Tries to re-enter the market during its callback: `data` is a full call (e.g. finalize or
/// withdraw) made with this contract as msg.sender. Records whether the re-entry succeeded.
contract ReentrantConsumer is IVerinferConsumer {
    address public target;
    bytes public data;
    bool public reentered;
    bytes public reentryError;

    function arm(address target_, bytes calldata data_) external {
        target = target_;
        data = data_;
    }

    function onVerinferResult(bytes32, bytes32, bytes calldata) external {
        (bool ok, bytes memory err) = target.call(data);
        reentered = ok;
        reentryError = err;
        // Surface a failed re-entry to the test through storage, then keep the callback successful.
    }

    receive() external payable {}
}
