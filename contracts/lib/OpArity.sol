// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title OpArity: the inputs and attributes of each op code (src/engine/graph.ts OP_CODES and
/// src/commit/modelRoot.ts opAttributes). The registry checks models against it and the one-step
/// verifier checks ops against it, so an op the registry accepts can always be stepped.
library OpArity {
    /// Any number (reshape and transpose attributes, concat inputs).
    uint256 internal constant ANY = type(uint256).max;

    /// (known, inputs, attrs) of op `code`; known is false for a code no op has.
    function ofCode(uint256 code) internal pure returns (bool known, uint256 inputs, uint256 attrs) {
        if (code == 1) return (true, 5, 11); // conv
        if (code == 2) return (true, 5, 2); // matmul
        if (code == 3) return (true, 2, 5); // add
        if (code == 4) return (true, 2, 0); // lut
        if (code == 5) return (true, 1, 8); // maxpool
        if (code == 6) return (true, 1, 11); // avgpool
        if (code == 7) return (true, 1, 4); // reducemean
        if (code == 8) return (true, 2, 0); // softmax
        if (code == 9) return (true, 3, 5); // layernorm
        if (code == 10) return (true, 2, 0); // gather
        if (code == 11) return (true, 1, ANY); // reshape: the target shape
        if (code == 12) return (true, 1, ANY); // transpose: perm (checked against the rank)
        if (code == 13) return (true, ANY, 1); // concat: at least one input
        if (code == 14) return (true, 2, 4); // mul
        return (false, 0, 0);
    }
}
