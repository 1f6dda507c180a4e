// Shared helpers of the on-chain differential tests: a seeded random source, the deployed
// OneStepHarness on an embedded EDR chain, batching and mismatch reports.
import assert from 'node:assert/strict';
import type { Abi, Address, Hex } from 'viem';
import { deployArtifact } from '../../src/chain/deploy.ts';
import { type EmbeddedChain, startEmbeddedChain } from '../../src/chain/embedded.ts';

/** VERINFER_FUZZ_RUNS multiplies the number of random cases (default 1). */
export const RUNS = Math.max(1, Math.floor(Number(process.env.VERINFER_FUZZ_RUNS) || 1));
/** VERINFER_FUZZ_SEED replays a run; the seed is printed with every mismatch. */
export const SEED = Number(process.env.VERINFER_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

export interface Rng {
  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number;
  /** Uniform bigint in [lo, hi]. */
  big(lo: bigint, hi: bigint): bigint;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** A u8 value, often 0 or 255. */
  u8(): number;
  /** An i8 value, often -128 or 127. */
  i8(): number;
  bytes(n: number): Uint8Array;
}

/** A seeded random source (mulberry32); each test derives its own stream from SEED. */
export function rng(stream: number): Rng {
  let a = (SEED ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const big = (lo: bigint, hi: bigint) => {
    const span = hi - lo + 1n;
    let r = 0n;
    for (let bits = 0n; 1n << bits < span * 2n ** 32n; bits += 32n)
      r = (r << 32n) | BigInt(int(0, 2 ** 32 - 1));
    return lo + (r % span);
  };
  const chance = (p: number) => next() < p;
  return {
    int,
    big,
    chance,
    pick: (items) => items[int(0, items.length - 1)],
    u8: () => (chance(0.15) ? 0 : chance(0.18) ? 255 : int(0, 255)),
    i8: () => (chance(0.15) ? -128 : chance(0.18) ? 127 : int(-128, 127)),
    bytes: (n) => Uint8Array.from({ length: n }, () => int(0, 255)),
  };
}

export interface Harness {
  chain: EmbeddedChain;
  address: Address;
  abi: Abi;
  /** eth_call of a harness function. */
  call<T>(fn: string, ...args: unknown[]): Promise<T>;
  close(): Promise<void>;
}

/** Starts an embedded chain and deploys contracts/test/OneStepHarness.sol (compiled on demand). */
export async function startHarness(name = 'OneStepHarness'): Promise<Harness> {
  const chain = await startEmbeddedChain();
  const { address, contract } = await deployArtifact(chain, name);
  const abi = contract.abi;
  return {
    chain,
    address,
    abi,
    call: async <T>(fn: string, ...args: unknown[]) =>
      (await chain.publicClient.readContract({ address, abi, functionName: fn, args })) as T,
    close: () => chain.close(),
  };
}

/** Splits `items` into runs of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs `fn` on batches of `size` cases and concatenates the results. */
export async function batched<C, R>(
  cases: readonly C[],
  size: number,
  fn: (batch: C[]) => Promise<readonly R[]>,
) {
  const out: R[] = [];
  for (const batch of chunks(cases, size)) out.push(...(await fn(batch)));
  return out;
}

/**
 * Like `batched`, but a batch holds at most `budget` units of `weight` (at least one case).
 * EDR keeps a trace of every EVM step of a call in memory, so calls must stay moderate.
 */
export async function batchedBy<C, R>(
  cases: readonly C[],
  weight: (c: C) => number,
  budget: number,
  fn: (batch: C[]) => Promise<readonly R[]>,
) {
  const out: R[] = [];
  let batch: C[] = [];
  let used = 0;
  for (const c of cases) {
    const w = weight(c);
    if (batch.length > 0 && used + w > budget) {
      out.push(...(await fn(batch)));
      batch = [];
      used = 0;
    }
    batch.push(c);
    used += w;
  }
  if (batch.length > 0) out.push(...(await fn(batch)));
  return out;
}

/** Bytes for an ABI `bytes` argument. */
export function hex(bytes: Uint8Array | Int8Array): Hex {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
}

/** JSON with bigints and typed arrays, for mismatch reports. */
export function show(value: unknown): string {
  return JSON.stringify(value, (_, v) =>
    typeof v === 'bigint' ? `${v}n` : ArrayBuffer.isView(v) ? Array.from(v as Uint8Array) : v,
  );
}

/** The number of cases compared so far, by what was compared (for the summary diagnostics). */
export const COMPARED = new Map<string, number>();

/**
 * Asserts got[i] === want[i] for every case, and on the first mismatch fails with the case, both
 * values and the seed that replays it.
 */
export function expectSame(
  what: string,
  cases: readonly unknown[],
  got: readonly (number | bigint)[],
  want: readonly (number | bigint)[],
): void {
  assert.equal(got.length, want.length, `${what}: ${got.length} results for ${want.length} cases`);
  const key = what.replace(/ \[.*$/, '');
  COMPARED.set(key, (COMPARED.get(key) ?? 0) + want.length);
  for (let i = 0; i < want.length; i++) {
    if (BigInt(got[i]) !== BigInt(want[i])) {
      assert.fail(
        `${what}: case ${i} of ${want.length}: Solidity ${got[i]}, reference ${want[i]}` +
          ` (VERINFER_FUZZ_SEED=${SEED})\ncase: ${show(cases[i])}`,
      );
    }
  }
}

/** floor(a / b) for bigint, b > 0. */
export function floorDivBig(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b < 0n ? q - 1n : q;
}
