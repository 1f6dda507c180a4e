// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// A call re-entered a guarded function of `target` (directly or through a callback).
error ReentrancyGuardReentered(address target);

/// @title ReentrancyGuard: one transient lock per contract (EIP-1153, cleared after every transaction).
abstract contract ReentrancyGuard {
    bool private transient _entered;

    modifier nonReentrant() {
        if (_entered) revert ReentrancyGuardReentered(address(this));
        _entered = true;
        _;
        _entered = false;
    }
}
