// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// A model registry in which every root is registered: for AgentRegistry tests that need
/// served models but no real model descriptors.
contract TestModelRegistry {
    function isRegistered(bytes32) external pure returns (bool) {
        return true;
    }
}
