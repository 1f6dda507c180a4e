// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "../../interfaces/IERC20.sol";

/// A native transfer to `to` failed.
error SafeTransferNativeFailed(address to, uint256 amount);
/// An ERC-20 transfer or transferFrom failed or returned false.
error SafeTransferTokenFailed(address token, address to, uint256 amount);

/// @title SafeTransfer: native and ERC-20 transfers that revert on failure (tokens that return
/// nothing are accepted, as with OpenZeppelin's SafeERC20).
library SafeTransfer {
    /// The burn address: no code, no key. Burnt native value is sent here.
    address internal constant BURN = 0x000000000000000000000000000000000000dEaD;

    function sendNative(address to, uint256 amount) internal {
        if (amount == 0) return;
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert SafeTransferNativeFailed(to, amount);
    }

    function send(address token, address to, uint256 amount) internal {
        if (amount == 0) return;
        if (token == address(0)) return sendNative(to, amount);
        _call(token, to, amount, abi.encodeCall(IERC20.transfer, (to, amount)));
    }

    /// Pulls `amount` of `token` from `from` and returns what actually arrived (fee-on-transfer tokens send less).
    function pull(address token, address from, uint256 amount) internal returns (uint256 received) {
        uint256 before = IERC20(token).balanceOf(address(this));
        _call(token, address(this), amount, abi.encodeCall(IERC20.transferFrom, (from, address(this), amount)));
        received = IERC20(token).balanceOf(address(this)) - before;
    }

    function _call(address token, address to, uint256 amount, bytes memory data) private {
        (bool ok, bytes memory ret) = token.call(data);
        if (!ok || token.code.length == 0 || (ret.length != 0 && (ret.length < 32 || !abi.decode(ret, (bool))))) {
            revert SafeTransferTokenFailed(token, to, amount);
        }
    }
}
