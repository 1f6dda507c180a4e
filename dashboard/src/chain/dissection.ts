// The range a dispute game still disputes after each move, from the game's events. The trees are
// binary (src/dispute/tree.ts): a node of height h at position p covers leaves [p·2^h, (p+1)·2^h),
// cut at the tree's real leaf count. Ops first, then one op's output chunks, then a chunk's bytes;
// for a conv split into S segments, then the worker's S + 1 partial-sum leaves (the prefix sums
// after each segment, and last its byte), down to the one leaf the segment step checks.
import { decodeFunctionData, encodeAbiParameters, type Hex, keccak256 } from 'viem';
import { abis } from '../../../src/chain/bindings/systemAbis.ts';
import { CHUNK_BYTES as CHUNK } from '../../../src/commit/tensorRoot.ts';
import type { GameRow } from './model.ts';

const CHUNK_BYTES = BigInt(CHUNK);

export interface Range {
  level: 'ops' | 'chunks' | 'bytes' | 'partial sums';
  size: bigint;
  lo: bigint;
  hi: bigint;
}

/** The range left in dispute after each of the game's moves (one entry per move). */
export function ranges(g: GameRow): Range[] {
  let ops: Range = { level: 'ops', size: g.opCount, lo: 0n, hi: g.opCount };
  let chunks: Range | undefined;
  let sums: Range | undefined;
  const out: Range[] = [];
  for (const m of g.moves) {
    const a = m.args;
    if (m.kind === 'ChildPicked' || m.kind === 'NodesRevealed') {
      const h = BigInt(a.height as bigint);
      const p = BigInt(a.position as bigint);
      const phase = Number(a.phase);
      // GameTypes.Phase: 2 and 3 walk the trace (op) tree, 6 and 7 a chunk tree, 12 and 13 the
      // partial-sum tree.
      const onOps = phase === 2 || phase === 3;
      const onSums = phase === PREFIX_PICK || phase === PREFIX_NODES;
      const base = onOps ? ops : onSums ? sums : chunks;
      if (base) {
        const lo = p << h;
        const hi = (p + 1n) << h;
        const next = { ...base, lo, hi: hi < base.size ? hi : base.size };
        if (onOps) ops = next;
        else if (onSums) sums = next;
        else chunks = next;
        out.push(next);
        continue;
      }
    } else if (m.kind === 'OpNamed') {
      const i = BigInt(a.opIndex as bigint);
      ops = { ...ops, lo: i, hi: i + 1n };
      const n = (BigInt(a.outputLength as bigint) + CHUNK_BYTES - 1n) / CHUNK_BYTES;
      chunks = { level: 'chunks', size: n, lo: 0n, hi: n };
      out.push(ops);
      continue;
    } else if (m.kind === 'TensorRevealed' && chunks) {
      out.push(chunks);
      continue;
    } else if (m.kind === 'ChunkRevealed') {
      const i = BigInt(a.chunkIndex as bigint);
      const len = BigInt(((a.chunk as Hex).length - 2) / 2);
      chunks = { level: 'chunks', size: chunks?.size ?? i + 1n, lo: i, hi: i + 1n };
      out.push({ level: 'bytes', size: len, lo: 0n, hi: len });
      continue;
    } else if (m.kind === 'ElementNamed') {
      const e = BigInt(a.element as bigint);
      const last = out[out.length - 1];
      const size = last?.level === 'bytes' ? last.size : CHUNK_BYTES;
      // An offset in the revealed chunk (GameTypes.Phase.ChallengerElement).
      out.push({ level: 'bytes', size, lo: e, hi: e + 1n });
      continue;
    } else if (m.kind === 'PrefixRevealed') {
      const leaves = BigInt(a.segments as bigint) + 1n;
      sums = { level: 'partial sums', size: leaves, lo: 0n, hi: leaves };
      out.push(sums);
      continue;
    } else if (m.kind === 'SegmentVerified') {
      const i = BigInt(a.segment as bigint);
      sums = { level: 'partial sums', size: sums?.size ?? i + 1n, lo: i, hi: i + 1n };
      out.push(sums);
      continue;
    }
    out.push(out[out.length - 1] ?? ops);
  }
  return out;
}

