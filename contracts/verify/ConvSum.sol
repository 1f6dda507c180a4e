// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ConvStep} from "../onestep/ConvStep.sol";
import {Packed} from "../lib/Packed.sol";
import {OneStepMissingChunk} from "./OneStepErrors.sol";
import {TensorView} from "./TensorView.sol";

/// @title ConvSum: Σ (x - zx) * w over the in-bounds taps of one conv output element, read straight
/// from the proven input chunks in calldata.
/// @notice The same sum as ConvStep.accumulate (src/engine/reference/conv.ts) without first copying
/// the taps into a buffer. In NCHW, the in-bounds taps of one (input channel, kernel row) are `run`
/// bytes `dilW` apart: when they lie inside one chunk and within 32 bytes (every kernel up to 32
/// wide without dilation), one CALLDATALOAD holds all of them and the weight row is one MLOAD of
/// the copied weight slice. Otherwise (a row crossing a chunk boundary, a wider span) the row is
/// read tap by tap. Chunks are looked up only when the row's chunk changes, scanning the proven
/// list from where the last lookup ended: the witness lists chunks in ascending order and rows are
/// visited in ascending input order, so the scan is amortized constant.
library ConvSum {
    /// What the assembly loops read; field order is the memory layout (one word each).
    struct Frame {
        /// x's proven chunk indices and their calldata offsets (TensorView.View arrays).
        uint256[] chunkIndex;
        uint256[] chunkData;
        /// Where the next chunk lookup starts scanning.
        uint256 cursor;
        /// Flat index in x of the first input plane of the group of m, for sample n; the plane
        /// size; the end of the group's planes.
        uint256 plane;
        uint256 planeSize;
        uint256 planeEnd;
        /// Memory address of the first weight byte of w[m] (weight order c, ky, kx).
        uint256 wPtr;
        /// KH * KW: the weight stride between channels.
        uint256 area;
        /// Per in-bounds kernel row: [offset iy * W + ix0 inside a plane, weight offset ky * KW + kxLo].
        uint256[] rows;
        /// In-bounds kernel columns per row, and the input column step.
        uint256 run;
        uint256 dil;
        /// A row whose first tap is at chunk offset below lim lies inside its chunk and inside one
        /// 32-byte word: 1024 - (run - 1) * dil, or 0 (never) for a span over 32 bytes.
        uint256 lim;
        int256 zx;
        /// The first `run` bytes of a word set: keeps the weights of the row, zeroes the rest.
        uint256 mask;
        /// For the revert OneStepMissingChunk(id, chunk) raised inside the loops.
        uint256 missingSelector;
        uint256 id;
    }

    /// Σ (x - zx) * w over the in-bounds taps of output `o` in input channels [c0, c0 + channels)
    /// of its group; `wTaps` is the weight slice w[m, c0 : c0 + channels] (ConvStep.weightRange
    /// for all channels). Reverts OneStepMissingChunk for an unproven chunk of x.
    function sum(
        ConvStep.Window memory g,
        ConvStep.Layout memory l,
        ConvStep.Output memory o,
        TensorView.View memory x,
        bytes memory wTaps,
        uint256 c0,
        uint256 channels
    ) internal pure returns (int256 acc) {
        Packed.checkZeroPoint(x.zeroPoint);
        (uint256 kxLo, uint256 run, uint256 ix0) = columnRun(g, o.ox);
        if (run == 0) return 0;
        Frame memory f;
        f.rows = rows(g, o.oy, kxLo, ix0);
        if (f.rows.length == 0) return 0;
        f.chunkIndex = x.chunkIndex;
        f.chunkData = x.chunkData;
        f.planeSize = g.H * g.W;
        f.plane = (o.n * l.C + ConvStep.inputChannel(l, o.m, c0)) * f.planeSize;
        f.planeEnd = f.plane + channels * f.planeSize;
        f.area = g.KH * g.KW;
        f.run = run;
        f.dil = g.dilW;
        uint256 span = (run - 1) * g.dilW + 1;
        f.lim = span <= 32 ? 1025 - span : 0;
        f.zx = x.zeroPoint;
        if (run < 32) f.mask = ~(type(uint256).max >> (8 * run));
        else f.mask = type(uint256).max;
        // Every tap index ((n*C + c)*H + iy)*W + ix has n < N, c < C, iy < H, ix < W (columnRun and
        // rows keep only in-bounds coordinates; LinearOps checked the shapes), so it is inside x,
        // and every weight offset c*area + ky*KW + kx is inside wTaps.
        uint256 wPtr;
        assembly ("memory-safe") {
            wPtr := add(wTaps, 32)
        }
        f.wPtr = wPtr;
        f.missingSelector = uint256(uint32(OneStepMissingChunk.selector));
        f.id = x.id;
        acc = loop(f);
    }

    /// The loop over channels and in-bounds rows.
    function loop(Frame memory f) private pure returns (int256 acc) {
        // Each term is at most 383 * 128 < 2^16 in magnitude and fewer than 2^64 taps exist, so
        // the two's complement sums below cannot overflow.
        //
        // Frame words (see the struct): 0x00 chunkIndex, 0x20 chunkData, 0x40 cursor, 0x60 plane,
        // 0x80 planeSize, 0xa0 planeEnd, 0xc0 wPtr, 0xe0 area, 0x100 rows, 0x120 run, 0x140 dil,
        // 0x160 lim, 0x180 zx, 0x1a0 mask, 0x1c0 missingSelector, 0x1e0 id.
        //
        // Four copies of the loop, chosen once: one tap per row (1x1 kernels, and rows cut to one
        // column by padding), up to four adjacent taps per row (3x3 kernels), up to 32 adjacent
        // taps, and dilated or wider rows. The first three compute their taps inline: a Yul
        // function call and a switch on the run cost more than the taps of a short row.
        assembly ("memory-safe") {
            // The calldata offset of chunk `c` of x; reverts OneStepMissingChunk(id, c) if it was
            // not proven. Scans from the cursor, wrapping once.
            function find(fr, c) -> data {
                let index := mload(fr)
                let n := mload(index)
                let start := mload(add(fr, 0x40))
                for { let k := 0 } lt(k, n) { k := add(k, 1) } {
                    let j := add(start, k)
                    if iszero(lt(j, n)) { j := sub(j, n) }
                    if eq(mload(add(index, mul(add(j, 1), 32))), c) {
                        mstore(add(fr, 0x40), j)
                        data := mload(add(mload(add(fr, 0x20)), mul(add(j, 1), 32)))
                        leave
                    }
                }
                let p := mload(0x40)
                mstore(p, shl(224, mload(add(fr, 0x1c0))))
                mstore(add(p, 4), mload(add(fr, 0x1e0)))
                mstore(add(p, 0x24), c)
                revert(p, 0x44)
            }

            // Σ_{k < n} (byte k*dil of xw - zx) * (signed byte k of ww): dilated taps.
            function dotStrided(xw, ww, fr) -> s {
                let n := mload(add(fr, 0x120))
                let dil := mload(add(fr, 0x140))
                let zx := mload(add(fr, 0x180))
                let p := 0
                for { let k := 0 } lt(k, n) { k := add(k, 1) } {
                    s := add(s, mul(sub(byte(p, xw), zx), signextend(0, byte(k, ww))))
                    p := add(p, dil)
                }
            }

            // One row tap by tap, looking up the chunk whenever it changes: a row that crosses a
            // chunk boundary or spans more than 32 bytes.
            function slowRow(fr, i, wp) -> s {
                let n := mload(add(fr, 0x120))
                let dil := mload(add(fr, 0x140))
                let zx := mload(add(fr, 0x180))
                let cur := not(0)
                let data := 0
                for { let k := 0 } lt(k, n) { k := add(k, 1) } {
                    if iszero(eq(shr(10, i), cur)) {
                        cur := shr(10, i)
                        data := find(fr, cur)
                    }
                    let xv := byte(0, calldataload(add(data, and(i, 1023))))
                    s := add(s, mul(sub(xv, zx), signextend(0, byte(0, mload(add(wp, k))))))
                    i := add(i, dil)
                }
            }

            // Rows of one tap.
            function loop1(fr) -> total {
                let zx := mload(add(fr, 0x180))
                let cur := not(0)
                let data := 0
                let base := mload(add(fr, 0x60))
                let wch := mload(add(fr, 0xc0))
                for {} lt(base, mload(add(fr, 0xa0))) {
                    base := add(base, mload(add(fr, 0x80)))
                    wch := add(wch, mload(add(fr, 0xe0)))
                } {
                    let rp := add(mload(add(fr, 0x100)), 32)
                    for { let rowsEnd := add(rp, mul(mload(sub(rp, 32)), 32)) } lt(rp, rowsEnd) { rp := add(rp, 64) } {
                        let i := add(base, mload(rp))
                        if iszero(eq(shr(10, i), cur)) {
                            cur := shr(10, i)
                            data := find(fr, cur)
                        }
                        total := add(
                            total,
                            mul(
                                sub(byte(0, calldataload(add(data, and(i, 1023)))), zx),
                                signextend(0, byte(0, mload(add(wch, mload(add(rp, 32))))))
                            )
                        )
                    }
                }
            }

            // Rows of up to four adjacent taps: four taps each, the weights past the run masked to
            // zero (the input bytes they meet are then irrelevant).
            function loop4(fr) -> total {
                let zx := mload(add(fr, 0x180))
                let cur := not(0)
                let data := 0
                let base := mload(add(fr, 0x60))
                let wch := mload(add(fr, 0xc0))
                for {} lt(base, mload(add(fr, 0xa0))) {
                    base := add(base, mload(add(fr, 0x80)))
                    wch := add(wch, mload(add(fr, 0xe0)))
                } {
                    let rp := add(mload(add(fr, 0x100)), 32)
                    for { let rowsEnd := add(rp, mul(mload(sub(rp, 32)), 32)) } lt(rp, rowsEnd) { rp := add(rp, 64) } {
                        let i := add(base, mload(rp))
                        switch lt(and(i, 1023), mload(add(fr, 0x160)))
                        case 0 {
                            total := add(total, slowRow(fr, i, add(wch, mload(add(rp, 32)))))
                            cur := not(0)
                        }
                        default {
                            if iszero(eq(shr(10, i), cur)) {
                                cur := shr(10, i)
                                data := find(fr, cur)
                            }
                            let xw := calldataload(add(data, and(i, 1023)))
                            let ww := and(mload(add(wch, mload(add(rp, 32)))), mload(add(fr, 0x1a0)))
                            total := add(
                                total,
                                add(
                                    add(
                                        mul(sub(byte(0, xw), zx), sar(248, ww)),
                                        mul(sub(byte(1, xw), zx), sar(248, shl(8, ww)))
                                    ),
                                    add(
                                        mul(sub(byte(2, xw), zx), sar(248, shl(16, ww))),
                                        mul(sub(byte(3, xw), zx), sar(248, shl(24, ww)))
                                    )
                                )
                            )
                        }
                    }
                }
            }

            // Rows of 5 to 32 adjacent taps: four taps per iteration, shifting both words.
            function loopWords(fr) -> total {
                let groups := shr(2, add(mload(add(fr, 0x120)), 3))
                let zx := mload(add(fr, 0x180))
                let cur := not(0)
                let data := 0
                let base := mload(add(fr, 0x60))
                let wch := mload(add(fr, 0xc0))
                for {} lt(base, mload(add(fr, 0xa0))) {
                    base := add(base, mload(add(fr, 0x80)))
                    wch := add(wch, mload(add(fr, 0xe0)))
                } {
                    let rp := add(mload(add(fr, 0x100)), 32)
                    for { let rowsEnd := add(rp, mul(mload(sub(rp, 32)), 32)) } lt(rp, rowsEnd) { rp := add(rp, 64) } {
                        let i := add(base, mload(rp))
                        switch lt(and(i, 1023), mload(add(fr, 0x160)))
                        case 0 {
                            total := add(total, slowRow(fr, i, add(wch, mload(add(rp, 32)))))
                            cur := not(0)
                        }
                        default {
                            if iszero(eq(shr(10, i), cur)) {
                                cur := shr(10, i)
                                data := find(fr, cur)
                            }
                            let xw := calldataload(add(data, and(i, 1023)))
                            let ww := and(mload(add(wch, mload(add(rp, 32)))), mload(add(fr, 0x1a0)))
                            for { let k := groups } k { k := sub(k, 1) } {
                                total := add(
                                    total,
                                    add(
                                        add(
                                            mul(sub(byte(0, xw), zx), sar(248, ww)),
                                            mul(sub(byte(1, xw), zx), sar(248, shl(8, ww)))
                                        ),
                                        add(
                                            mul(sub(byte(2, xw), zx), sar(248, shl(16, ww))),
                                            mul(sub(byte(3, xw), zx), sar(248, shl(24, ww)))
                                        )
                                    )
                                )
                                xw := shl(32, xw)
                                ww := shl(32, ww)
                            }
                        }
                    }
                }
            }

            // Dilated rows, or spans over 32 bytes: a word when the row lies inside a chunk and a
            // word, else tap by tap.
            function loopAny(fr) -> total {
                let cur := not(0)
                let data := 0
                let base := mload(add(fr, 0x60))
                let wch := mload(add(fr, 0xc0))
                for {} lt(base, mload(add(fr, 0xa0))) {
                    base := add(base, mload(add(fr, 0x80)))
                    wch := add(wch, mload(add(fr, 0xe0)))
                } {
                    let rp := add(mload(add(fr, 0x100)), 32)
                    for { let rowsEnd := add(rp, mul(mload(sub(rp, 32)), 32)) } lt(rp, rowsEnd) { rp := add(rp, 64) } {
                        let i := add(base, mload(rp))
                        switch lt(and(i, 1023), mload(add(fr, 0x160)))
                        case 0 {
                            total := add(total, slowRow(fr, i, add(wch, mload(add(rp, 32)))))
                            cur := not(0)
                        }
                        default {
                            if iszero(eq(shr(10, i), cur)) {
                                cur := shr(10, i)
                                data := find(fr, cur)
                            }
                            let xw := calldataload(add(data, and(i, 1023)))
                            total := add(total, dotStrided(xw, mload(add(wch, mload(add(rp, 32)))), fr))
                        }
                    }
                }
            }

            let run := mload(add(f, 0x120))
            let adjacent := and(eq(mload(add(f, 0x140)), 1), lt(run, 33))
            switch run
            case 1 { acc := loop1(f) }
            default {
                switch add(adjacent, and(adjacent, lt(run, 5)))
                case 2 { acc := loop4(f) }
                case 1 { acc := loopWords(f) }
                default { acc := loopAny(f) }
            }
        }
    }

    /// The in-bounds kernel columns [kxLo, kxLo + run) of output column ox (a run: the input
    /// column grows with kx) and the input column ix0 of kxLo.
    function columnRun(ConvStep.Window memory g, uint256 ox)
        internal
        pure
        returns (uint256 kxLo, uint256 run, uint256 ix0)
    {
        for (uint256 kx; kx < g.KW; ++kx) {
            (bool inBounds, uint256 ix) = ConvStep.column(g, ox, kx);
            if (!inBounds) continue;
            if (run == 0) (kxLo, ix0) = (kx, ix);
            run = kx + 1 - kxLo;
        }
    }

    /// Per in-bounds kernel row ky of output row oy, two words: iy * W + ix0 and ky * KW + kxLo.
    function rows(ConvStep.Window memory g, uint256 oy, uint256 kxLo, uint256 ix0)
        private
        pure
        returns (uint256[] memory r)
    {
        r = new uint256[](2 * g.KH);
        uint256 n;
        for (uint256 ky; ky < g.KH; ++ky) {
            (bool inBounds, uint256 iy) = ConvStep.row(g, oy, ky);
            if (!inBounds) continue;
            r[n] = iy * g.W + ix0;
            r[n + 1] = ky * g.KW + kxLo;
            n += 2;
        }
        assembly ("memory-safe") {
            mstore(r, n)
        }
    }
}
