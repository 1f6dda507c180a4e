// The range a dispute game still disputes after each move, from the game's events. The trees are
// binary (src/dispute/tree.ts): a node of height h at position p covers leaves [p·2^h, (p+1)·2^h),
// cut at the tree's real leaf count. Ops first, then one op's output chunks, then a chunk's bytes.
import type { Hex } from 'viem';
import { CHUNK_BYTES as CHUNK } from '../../../src/commit/tensorRoot.ts';
import type { GameRow } from './model.ts';

const CHUNK_BYTES = BigInt(CHUNK);

export interface Range {
  level: 'ops' | 'chunks' | 'bytes';
  size: bigint;
  lo: bigint;
  hi: bigint;
}

/** The range left in dispute after each of the game's moves (one entry per move). */
export function ranges(g: GameRow): Range[] {
  let ops: Range = { level: 'ops', size: g.opCount, lo: 0n, hi: g.opCount };
  let chunks: Range | undefined;
  const out: Range[] = [];
  for (const m of g.moves) {
    const a = m.args;
    if (m.kind === 'ChildPicked' || m.kind === 'NodesRevealed') {
      const h = BigInt(a.height as bigint);
      const p = BigInt(a.position as bigint);
      const phase = Number(a.phase);
      // GameTypes.Phase: 2 and 3 walk the trace (op) tree, 6 and 7 a chunk tree.
      const onOps = phase === 2 || phase === 3;
      const base = onOps ? ops : chunks;
      if (base) {
        const lo = p << h;
        const hi = (p + 1n) << h;
        const next = { ...base, lo, hi: hi < base.size ? hi : base.size };
        if (onOps) ops = next;
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
    }
    out.push(out[out.length - 1] ?? ops);
  }
  return out;
}