/** GameTypes.Phase.ChallengerPrefixPick and WorkerPrefixNodes. */
const PREFIX_PICK = 12;
const PREFIX_NODES = 13;

/** The worker's claims in the partial-sum tree: each node the challenger picked, as the worker revealed it. */
export interface PrefixClaim {
  /** The leaves the node covers: [lo, hi) of S + 1. */
  lo: bigint;
  hi: bigint;
  /** The worker's hash of that node (a leaf: keccak256(abi.encode(int256 sum))). */
  node: Hex;
}

export function prefixClaims(g: GameRow): PrefixClaim[] {
  let children: Hex[] = [];
  let size = 0n;
  const out: PrefixClaim[] = [];
  for (const m of g.moves) {
    const a = m.args;
    if (m.kind === 'PrefixRevealed') {
      size = BigInt(a.segments as bigint) + 1n;
      children = [...(a.children as Hex[])];
    } else if (m.kind === 'NodesRevealed' && Number(a.phase) === PREFIX_NODES)
      children = [...(a.children as Hex[])];
    else if (m.kind === 'ChildPicked' && Number(a.phase) === PREFIX_PICK && children.length > 0) {
      const h = BigInt(a.height as bigint);
      const p = BigInt(a.position as bigint);
      const hi = (p + 1n) << h;
      // The picked child's index among the revealed ones: the low bits of its position.
      const node = children[Number(p % BigInt(children.length))];
      out.push({ lo: p << h, hi: hi < size ? hi : size, node });
    }
  }
  return out;
}

/** A partial-sum leaf as the contract hashes it (DisputeGame._valueLeaf). */
export const valueLeaf = (v: bigint): Hex => keccak256(encodeAbiParameters([{ type: 'int256' }], [v]));

export interface SegmentStep {
  segment: bigint;
  segments: bigint;
  /** i = S: the requantization of bias + the total to the worker's byte. */
  final: boolean;
  /** The worker's proven sum before this segment (from the step's calldata), when read. */
  before?: bigint;
  /** What the contract computed: the prefix sum after segment i, or the requantized byte. */
  value: bigint;
  /** What the worker claimed there: its leaf's hash, or its byte. */
  claimed: Hex | bigint;
  /** The recomputed value hashed as a leaf (i < S), to set beside the worker's hash. */
  recomputedLeaf?: Hex;
  workerLost: boolean;
}

/** The game's segment step, if it reached one; `input` is the step transaction's calldata. */
export function segmentStep(g: GameRow, input?: Hex): SegmentStep | undefined {
  const step = g.moves.find((m) => m.kind === 'SegmentVerified');
  const prefix = g.moves.find((m) => m.kind === 'PrefixRevealed');
  const named = g.moves.find((m) => m.kind === 'ElementNamed');
  if (!step || !prefix) return undefined;
  const segment = BigInt(step.args.segment as bigint);
  const segments = BigInt(prefix.args.segments as bigint);
  const value = BigInt(step.args.value as bigint);
  const final = segment === segments;
  let before: bigint | undefined;
  if (input) {
    try {
      const call = decodeFunctionData({ abi: abis.disputeGame, data: input });
      if (call.functionName === 'submitSegmentStep') before = call.args[2] as bigint;
    } catch {
      // Not a direct call to the game (a contract sent it): the sum before is not shown.
    }
  }
  if (final) {
    const byte = BigInt((named?.args.workerByte as bigint | undefined) ?? -1n);
    return { segment, segments, final, before, value, claimed: byte, workerLost: value !== byte };
  }
  const claim = prefixClaims(g).find((c) => c.lo === segment && c.hi === segment + 1n);
  const recomputedLeaf = valueLeaf(value);
  const claimed = claim?.node ?? ('0x' as Hex);
  return {
    segment,
    segments,
    final,
    before,
    value,
    claimed,
    recomputedLeaf,
    workerLost: claimed !== recomputedLeaf,
  };
}
