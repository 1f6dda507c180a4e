// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ConvictionBounty: the beneficiary share of a conviction, split among every challenger
/// that wins a game which was open when the subject was convicted.
/// @notice A cheater can always open a game from its own sybil and lose it on purpose. Paying the
/// convicting game alone would let that sybil take the whole share; paying the earliest game does
/// not help either, since the cheater knows when it cheats and can challenge at once. So the games
/// open at the conviction play on, and the share is escrowed until the last of them resolves; each
/// game its challenger wins earns an equal part. A sybil game takes 1/n of the share, never more.
///   a game opens            -> open += 1 (the market; no game opens on a convicted subject)
///   a challenger wins        -> countWinner (the first win convicts and fills the escrow)
///   the last game resolves   -> settle: escrow / winners per won game, the remainder (< winners wei) burnt
///   a winner claims          -> take (its wins times the share, once)
library ConvictionBounty {
    /// One word per disputed subject.
    struct Pool {
        /// Games opened on the subject that have not resolved. Wide: every game costs a bond, so no
        /// sybil can fill it.
        uint64 open;
        /// Won games among those open at the conviction (the convicting one included).
        uint64 winners;
        /// The escrowed beneficiary share until settlement, then the share of one won game.
        uint128 escrow;
    }

    /// Records a game that the challenger won (the convicting one, or one open at the conviction).
    function countWinner(Pool storage p, mapping(address => uint256) storage wins, address challenger) internal {
        p.winners += 1;
        wins[challenger] += 1;
    }

    /// Divides the escrow among the won games (at least one: the convicting game). Returns the
    /// remainder to burn (fewer than `winners` wei).
    function settle(Pool storage p) internal returns (uint256 remainder) {
        uint256 escrow = p.escrow;
        uint256 winners = p.winners;
        uint256 share = escrow / winners;
        p.escrow = uint128(share);
        remainder = escrow - share * winners;
    }

    /// The amount owed to `challenger` once settled, zeroed so it is paid once.
    function take(Pool storage p, mapping(address => uint256) storage wins, address challenger)
        internal
        returns (uint256 amount)
    {
        amount = wins[challenger] * p.escrow;
        wins[challenger] = 0;
    }
}
