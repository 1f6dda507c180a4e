// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title MerkleTree: the keccak256 tree shape of every Verinfer commitment (docs/commitments.md).
/// @notice Leaves padded with zero hashes to a power of two; parent = keccak256(left ‖ right);
/// a root is wrapped as keccak256(tag ‖ root ‖ uint64be(n)) (41 bytes, never confused with an
/// inner node).
library MerkleTree {
    /// The number of levels above n leaves: the least d with 2^d >= n (0 for one leaf).
    function depth(uint256 n) internal pure returns (uint256 d) {
        while ((uint256(1) << d) < n) ++d;
    }

    /// keccak256(a ‖ b).
    function hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            mstore(0x00, a)
            mstore(0x20, b)
            h := keccak256(0x00, 0x40)
        }
    }

    /// The root above `leaf` at `index`, given its siblings from the leaf up.
    function fold(bytes32 leaf, uint256 index, bytes32[] calldata siblings) internal pure returns (bytes32 node) {
        node = leaf;
        for (uint256 k; k < siblings.length; ++k) {
            node = index & 1 == 1 ? hashPair(siblings[k], node) : hashPair(node, siblings[k]);
            index >>= 1;
        }
    }

    /// keccak256(tag ‖ root ‖ uint64be(n)), 41 bytes; n < 2^64 (checked by the callers).
    function wrap(uint8 tag, bytes32 root, uint256 n) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            // Scratch memory past the free memory pointer; nothing is allocated.
            let p := mload(0x40)
            mstore8(p, tag)
            mstore(add(p, 1), root)
            mstore(add(p, 33), shl(192, n))
            h := keccak256(p, 41)
        }
    }
}
