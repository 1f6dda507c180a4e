// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

error MarketParamsBadShare(uint256 bps);

// The most of a slash that a market may route to a beneficiary (AgentRegistry caps it the same).
uint256 constant MAX_BENEFICIARY_BPS = 5_000;
error MarketParamsZeroWindow();
/// An audit lock above the registry's auditThreshold could fail on a drawn auditor's free stake.
error MarketParamsAuditStakeAboveThreshold(uint256 auditStake, uint256 auditThreshold);

/// @title MarketParams: the economic parameters of the markets (docs/protocol.md explains the values).
library MarketParams {
    struct Task {
        /// Stake locked by a worker for each taken task; slashed on conviction or non-delivery.
        uint256 workerStake;
        /// Stake locked by an assigned auditor; slashed if it stays silent or attests a wrong result.
        uint256 auditStake;
        /// Native bond of a challenge.
        uint256 challengeBond;
        uint64 resultWindow;
        uint64 challengeWindow;
        uint64 auditWindow;
        /// Audit probability p in basis points.
        uint16 auditBps;
        /// Share of the fee paid to an auditor that attests.
        uint16 auditRewardBps;
        /// Share of slashed stake paid to the beneficiary (challenger, requester, reporter); the rest is burnt.
        uint16 slashBeneficiaryBps;
        uint32 maxCallbackGas;
    }

    struct Batch {
        /// Stake locked per batch plus per result.
        uint256 batchStakeBase;
        uint256 batchStakePerResult;
        /// Native bond of a result challenge (dispute game).
        uint256 challengeBond;
        /// Native bond of a signature query or a data demand.
        uint256 queryBond;
        uint64 challengeWindow;
        uint64 responseWindow;
        uint64 withdrawalDelay;
        uint16 slashBeneficiaryBps;
        /// Share of a failed query's bond paid to the worker; the rest is burnt.
        uint16 bondWorkerBps;
        uint32 maxBatchSize;
    }

    /// `auditThreshold` is the registry's (AgentRegistry.auditThreshold): every agent it draws as an
    /// auditor has that much free, so an audit lock of at most that much never fails.
    function check(Task memory p, uint256 auditThreshold) internal pure {
        if (p.auditStake > auditThreshold) revert MarketParamsAuditStakeAboveThreshold(p.auditStake, auditThreshold);
        if (p.auditBps > 10_000) revert MarketParamsBadShare(p.auditBps);
        if (p.auditRewardBps > 10_000) revert MarketParamsBadShare(p.auditRewardBps);
        // The registry pays a beneficiary at most half of a slash (AgentRegistry.MAX_BENEFICIARY_BPS):
        // a larger share would only be cut there, so it is refused here.
        if (p.slashBeneficiaryBps > MAX_BENEFICIARY_BPS) revert MarketParamsBadShare(p.slashBeneficiaryBps);
        if (p.resultWindow == 0 || p.challengeWindow == 0 || p.auditWindow == 0) revert MarketParamsZeroWindow();
    }

    function check(Batch memory p) internal pure {
        // The registry pays a beneficiary at most half of a slash (AgentRegistry.MAX_BENEFICIARY_BPS):
        // a larger share would only be cut there, so it is refused here.
        if (p.slashBeneficiaryBps > MAX_BENEFICIARY_BPS) revert MarketParamsBadShare(p.slashBeneficiaryBps);
        if (p.bondWorkerBps > 10_000) revert MarketParamsBadShare(p.bondWorkerBps);
        if (p.challengeWindow == 0 || p.responseWindow == 0) revert MarketParamsZeroWindow();
    }
}
