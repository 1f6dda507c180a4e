// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// A contract account for the tests: its owner sends calls through it, and it answers EIP-1271 for
/// one signer key, which the owner may rotate (or set to zero to reject every signature).
contract TestWallet {
    error TestWalletNotOwner(address caller);
    error TestWalletCallFailed(bytes reason);

    bytes4 internal constant EIP1271_MAGIC = 0x1626ba7e;
    address public immutable owner;
    address public signer;

    constructor(address signer_) {
        owner = msg.sender;
        signer = signer_;
    }

    function setSigner(address signer_) external {
        if (msg.sender != owner) revert TestWalletNotOwner(msg.sender);
        signer = signer_;
    }

    function execute(address target, uint256 value, bytes calldata data) external payable returns (bytes memory) {
        if (msg.sender != owner) revert TestWalletNotOwner(msg.sender);
        (bool ok, bytes memory ret) = target.call{value: value}(data);
        if (!ok) revert TestWalletCallFailed(ret);
        return ret;
    }

    function isValidSignature(bytes32 digest, bytes calldata signature) external view returns (bytes4) {
        if (signature.length != 65 || signer == address(0)) return 0xffffffff;
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        return ecrecover(digest, v, r, s) == signer ? EIP1271_MAGIC : bytes4(0xffffffff);
    }

    receive() external payable {}
}
