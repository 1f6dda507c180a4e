// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IDataRegistry} from "../interfaces/IDataRegistry.sol";

error DataRegistryZeroContentId();
error DataRegistryUnknownDataset(bytes32 contentId);

/// @title DataRegistry: datasets by content ID.
/// @notice The first registration of a content ID creates the dataset. Registering the same content
/// again is recorded as a duplicate linked to the first registration: it is not counted as a new
/// dataset, and its contributors are added (once each) to the dataset's contributors.
contract DataRegistry is IDataRegistry {
    mapping(bytes32 contentId => Dataset) private _datasets;
    mapping(bytes32 contentId => address[]) private _contributors;
    mapping(bytes32 contentId => mapping(address => bool)) private _isContributor;
    Registration[] private _registrations;
    uint256 public datasetCount;

    /// Registers `contentId`; returns the registration number and whether the content was new.
    function register(bytes32 contentId, string calldata uri, address[] calldata contributorList)
        external
        returns (uint256 registrationIndex, bool isNew)
    {
        if (contentId == bytes32(0)) revert DataRegistryZeroContentId();
        Dataset storage d = _datasets[contentId];
        registrationIndex = _registrations.length;
        isNew = d.registrant == address(0);
        _registrations.push(Registration({contentId: contentId, registrant: msg.sender, duplicate: !isNew}));
        if (isNew) {
            d.registrant = msg.sender;
            d.registeredAt = uint64(block.timestamp);
            d.firstRegistration = uint32(registrationIndex);
            d.uri = uri;
            datasetCount += 1;
            emit DatasetRegistered(contentId, msg.sender, registrationIndex, uri);
        } else {
            d.duplicates += 1;
            emit DuplicateDatasetLinked(contentId, msg.sender, registrationIndex, d.firstRegistration);
        }
        for (uint256 i; i < contributorList.length; ++i) {
            address c = contributorList[i];
            if (!_isContributor[contentId][c]) {
                _isContributor[contentId][c] = true;
                _contributors[contentId].push(c);
                emit ContributorRecorded(contentId, c);
            }
        }
    }

    function isRegistered(bytes32 contentId) external view returns (bool) {
        return _datasets[contentId].registrant != address(0);
    }

    function dataset(bytes32 contentId) external view returns (Dataset memory) {
        if (_datasets[contentId].registrant == address(0)) revert DataRegistryUnknownDataset(contentId);
        return _datasets[contentId];
    }

    function contributors(bytes32 contentId) external view returns (address[] memory) {
        return _contributors[contentId];
    }

    function registrationCount() external view returns (uint256) {
        return _registrations.length;
    }

    function registration(uint256 index) external view returns (Registration memory) {
        return _registrations[index];
    }
}
