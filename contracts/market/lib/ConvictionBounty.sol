// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAgentRegistry} from "../../interfaces/IAgentRegistry.sol";
import {SafeTransfer} from "./SafeTransfer.sol";

/// @title ConvictionBounty: the beneficiary share of a conviction, split among every claim that
/// proves the fault among those open when the subject was convicted. One money rule for both
/// markets: the TaskMarket's games on a task, the BatchMarket's games and request queries on a batch.
/// @notice A cheater can always open a claim from its own sybil and lose it on purpose. Paying the
/// convicting claim alone would let that sybil take the whole share; paying the earliest claim does
/// not help either, since the cheater knows when it cheats and can challenge at once. So the claims
/// open at the conviction play on, and the share is escrowed by the market until the last of them
/// resolves; each claim that proves the fault earns an equal part. A sybil's claim takes 1/n of the
/// share, never more, and the burnt part of the slash is lost whatever the cheater does.
///   a claim opens            -> open += 1 (the market; no claim opens on a convicted subject)
///   the first proof          -> the market slashes with itself as beneficiary, then collect (escrow)
///   a claim proves the fault -> countWinner (the convicting one, and each open at the conviction)
///   the last claim resolves  -> settle: escrow / winners per win, the remainder (< winners wei) burnt
///   a winner claims          -> take (its wins times the share, once)
library ConvictionBounty {
    /// One word per disputed subject.
    struct Pool {
        /// Claims opened on the subject that have not resolved. Wide: every claim costs a bond, so no
        /// sybil can fill it.
        uint64 open;
        /// Claims that proved the fault among those open at the conviction (the convicting one included).
        uint64 winners;
        /// The escrowed beneficiary share until settlement, then the share of one win.
        uint128 escrow;
    }

    /// Moves the slash proceeds that the registry holds for this market (the beneficiary of the
    /// slashes just made) into the pool's escrow.
    function collect(Pool storage p, IAgentRegistry registry) internal {
        uint256 before = address(this).balance;
        if (registry.claimable(address(this)) != 0) registry.claim(address(this));
        // INVARIANT: the escrow is exactly the slash proceeds that arrived.
        p.escrow += uint128(address(this).balance - before);
    }

    /// Records a claim that proved the fault (the convicting one, or one open at the conviction).
    function countWinner(Pool storage p, mapping(address => uint256) storage wins, address claimant) internal {
        p.winners += 1;
        wins[claimant] += 1;
    }

    /// Divides the escrow among the wins (at least one: the convicting claim) and burns the
    /// remainder (fewer than `winners` wei), which it returns. Called once, when the last claim open
    /// at the conviction resolves (or at the conviction, if none was open).
    function settle(Pool storage p) internal returns (uint256 remainder) {
        uint256 escrow = p.escrow;
        uint256 winners = p.winners;
        uint256 share = escrow / winners;
        p.escrow = uint128(share);
        remainder = escrow - share * winners;
        // INVARIANT: after settlement the market holds exactly share × Σ wins for this pool.
        SafeTransfer.sendNative(SafeTransfer.BURN, remainder);
    }

    /// The amount owed to `claimant` once settled, zeroed so it is paid once.
    function take(Pool storage p, mapping(address => uint256) storage wins, address claimant)
        internal
        returns (uint256 amount)
    {
        amount = wins[claimant] * p.escrow;
        wins[claimant] = 0;
    }
}
