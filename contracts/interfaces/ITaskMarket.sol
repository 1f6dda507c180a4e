// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IDisputeArena} from "./IDisputeArena.sol";

/// @title ITaskMarket: the errors, structs and events of TaskMarket (contracts/market/TaskMarket.sol
/// explains the protocol).
interface ITaskMarket {
    error TaskMarketNotRequester(address caller, address requester);
    error TaskMarketUnknownModel(bytes32 modelRoot);
    /// The agent registry must admit only models of the market's model registry (see postSigned).
    error TaskMarketModelRegistryMismatch(address agentModels, address models);
    error TaskMarketBadDeadline(uint256 deadline, uint256 nowTime);
    error TaskMarketCallbackGasTooHigh(uint256 limit, uint256 max);
    error TaskMarketInputRootMismatch(bytes32 computed, bytes32 inputRoot);
    error TaskMarketTaskExists(bytes32 taskId);
    error TaskMarketFeeMismatch(uint256 sent, uint256 required);
    error TaskMarketFeeOnTransfer(address token, uint256 expected, uint256 received);
    error TaskMarketTokenNotAllowed(address token);
    error TaskMarketFeeTooLow(address token, uint256 fee, uint256 minFee);
    error TaskMarketBadFeeToken(address token, uint256 minFee);
    error TaskMarketZeroAmount();
    error TaskMarketBadSignature(bytes32 taskId, address requester, address worker);
    error TaskMarketBalanceTooLow(address token, address requester, uint256 balance, uint256 fee);
    error TaskMarketWrongStatus(bytes32 taskId, Status status, Status expected);
    error TaskMarketTakeDeadlinePassed(bytes32 taskId, uint256 takeDeadline);
    error TaskMarketNotWorker(bytes32 taskId, address caller, address worker);
    error TaskMarketResultDeadlinePassed(bytes32 taskId, uint256 resultDeadline);
    error TaskMarketZeroCommitment(bytes32 taskId);
    error TaskMarketOutputRootMismatch(bytes32 taskId, bytes32 computed, bytes32 outputRoot);
    error TaskMarketResultMismatch(bytes32 taskId);
    error TaskMarketChallengeWindowOpen(bytes32 taskId, uint256 endsAt);
    error TaskMarketChallengeWindowClosed(bytes32 taskId, uint256 closedAt);
    error TaskMarketDisputesOpen(bytes32 taskId, uint256 openDisputes);
    error TaskMarketBondMismatch(uint256 sent, uint256 required);
    error TaskMarketSelfChallenge(bytes32 taskId);
    error TaskMarketNotExpired(bytes32 taskId, uint256 expiresAt);
    error TaskMarketAuditSeedNotReady(bytes32 taskId, uint256 seedBlock);
    error TaskMarketAuditAlreadyDrawn(bytes32 taskId);
    error TaskMarketAuditPending(bytes32 taskId, address auditor, uint256 deadline);
    error TaskMarketNotAuditor(bytes32 taskId, address caller);
    error TaskMarketAuditDeadlinePassed(bytes32 taskId, uint256 deadline);
    error TaskMarketAuditNotExpired(bytes32 taskId, uint256 deadline);
    error TaskMarketAttestationMismatch(bytes32 taskId, bytes32 computed, bytes32 commitment);
    error TaskMarketCallbackGasTooLow(uint256 available, uint256 required);
    error TaskMarketNotGame(address caller);
    error TaskMarketBountyNotSettled(bytes32 taskId, uint256 openGames);
    error TaskMarketNoBounty(bytes32 taskId, address caller);
    error TaskMarketUnexpectedValue(address sender);
    error TaskMarketNothingOwed(address token, address account);
    error TaskMarketZeroAddress();


    struct Task {
        address requester;
        bytes32 modelRoot;
        bytes32 inputRoot;
        /// address(0) for the native currency, else an allowed ERC-20.
        address feeToken;
        uint256 fee;
        /// The last moment to take the task (for a signed task: to post its result).
        uint64 takeDeadline;
        /// An IVerinferConsumer called on finalization, or address(0).
        address consumer;
        uint32 callbackGasLimit;
        bytes32 salt;
    }

