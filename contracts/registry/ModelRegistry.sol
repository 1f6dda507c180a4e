// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Commitments} from "../game/Commitments.sol";
import {IDataRegistry} from "../interfaces/IDataRegistry.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";

error ModelRegistryZeroRoot();
error ModelRegistryDuplicate(bytes32 modelRoot, address publisher);
error ModelRegistryUnknownParent(bytes32 parent);
error ModelRegistryUnknownDataset(bytes32 dataId);
/// The counts cannot hold the meta leaf, opCount ops and at least one tensor.
error ModelRegistryBadLayout(uint256 leafCount, uint256 opCount);
/// The probe tensor leaf does not open the model root at 1 + opCount + id.
error ModelRegistryLayoutProofInvalid(bytes32 modelRoot, uint256 tensorId);
error ModelRegistryUnknownModel(bytes32 modelRoot);

/// @title ModelRegistry: models by model root (the model ID), with version lineage.
/// @notice Registration also proves the model tree's op count: one tensor leaf (whose id is part of
/// the leaf) must open the root at index 1 + opCount + id. An op leaf can never be read as a tensor
/// leaf (its second ABI word is the offset 0x80, a tensor's is its kind 0..2), so the proof pins
/// opCount, which the dispute game uses to check trace lengths.
contract ModelRegistry is IModelRegistry {
    /// The counts of the model tree, proven by one tensor leaf: its id fixes its position 1 + opCount + id.
    struct ModelLayout {
        uint64 leafCount;
        uint64 opCount;
        uint64 inputBytesPerSample;
        uint64 outputBytesPerSample;
        TensorLeaf probe;
        bytes32[] siblings;
    }

    struct Model {
        address publisher;
        uint64 registeredAt;
        uint64 leafCount;
        uint64 opCount;
        uint64 inputBytesPerSample;
        uint64 outputBytesPerSample;
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

    IDataRegistry public immutable dataRegistry;
    mapping(bytes32 modelRoot => Model) private _models;
    uint256 public modelCount;

    constructor(IDataRegistry dataRegistry_) {
        dataRegistry = dataRegistry_;
    }

    function register(bytes32 modelRoot, ModelInfo calldata info, ModelLayout calldata proof) external {
        if (modelRoot == bytes32(0)) revert ModelRegistryZeroRoot();
        Model storage m = _models[modelRoot];
        if (m.publisher != address(0)) revert ModelRegistryDuplicate(modelRoot, m.publisher);
        if (info.parent != bytes32(0) && _models[info.parent].publisher == address(0)) {
            revert ModelRegistryUnknownParent(info.parent);
        }
        if (info.dataId != bytes32(0) && !dataRegistry.isRegistered(info.dataId)) {
            revert ModelRegistryUnknownDataset(info.dataId);
        }
        _checkLayout(modelRoot, proof);
        m.publisher = msg.sender;
        m.registeredAt = uint64(block.timestamp);
        m.leafCount = proof.leafCount;
        m.opCount = proof.opCount;
        m.inputBytesPerSample = proof.inputBytesPerSample;
        m.outputBytesPerSample = proof.outputBytesPerSample;
        m.parent = info.parent;
        m.dataId = info.dataId;
        m.name = info.name;
        m.version = info.version;
        m.uri = info.uri;
        modelCount += 1;
        emit ModelRegistered(modelRoot, info.parent, msg.sender, info.name, info.version, info.dataId, info.uri);
    }

    function _checkLayout(bytes32 modelRoot, ModelLayout calldata l) private pure {
        if (l.opCount == 0 || uint256(l.opCount) + 2 > l.leafCount) revert ModelRegistryBadLayout(l.leafCount, l.opCount);
        TensorLeaf calldata t = l.probe;
        uint256 index = 1 + uint256(l.opCount) + t.id;
        bytes32 leaf = Commitments.tensorLeaf(t.id, t.kind, t.dtype, t.shape, t.zeroPoint, t.constRoot);
        if (t.kind > 2 || !Commitments.opensModel(modelRoot, l.leafCount, leaf, index, l.siblings)) {
            revert ModelRegistryLayoutProofInvalid(modelRoot, t.id);
        }
    }

    function isRegistered(bytes32 modelRoot) external view returns (bool) {
        return _models[modelRoot].publisher != address(0);
    }

    function modelLayout(bytes32 modelRoot) external view returns (Layout memory) {
        Model storage m = _models[modelRoot];
        if (m.publisher == address(0)) revert ModelRegistryUnknownModel(modelRoot);
        return Layout(m.leafCount, m.opCount, m.inputBytesPerSample, m.outputBytesPerSample);
    }

    function model(bytes32 modelRoot) external view returns (Model memory) {
        if (_models[modelRoot].publisher == address(0)) revert ModelRegistryUnknownModel(modelRoot);
        return _models[modelRoot];
    }

    /// The version chain from `modelRoot` back to its first version (at most `maxDepth` entries).
    function lineage(bytes32 modelRoot, uint256 maxDepth) external view returns (bytes32[] memory chain) {
        if (_models[modelRoot].publisher == address(0)) revert ModelRegistryUnknownModel(modelRoot);
        chain = new bytes32[](maxDepth);
        uint256 n;
        for (bytes32 r = modelRoot; r != bytes32(0) && n < maxDepth; r = _models[r].parent) chain[n++] = r;
        assembly ("memory-safe") {
            mstore(chain, n)
        }
    }
}
