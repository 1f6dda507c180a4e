// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Packed: elements of tensors in their committed byte encoding (docs/commitments.md).
/// @notice u8 and i8 take one byte (i8 in two's complement), i32 takes four bytes, big-endian
/// two's complement. A chunk proof yields such bytes, so the one-step libraries take `bytes`.
///
/// The `...At` readers skip the bounds check: they are for loops whose bound is the length.
library Packed {
    error OutOfRange(uint256 index, uint256 length);
    error ZeroPointOutOfRange(int256 zeroPoint);

    /// The u8 element at `i`.
    function u8(bytes memory b, uint256 i) internal pure returns (int256) {
        if (i >= b.length) revert OutOfRange(i, b.length);
        return int256(u8At(b, i));
    }

    /// The i8 element at `i`.
    function i8(bytes memory b, uint256 i) internal pure returns (int256) {
        if (i >= b.length) revert OutOfRange(i, b.length);
        return i8At(b, i);
    }

    /// The i32 element at `i` (bytes 4i .. 4i+3, big-endian).
    function i32(bytes memory b, uint256 i) internal pure returns (int256 v) {
        if (b.length / 4 <= i) revert OutOfRange(i, b.length / 4);
        assembly ("memory-safe") {
            // The top 4 bytes of the 32-byte word at element i, sign-extended from bit 31.
            v := signextend(3, shr(224, mload(add(add(b, 32), mul(i, 4)))))
        }
    }

    /// The u8 element at `i`; the caller guarantees i < b.length.
    function u8At(bytes memory b, uint256 i) internal pure returns (uint256 v) {
        assembly ("memory-safe") {
            v := byte(0, mload(add(add(b, 32), i)))
        }
    }

    /// The i8 element at `i`; the caller guarantees i < b.length.
    function i8At(bytes memory b, uint256 i) internal pure returns (int256 v) {
        assembly ("memory-safe") {
            v := signextend(0, byte(0, mload(add(add(b, 32), i))))
        }
    }

    /// The u8 (signed = false) or i8 (signed = true) element at `i`; the caller guarantees i < b.length.
    function byteAt(bytes memory b, uint256 i, bool signed) internal pure returns (int256) {
        return signed ? i8At(b, i) : int256(u8At(b, i));
    }

    /// Reverts unless 0 <= z <= 255, the zero-point range of every u8 tensor (i8 tensors have 0).
    /// With it, (x - z) of a byte x lies in [-383, 255], which bounds every unchecked sum below.
    function checkZeroPoint(int256 z) internal pure {
        if (z < 0 || z > 255) revert ZeroPointOutOfRange(z);
    }
}
