// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// A node the index should hold is missing: the registry's bookkeeping and its index disagree.
error AgentRegistryIndexMissingAgent(uint256 id);

/// @title VerifierIndex: the auditors of one model, ordered by bonded stake, for exact
/// stake-weighted draws.
/// @notice An AVL tree keyed by (bonded stake, agent id). Each node weighs its stake + 1 wei (so no
/// member ever weighs nothing) and stores the weight of its subtree, so the weight before any agent
/// and the agent at any unit of weight are each one walk from the root. AVL height is at most
/// 1.44 log2(n + 2), so every insert, remove and draw touches O(log n) nodes whatever the keys: an
/// attacker choosing addresses or stakes cannot unbalance it. A node is one storage slot; ids are
/// uint24 and weights uint96 (2^96 wei exceeds the ether supply).
library VerifierIndex {
    /// One storage slot (24 + 24 + 8 + 8 + 96 + 96 bits). The children's heights are kept here so
    /// that a walk never reads a sibling to rebalance, and weights change by deltas along the path.
    struct Node {
        uint24 left;
        uint24 right;
        uint8 leftHeight;
        uint8 rightHeight;
        uint96 stake;
        /// Σ (stake + 1) over the subtree rooted here.
        uint96 weight;
    }

    struct Tree {
        uint24 root;
        uint8 rootHeight;
        mapping(uint24 id => Node) nodes;
    }

    function insert(Tree storage t, uint24 id, uint96 stake) internal {
        (t.root, t.rootHeight) = _insert(t, t.root, id, stake);
    }

    function remove(Tree storage t, uint24 id, uint96 stake) internal {
        (t.root, t.rootHeight) = _remove(t, t.root, id, stake);
    }

    /// Σ (stake + 1) over the whole tree.
    function total(Tree storage t) internal view returns (uint256) {
        return t.nodes[t.root].weight;
    }

    function height(Tree storage t) internal view returns (uint256) {
        return t.rootHeight;
    }

    /// Σ (stake + 1) over the agents ordered before (stake, id).
    function weightBefore(Tree storage t, uint24 id, uint96 stake) internal view returns (uint256 sum) {
        uint24 n = t.root;
        while (n != 0) {
            Node storage x = t.nodes[n];
            if (_less(x.stake, n, stake, id)) {
                sum += uint256(t.nodes[x.left].weight) + x.stake + 1;
                n = x.right;
            } else {
                n = x.left;
            }
        }
    }

    /// The agent whose weight interval [before, before + stake + 1) holds `unit` (unit < total).
    function agentAtUnit(Tree storage t, uint256 unit) internal view returns (uint24) {
        uint24 n = t.root;
        while (n != 0) {
            Node storage x = t.nodes[n];
            uint256 leftWeight = t.nodes[x.left].weight;
            if (unit < leftWeight) {
                n = x.left;
                continue;
            }
            unit -= leftWeight;
            uint256 own = uint256(x.stake) + 1;
            if (unit < own) return n;
            unit -= own;
            n = x.right;
        }
        revert AgentRegistryIndexMissingAgent(0);
    }

    // ---- AVL internals (recursion depth is the tree height) ----

    function _less(uint96 aStake, uint24 aId, uint96 bStake, uint24 bId) private pure returns (bool) {
        return aStake < bStake || (aStake == bStake && aId < bId);
    }

    function _max(uint8 a, uint8 b) private pure returns (uint8) {
        return a > b ? a : b;
    }

    /// Inserts under n; returns the new subtree root and its height.
    function _insert(Tree storage t, uint24 n, uint24 id, uint96 stake) private returns (uint24, uint8) {
        if (n == 0) {
            // stake + 1 < 2^96 because the registry caps stake at 2^96 - 2.
            t.nodes[id] = Node({left: 0, right: 0, leftHeight: 0, rightHeight: 0, stake: stake, weight: stake + 1});
            return (id, 1);
        }
        Node memory x = t.nodes[n];
        // The subtree weight stays below Σ (stake + 1) over all agents < 2^96 (ether supply).
        x.weight += stake + 1;
        if (_less(stake, id, x.stake, n)) (x.left, x.leftHeight) = _insert(t, x.left, id, stake);
        else (x.right, x.rightHeight) = _insert(t, x.right, id, stake);
        return _balance(t, n, x);
    }

    /// Removes (stake, id) from under n; returns the new subtree root and its height.
    function _remove(Tree storage t, uint24 n, uint24 id, uint96 stake) private returns (uint24, uint8) {
        if (n == 0) revert AgentRegistryIndexMissingAgent(id);
        Node memory x = t.nodes[n];
        if (n == id) {
            delete t.nodes[n];
            if (x.left == 0) return (x.right, x.rightHeight);
            if (x.right == 0) return (x.left, x.leftHeight);
            (uint24 rest, uint8 restHeight, uint24 successor) = _removeMin(t, x.right);
            Node memory s = t.nodes[successor];
            s.left = x.left;
            s.leftHeight = x.leftHeight;
            s.right = rest;
            s.rightHeight = restHeight;
            s.weight = x.weight - x.stake - 1;
            return _balance(t, successor, s);
        }
        x.weight -= stake + 1;
        if (_less(stake, id, x.stake, n)) (x.left, x.leftHeight) = _remove(t, x.left, id, stake);
        else (x.right, x.rightHeight) = _remove(t, x.right, id, stake);
        return _balance(t, n, x);
    }

    /// Detaches the leftmost node under n (its slot is left as is, for the caller to reuse).
    function _removeMin(Tree storage t, uint24 n) private returns (uint24 root, uint8 h, uint24 min) {
        Node memory x = t.nodes[n];
        if (x.left == 0) return (x.right, x.rightHeight, n);
        (x.left, x.leftHeight, min) = _removeMin(t, x.left);
        x.weight -= t.nodes[min].stake + 1;
        (root, h) = _balance(t, n, x);
    }

    /// Writes node n (whose children and weight are up to date in x), rotating if one side is two
    /// levels taller; returns the subtree root and its height.
    function _balance(Tree storage t, uint24 n, Node memory x) private returns (uint24, uint8) {
        if (x.leftHeight > x.rightHeight + 1) {
            uint24 l = x.left;
            Node memory ln = t.nodes[l];
            if (ln.rightHeight > ln.leftHeight) {
                (x.left, x.leftHeight) = _rotateLeft(t, l, ln, t.nodes[ln.right]);
                ln = t.nodes[x.left];
            }
            return _rotateRight(t, n, x, ln);
        }
        if (x.rightHeight > x.leftHeight + 1) {
            uint24 r = x.right;
            Node memory rn = t.nodes[r];
            if (rn.leftHeight > rn.rightHeight) {
                (x.right, x.rightHeight) = _rotateRight(t, r, rn, t.nodes[rn.left]);
                rn = t.nodes[x.right];
            }
            return _rotateLeft(t, n, x, rn);
        }
        t.nodes[n] = x;
        return (n, _max(x.leftHeight, x.rightHeight) + 1);
    }

    /// y with left child l: l becomes the subtree root, y its right child, l's right subtree y's left.
    function _rotateRight(Tree storage t, uint24 y, Node memory yn, Node memory ln) private returns (uint24, uint8) {
        uint24 l = yn.left;
        uint96 subtreeWeight = yn.weight;
        uint24 middle = ln.right;
        yn.left = middle;
        yn.leftHeight = ln.rightHeight;
        yn.weight = subtreeWeight - ln.weight + t.nodes[middle].weight;
        ln.right = y;
        ln.rightHeight = _max(yn.leftHeight, yn.rightHeight) + 1;
        ln.weight = subtreeWeight;
        t.nodes[y] = yn;
        t.nodes[l] = ln;
        return (l, _max(ln.leftHeight, ln.rightHeight) + 1);
    }

    /// Mirror of _rotateRight.
    function _rotateLeft(Tree storage t, uint24 y, Node memory yn, Node memory rn) private returns (uint24, uint8) {
        uint24 r = yn.right;
        uint96 subtreeWeight = yn.weight;
        uint24 middle = rn.left;
        yn.right = middle;
        yn.rightHeight = rn.leftHeight;
        yn.weight = subtreeWeight - rn.weight + t.nodes[middle].weight;
        rn.left = y;
        rn.leftHeight = _max(yn.leftHeight, yn.rightHeight) + 1;
        rn.weight = subtreeWeight;
        t.nodes[y] = yn;
        t.nodes[r] = rn;
        return (r, _max(rn.leftHeight, rn.rightHeight) + 1);
    }
}
