// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Commitments} from "../../game/Commitments.sol";
import {MerkleTree} from "../../lib/MerkleTree.sol";

/// @title BatchPages: a batch's leaves in pages of PAGE_SIZE, each proven against the batch root.
/// @notice The batch tree is the zero-padded tree of Commitments. Page p holds leaves
/// [p·PAGE_SIZE, min(count, (p+1)·PAGE_SIZE)); its subtree has width min(PAGE_SIZE, 2^depth(count)),
/// so the last page is padded with zero leaves exactly as the batch tree is, and its root is
/// node p at that height, proven with depth(count) − log2(width) siblings.
library BatchPages {
    uint256 internal constant PAGE_BITS = 8;
    uint256 internal constant PAGE_SIZE = 1 << PAGE_BITS;

    function pageCount(uint256 count) internal pure returns (uint256) {
        return (count + PAGE_SIZE - 1) >> PAGE_BITS;
    }

    /// How many leaves page `page` of a `count`-leaf batch holds (0 past the last page).
    function pageLength(uint256 count, uint256 page) internal pure returns (uint256) {
        uint256 start = page << PAGE_BITS;
        if (start >= count) return 0;
        return count - start < PAGE_SIZE ? count - start : PAGE_SIZE;
    }

    /// Whether `hashes` (the page's leaf hashes, zero-padded to the subtree width) root page `page`
    /// of the tree `root` over `count` leaves. Overwrites `hashes`.
    function verify(bytes32 root, uint256 count, uint256 page, bytes32[] memory hashes, bytes32[] calldata proof)
        internal
        pure
        returns (bool)
    {
        uint256 depth = MerkleTree.depth(count);
        uint256 pageDepth = depth < PAGE_BITS ? depth : PAGE_BITS;
        if (hashes.length != 1 << pageDepth || proof.length != depth - pageDepth) return false;
        return MerkleTree.fold(Commitments.merkleRootInPlace(hashes), page, proof) == root;
    }

    /// The subtree width of a page: PAGE_SIZE, or the whole tree when it is smaller.
    function width(uint256 count) internal pure returns (uint256) {
        uint256 depth = MerkleTree.depth(count);
        return 1 << (depth < PAGE_BITS ? depth : PAGE_BITS);
    }
}
