// How an avgpool's window sum is split into committed partial sums when one output element has
// too many taps for one step: contracts/verify/PoolSegments.sol, mirrored exactly (the game, the
// witness and the gas bound must agree on every segment). A global average pool over a 56x56 or
// 112x112 plane (squeeze-excitation at 224x224) sums 3136 or 12544 taps; in segments of whole
// kernel rows each step sums at most 1024. src/dispute/segments.ts plays the partial-sum level.
import type { SegmentPlan } from './convSegments.ts';

/** Window taps above which an avgpool is split, the most one segment may sum, and read. */
export const POOL_SPLIT_TAPS = 1024;
export const POOL_SEGMENT_TAPS = 1024;
export const POOL_SEGMENT_CHUNKS = 8;
const CHUNK = 1024;

/**
 * PoolSegments.plan: the split of a kH x kW window over rows W bytes apart; `channels` is then
 * the number of kernel rows per segment.
 */
export function poolPlan(kH: number, kW: number, W: number): SegmentPlan {
  if (kH === 0 || kW === 0 || W === 0 || kH * kW <= POOL_SPLIT_TAPS) return { channels: kH, segments: 0 };
  const perRow = Math.floor((kW + 1022) / CHUNK) + 1;
  let rows = Math.floor(POOL_SEGMENT_CHUNKS / perRow);
  const limit = (POOL_SEGMENT_CHUNKS - 1) * CHUNK + 1;
  if (kW <= limit) rows = Math.max(rows, Math.floor((limit - kW) / W) + 1);
  rows = Math.max(1, Math.min(rows, Math.floor(POOL_SEGMENT_TAPS / kW)));
  return { channels: rows, segments: Math.ceil(kH / rows) };
}
