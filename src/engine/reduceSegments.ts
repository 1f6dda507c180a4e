// How a reducemean's reduction is split into committed partial sums when one output element reads
// too many input chunks for one step: contracts/verify/ReduceSegments.sol, mirrored exactly (the
// game, the witness and the gas bound must agree on every segment). A mean over a strided axis,
// e.g. over the tokens of [N,T,d], reads one value every d bytes: at T = 128, d = 256 that is 33
// chunks. src/dispute/segments.ts plays the partial-sum level.
import type { SegmentPlan } from './convSegments.ts';

/** Chunks of x above which a reducemean is split, the most one segment may read, and its taps. */
export const REDUCE_SPLIT_CHUNKS = 8;
export const REDUCE_SEGMENT_CHUNKS = 8;
export const REDUCE_SEGMENT_TAPS = 1024;
const CHUNK = 1024;

/** The chunks n values `inner` bytes apart touch at most, wherever they start. */
function reads(n: number, inner: number): number {
  return Math.min(n, Math.floor(((n - 1) * inner + 1 + 1022) / CHUNK) + 1);
}

/**
 * ReduceSegments.plan: the split of a reduced axis of `len` values `inner` elements apart;
 * `channels` is then the number of values of the axis per segment.
 */
export function reducePlan(len: number, inner: number): SegmentPlan {
  if (len === 0 || inner === 0 || reads(len, inner) <= REDUCE_SPLIT_CHUNKS)
    return { channels: len, segments: 0 };
  const taps = Math.min(
    REDUCE_SEGMENT_TAPS,
    Math.max(REDUCE_SEGMENT_CHUNKS, Math.floor(((REDUCE_SEGMENT_CHUNKS - 1) * CHUNK) / inner) + 1),
  );
  return { channels: taps, segments: Math.ceil(len / taps) };
}
