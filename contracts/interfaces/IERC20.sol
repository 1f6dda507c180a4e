// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// The subset of ERC-20 that the markets use.
interface IERC20 {
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function balanceOf(address account) external view returns (uint256);
}
