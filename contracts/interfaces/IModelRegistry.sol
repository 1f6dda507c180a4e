// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IModelRegistry: models by model root, checked on registration, with per-publisher
/// names, versions and lineage, and the layout the dispute game needs.
interface IModelRegistry {
    /// What a publisher says about a model. Every claim is scoped to the publisher (msg.sender).
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

    /// An op leaf of the model tree (docs/commitments.md): keccak256(abi.encode(code, inputs, output, attrs)).
    struct OpLeaf {
        uint256 code;
        uint256[] inputs;
        uint256 output;
        int256[] attrs;
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

    /// The whole model tree but the constants' bytes: the registry rebuilds the model root from it
    /// and checks the structure the dispute game relies on.
    struct Descriptor {
        bytes32 metaLeaf;
        OpLeaf[] ops;
        TensorLeaf[] tensors;
    }

    /// What the game and the markets read. Fixed by the model root, whoever registered it.
    struct Layout {
        /// Leaves of the model tree: 1 + opCount + tensorCount.
        uint64 leafCount;
        uint64 opCount;
        /// Bytes of one sample of the model input (the input root's length is a multiple of it).
        uint64 inputBytesPerSample;
        /// Bytes of one sample of the last op's output (u8).
        uint64 outputBytesPerSample;
    }

    /// One publisher's claims about one model root.
    struct Publication {
        bytes32 parent;
        bytes32 dataId;
        uint64 registeredAt;
        string name;
        string version;
        string uri;
    }

    /// The first registration of a root: its structure was checked and its layout fixed.
    event ModelRegistered(bytes32 indexed modelRoot, uint64 leafCount, uint64 opCount);

    /// A publisher's claims about a registered root.
    event ModelPublished(
        bytes32 indexed modelRoot,
        address indexed publisher,
        bytes32 indexed parent,
        string name,
        string version,
        bytes32 dataId,
        string uri
    );

    /// Rebuilds the model root from `d`, checks its structure, and records the caller's claims.
    function register(Descriptor calldata d, ModelInfo calldata info) external returns (bytes32 modelRoot);

    /// The root and layout `d` would register as; reverts with the error `register` would.
    function checkDescriptor(Descriptor calldata d) external pure returns (bytes32 modelRoot, Layout memory);

    function isRegistered(bytes32 modelRoot) external view returns (bool);

    /// Reverts ModelRegistryUnknownModel for a root nobody registered.
    function modelLayout(bytes32 modelRoot) external view returns (Layout memory);

    /// Reverts ModelRegistryNotPublished unless `publisher` published `modelRoot`.
    function publication(bytes32 modelRoot, address publisher) external view returns (Publication memory);

    /// `modelRoot` and then its parents as `publisher` claimed them (at most `maxDepth` entries).
    function lineage(bytes32 modelRoot, address publisher, uint256 maxDepth) external view returns (bytes32[] memory);
}
