// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IDataRegistry} from "../interfaces/IDataRegistry.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {ModelCheck} from "./ModelCheck.sol";

error ModelRegistryAlreadyPublished(bytes32 modelRoot, address publisher);
error ModelRegistryNameTaken(address publisher, string name, string version, bytes32 modelRoot);
/// A parent must be a root that the same publisher published.
error ModelRegistryParentNotPublished(bytes32 parent, address publisher);
error ModelRegistryUnknownDataset(bytes32 dataId);
error ModelRegistryUnknownModel(bytes32 modelRoot);
error ModelRegistryNotPublished(bytes32 modelRoot, address publisher);

/// @title ModelRegistry: models by model root (the model ID), checked on registration, with
/// per-publisher names, versions and lineage.
/// @notice A root registers only with its descriptor: the registry rebuilds the root from it and
/// checks the structure the dispute game relies on (ModelCheck), then fixes the layout. Anyone
/// may publish a registered root again under their own claims; no claim of one publisher (name,
/// version, parent) can bind or block another's, so registering a root first gains nothing.
contract ModelRegistry is IModelRegistry {
    IDataRegistry public immutable dataRegistry;
    mapping(bytes32 modelRoot => Layout) private _layouts;
    mapping(bytes32 modelRoot => mapping(address publisher => Publication)) private _publications;
    mapping(address publisher => mapping(bytes32 nameKey => bytes32 modelRoot)) private _named;
    /// Distinct roots registered.
    uint256 public modelCount;
    /// (root, publisher) pairs published.
    uint256 public publicationCount;

    constructor(IDataRegistry dataRegistry_) {
        dataRegistry = dataRegistry_;
    }

    function register(Descriptor calldata d, ModelInfo calldata info) external returns (bytes32 modelRoot) {
        Layout memory l;
        (modelRoot, l) = ModelCheck.check(d);
        Publication storage p = _publications[modelRoot][msg.sender];
        if (p.registeredAt != 0) revert ModelRegistryAlreadyPublished(modelRoot, msg.sender);
        bytes32 nameKey = keccak256(abi.encode(info.name, info.version));
        bytes32 named = _named[msg.sender][nameKey];
        if (named != 0) revert ModelRegistryNameTaken(msg.sender, info.name, info.version, named);
        if (info.parent != 0 && _publications[info.parent][msg.sender].registeredAt == 0) {
            revert ModelRegistryParentNotPublished(info.parent, msg.sender);
        }
        if (info.dataId != 0 && !dataRegistry.isRegistered(info.dataId)) {
            revert ModelRegistryUnknownDataset(info.dataId);
        }
        if (_layouts[modelRoot].leafCount == 0) {
            _layouts[modelRoot] = l;
            modelCount += 1;
            emit ModelRegistered(modelRoot, l.leafCount, l.opCount);
        }
        _named[msg.sender][nameKey] = modelRoot;
        // block.timestamp is never 0 after genesis, so registeredAt doubles as the existence flag.
        p.registeredAt = uint64(block.timestamp);
        p.parent = info.parent;
        p.dataId = info.dataId;
        p.name = info.name;
        p.version = info.version;
        p.uri = info.uri;
        publicationCount += 1;
        emit ModelPublished(modelRoot, msg.sender, info.parent, info.name, info.version, info.dataId, info.uri);
    }

    function checkDescriptor(Descriptor calldata d) external pure returns (bytes32 modelRoot, Layout memory) {
        return ModelCheck.check(d);
    }

    function isRegistered(bytes32 modelRoot) external view returns (bool) {
        return _layouts[modelRoot].leafCount != 0;
    }

    function modelLayout(bytes32 modelRoot) external view returns (Layout memory l) {
        l = _layouts[modelRoot];
        if (l.leafCount == 0) revert ModelRegistryUnknownModel(modelRoot);
    }

    function publication(bytes32 modelRoot, address publisher) external view returns (Publication memory) {
        Publication storage p = _publications[modelRoot][publisher];
        if (p.registeredAt == 0) revert ModelRegistryNotPublished(modelRoot, publisher);
        return p;
    }

    /// The root `publisher` published as `name` `version`, or bytes32(0).
    function rootOf(address publisher, string calldata name, string calldata version) external view returns (bytes32) {
        return _named[publisher][keccak256(abi.encode(name, version))];
    }

    function lineage(bytes32 modelRoot, address publisher, uint256 maxDepth)
        external
        view
        returns (bytes32[] memory chain)
    {
        if (_publications[modelRoot][publisher].registeredAt == 0) {
            revert ModelRegistryNotPublished(modelRoot, publisher);
        }
        chain = new bytes32[](maxDepth);
        uint256 n;
        for (bytes32 r = modelRoot; r != 0 && n < maxDepth; r = _publications[r][publisher].parent) {
            chain[n++] = r;
        }
        assembly ("memory-safe") {
            mstore(chain, n)
        }
    }
}