    /// A posted result: who posted it and what it committed to.
    struct Result {
        address worker;
        /// keccak256(abi.encode(taskId, inputRoot, outputRoot, checkpointRoot)).
        bytes32 commitment;
        bytes32 outputRoot;
    }

    /// A fee currency allowed at deployment and its smallest fee (so that every audit is paid).
    struct FeeToken {
        address token;
        uint256 minFee;
    }

    enum Status {
        None,
        Open,
        Taken,
        Posted,
        Finalized,
        Expired,
        Convicted
    }

    enum AuditState {
        Undrawn,
        Skipped,
        Assigned,
        Attested,
        Challenged,
        Silenced,
        Closed,
        /// Attested after a game was opened on the task: a game may have revealed the checkpoint
        /// root, so the attestation proves nothing and earns nothing (it still frees the stake).
        AttestedUnpaid
    }

    /// The one word of a task.
    struct TaskState {
        /// Taken: the worker's address. Posted and after: the first 20 bytes of
        /// keccak256(abi.encode(worker, commitment, outputRoot)) (resultKey).
        bytes20 key;
        Status status;
        /// INLINE_INPUT | DISPUTED | AUDIT_DRAWN | AUDIT_CERTAIN.
        uint8 flags;
        /// The result deadline when Taken, the end of the challenge window when Posted.
        uint40 deadline;
        /// The audit seed is blockhash(seedBlock + 1); set at posting, re-armed if it expired.
        uint40 seedBlock;
    }

    struct Audit {
        address auditor;
        AuditState state;
        uint40 deadline;
    }

    /// Stored on the first challenge only: who gets the fee back if the worker is convicted.
    struct Refund {
        address requester;
        address feeToken;
        uint256 fee;
    }

    event TaskCreated(bytes32 indexed taskId, address indexed requester, bytes32 indexed modelRoot, Task task, bytes inlineInput);
    event TaskTaken(bytes32 indexed taskId, address indexed worker, uint256 resultDeadline);
    event ResultPosted(
        bytes32 indexed taskId, address indexed worker, bytes32 resultCommitment, bytes32 outputRoot, bytes output
    );
    /// A requester-signed task, created, taken and posted at once (the TaskCreated and ResultPosted of postSigned).
    event SignedTaskPosted(
        bytes32 indexed taskId,
        address indexed requester,
        address indexed worker,
        Task task,
        bytes32 resultCommitment,
        bytes32 outputRoot,
        bytes output
    );
    event TaskFinalized(bytes32 indexed taskId, address indexed worker, uint256 workerPay, uint256 auditReward);
    event ConsumerCalled(bytes32 indexed taskId, address indexed consumer, bool succeeded);
    event TaskExpired(bytes32 indexed taskId, address indexed worker, bool workerSlashed);
    event TaskChallenged(bytes32 indexed taskId, uint256 indexed gameId, address indexed challenger);
    event DisputeSettled(bytes32 indexed taskId, uint256 indexed gameId, IDisputeArena.Outcome outcome);
    event TaskConvicted(bytes32 indexed taskId, address indexed worker, address indexed challenger);
    event BountySettled(bytes32 indexed taskId, uint256 winners, uint256 sharePerWin, uint256 burnt);
    event BountyClaimed(bytes32 indexed taskId, address indexed challenger, uint256 amount);
    event AuditDrawn(bytes32 indexed taskId, bool selected, address auditor, uint256 deadline);
    event AuditRearmed(bytes32 indexed taskId, uint256 seedBlock);
    event AuditAttested(bytes32 indexed taskId, address indexed auditor, bytes32 checkpointRoot, bool paid);
    event AuditorSlashed(bytes32 indexed taskId, address indexed auditor, address indexed beneficiary);
    event Deposited(address indexed token, address indexed account, uint256 amount);
    event Withdrawn(address indexed token, address indexed account, address to, uint256 amount);
}
