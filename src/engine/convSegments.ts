// How a conv's reduction over input channels is split into committed partial sums when one output
// element reads too many input chunks for one step: contracts/verify/ConvSegments.sol, mirrored
// exactly (the game, the witness and the gas bound must agree on every segment). In NCHW every
// input channel plane of 1 KiB or more is its own chunk per tap row, so a real CNN at full
// resolution needs this on most layers. src/dispute/segments.ts plays the partial-sum level.

/** Chunks of x above which a conv is split, and the most one segment may read. */
export const SPLIT_CHUNKS = 8;
export const SEGMENT_CHUNKS = 8;
const CHUNK = 1024;

/** How op k's reduction is split: channels per segment and the segment count (0: one step). */
export interface SegmentPlan {
  channels: number;
  segments: number;
}

function reads(channels: number, plane: number, perChannel: number): number {
  return Math.min(channels * perChannel, Math.floor((channels * plane + 1022) / CHUNK) + 1);
}

/** ConvSegments.plan: the split of a group of Cg channels of H x W planes, KH x KW kernel. */
export function convPlan(
  Cg: number,
  H: number,
  W: number,
  KH: number,
  KW: number,
  dilH: number,
  dilW: number,
): SegmentPlan {
  const plane = H * W;
  if (Cg === 0 || plane === 0 || KH === 0 || KW === 0) return { channels: Cg, segments: 0 };
  const perChannel = Math.floor(((KH - 1) * dilH * W + (KW - 1) * dilW + 1 + 1022) / CHUNK) + 1;
  if (reads(Cg, plane, perChannel) <= SPLIT_CHUNKS) return { channels: Cg, segments: 0 };
  const sparse = Math.floor(SEGMENT_CHUNKS / perChannel);
  const dense = Math.floor(((SEGMENT_CHUNKS - 1) * CHUNK + 1) / plane);
  const channels = Math.max(1, sparse, dense);
  return { channels, segments: Math.ceil(Cg / channels) };
}
