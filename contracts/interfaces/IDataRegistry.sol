// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IDataRegistry: datasets by content ID; a repeated registration is linked to the first one.
interface IDataRegistry {
    struct Dataset {
        address registrant;
        uint64 registeredAt;
        uint32 duplicates;
        uint32 firstRegistration;
        string uri;
    }

    struct Registration {
        bytes32 contentId;
        address registrant;
        /// True when the content was already registered: this record links to the first one.
        bool duplicate;
    }

    event DatasetRegistered(bytes32 indexed contentId, address indexed registrant, uint256 registration, string uri);
    event DuplicateDatasetLinked(
        bytes32 indexed contentId, address indexed registrant, uint256 registration, uint256 firstRegistration
    );
    event ContributorRecorded(bytes32 indexed contentId, address indexed contributor);

    function isRegistered(bytes32 contentId) external view returns (bool);
}
