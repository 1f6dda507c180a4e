// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IModelRegistry: models by model root, with version lineage and the layout the dispute game needs.
interface IModelRegistry {
    struct ModelInfo {
        string name;
        string version;
        /// The model root of the previous version, or bytes32(0).
        bytes32 parent;
        /// The DataRegistry content ID of the training data, or bytes32(0).
        bytes32 dataId;
        /// Where the model package can be fetched (ipfs://, https://, ...).
        string uri;
    }

    /// A tensor leaf of the model tree (docs/commitments.md).
    struct TensorLeaf {
        uint256 id;
        uint256 kind;
        uint256 dtype;
        uint256[] shape;
        int256 zeroPoint;
        bytes32 constRoot;
    }

    /// The counts of the model tree, proven by one tensor leaf: its id fixes its position 1 + opCount + id.
    struct ModelLayout {
        uint64 leafCount;
        uint64 opCount;
        TensorLeaf probe;
        bytes32[] siblings;
    }

    struct Model {
        address publisher;
        uint64 registeredAt;
        uint64 leafCount;
        uint64 opCount;
        bytes32 parent;
        bytes32 dataId;
        string name;
        string version;
        string uri;
    }

    event ModelRegistered(
        bytes32 indexed modelRoot,
        bytes32 indexed parent,
        address indexed publisher,
        string name,
        string version,
        bytes32 dataId,
        string uri
    );

    function isRegistered(bytes32 modelRoot) external view returns (bool);
    function modelLayout(bytes32 modelRoot) external view returns (uint256 leafCount, uint256 opCount);
}
