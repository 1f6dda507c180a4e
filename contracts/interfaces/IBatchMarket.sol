// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IDisputeArena} from "./IDisputeArena.sol";

/// @title IBatchMarket: the errors, structs and events of BatchMarket (contracts/market/BatchMarket.sol
/// explains the protocol).
interface IBatchMarket {
    error BatchMarketZeroAmount();
    error BatchMarketValueMismatch(uint256 sent, uint256 required);
    error BatchMarketTokenNotAllowed(address token);
    error BatchMarketMaxBatchSize(uint256 maxBatchSize, uint256 limit);
    error BatchMarketNoWithdrawal(address token, address requester);
    error BatchMarketWithdrawalNotReady(uint256 readyAt);
    error BatchMarketDepositTooLow(uint256 available, uint256 required);
    error BatchMarketWorkerNotActive(address worker);
    error BatchMarketNotWorker(address worker, address caller);
    error BatchMarketBadCount(uint256 count, uint256 max);
    error BatchMarketZeroFee();
    error BatchMarketHeaderExpired(uint256 deadline, uint256 now_);
    error BatchMarketNonceUsed(address requester, uint256 nonce);
    error BatchMarketBadSignature(address requester);
    error BatchMarketUnknownBatch(uint256 batchId);
    error BatchMarketWrongStatus(uint256 batchId, Status status);
    error BatchMarketWindowOpen(uint256 batchId, uint256 endsAt);
    error BatchMarketWindowClosed(uint256 batchId, uint256 closedAt);
    error BatchMarketClaimsOpen(uint256 batchId, uint256 openClaims);
    error BatchMarketBadProof(uint256 batchId, uint256 index);
    error BatchMarketSelfChallenge(uint256 batchId);
    error BatchMarketNotRequester(uint256 batchId, address caller);
    error BatchMarketAlreadyDemanded(uint256 batchId);
    error BatchMarketNoDemand(uint256 batchId);
    error BatchMarketLeafQueried(uint256 batchId, uint256 index, uint256 queryId);
    error BatchMarketUnknownQuery(uint256 queryId);
    error BatchMarketQueryClosed(uint256 queryId);
    error BatchMarketQueryExpired(uint256 queryId, uint256 deadline);
    error BatchMarketQueryNotExpired(uint256 queryId, uint256 deadline);
    error BatchMarketRequestMismatch(bytes32 computed, bytes32 requestHash);
    error BatchMarketWrongParties(address requester, address worker, address feeToken);
    error BatchMarketOvercharged(uint256 leafFee, uint256 signedFee);
    error BatchMarketRequestExpired(uint256 deadline, uint256 postedAt);
    error BatchMarketBadPage(uint256 batchId, uint256 page, uint256 pages);
    error BatchMarketPagePublished(uint256 batchId, uint256 page);
    error BatchMarketLeafCount(uint256 got, uint256 expected);
    error BatchMarketLeavesMismatch(uint256 batchId, uint256 page);
    error BatchMarketNotDuplicate();
    error BatchMarketNotGame(address caller);
    error BatchMarketNothingOwed(address token, address account);
    error BatchMarketZeroAddress();
    error BatchMarketBountyNotSettled(uint256 batchId, uint256 openClaims);
    error BatchMarketNoBounty(uint256 batchId, address caller);
    error BatchMarketUnexpectedValue(address sender);

    struct Request {
        address requester;
        /// The worker the requester chose: binds the payee, so another worker cannot charge for it.
        address worker;
        bytes32 modelRoot;
        bytes32 inputRoot;
        address feeToken;
        uint256 fee;
        uint256 nonce;
        uint64 deadline;
    }

    struct Leaf {
        bytes32 requestHash;
        bytes32 resultCommitment;
        bytes32 outputRoot;
        uint256 fee;
    }

    /// Signed by the requester (EIP-712): its consent to pay `totalFee` to `worker` for `root`.
    struct BatchHeader {
        address requester;
        address worker;
        address feeToken;
        bytes32 root;
        uint32 count;
        uint128 totalFee;
        uint256 nonce;
        uint64 deadline;
    }

    enum Status {
        None,
        Posted,
        Finalized,
        Convicted
    }

    struct Batch {
        address worker;
        Status status;
        uint40 deadline;
        uint40 postedAt;
        address requester;
        uint32 count;
        address feeToken;
        /// Claims made on the batch so far (queries, games, a duplicate); the next claim's seq is
        /// claims + 1. The open ones are counted in the batch's ConvictionBounty.Pool (`disputes`).
        uint32 claims;
        bool demanded;
        bytes32 root;
        uint128 totalFee;
        uint128 stake;
    }

    enum QueryKind {
        Request,
        Leaves
    }

    enum QueryStatus {
        None,
        Open,
        Answered,
        Failed,
        Moot
    }

    struct Query {
        uint64 batchId;
        QueryKind kind;
        QueryStatus status;
        uint40 deadline;
        uint32 seq;
        address challenger;
        uint96 bond;
        uint128 fee;
        bytes32 requestHash;
    }

    struct Deposit {
        uint128 available;
        uint128 pending;
        uint64 readyAt;
    }

    /// Progress of a leaf demand: which pages are in (bit p = page p) and the sum of their fees.
    struct Pages {
        uint128 feeSum;
        uint32 published;
        uint16 mask;
    }

    event Deposited(address indexed token, address indexed requester, uint256 amount);
    event WithdrawalRequested(address indexed token, address indexed requester, uint256 amount, uint256 readyAt);
    event DepositWithdrawn(address indexed token, address indexed requester, address to, uint256 amount);
    event HeaderCancelled(address indexed requester, uint256 nonce);
    event BatchPosted(
        uint256 indexed batchId, address indexed worker, address indexed requester, BatchHeader header, uint256 stake
    );
    event BatchFinalized(uint256 indexed batchId, address indexed worker, uint256 totalFee);
    event BatchConvicted(uint256 indexed batchId, address indexed worker, uint256 seq, address claimant);
    /// Claim `seq` proved the batch's fault (the convicting claim, or one open at the conviction):
    /// `claimant` is owed one equal part of the escrowed beneficiary share.
    event ClaimWon(uint256 indexed batchId, uint256 seq, address indexed claimant);
    event BountySettled(uint256 indexed batchId, uint256 winners, uint256 sharePerWin, uint256 burnt);
    event BountyClaimed(uint256 indexed batchId, address indexed claimant, uint256 amount);
    event QueryOpened(uint256 indexed queryId, uint256 indexed batchId, QueryKind kind, address challenger, uint256 index);
    event QueryClosed(uint256 indexed queryId, QueryStatus status);
    event RequestRevealed(uint256 indexed queryId, uint256 indexed batchId, Request request);
    event LeavesPublished(uint256 indexed batchId, uint256 indexed page, Leaf[] leaves);
    event ResultChallenged(uint256 indexed batchId, uint256 indexed gameId, address indexed challenger, uint256 index);
    event DisputeSettled(uint256 indexed batchId, uint256 indexed gameId, IDisputeArena.Outcome outcome);
    event Withdrawn(address indexed token, address indexed account, address to, uint256 amount);
}
