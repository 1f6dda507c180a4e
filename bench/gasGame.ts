// The dispute half of the gas benchmark (bench/gas.ts): one-step verifications of chosen elements
// of every op, cheating traces that reach a chosen op and the model's output, and full games
// played on chain between a cheating worker and an honest challenger.
import type { Hex } from 'viem';
import { maxMovesPerParty } from '../src/dispute/machine.ts';
import { estimateComputeElementGas } from '../src/dispute/onestep.ts';
import {
  corruptedTrace,
  outputChangingTrace,
  type TraceProvider,
  traceProvider,
} from '../src/dispute/party.ts';
import { gameIdFromLogs } from '../src/dispute/play.ts';
import { neededChunks } from '../src/dispute/witness.ts';
import type { Model } from '../src/engine/graph.ts';
import { runReference } from '../src/engine/interpreter.ts';
import type { Tensor } from '../src/engine/tensor.ts';
import { play, postTask } from '../test/game/support.ts';
import { receiptOf, type World } from '../test/market/support.ts';

/** The per-transaction gas cap of EIP-7825 (2^24); the embedded chain itself enforces none. */
export const TX_GAS_CAP = 2 ** 24;

/** A model with one input, its honest trace and its registered root. */
export interface BenchModel {
  name: string;
  model: Model;
  root: Hex;
  input: Tensor;
  trace: Tensor[];
  honest: TraceProvider;
}

export function benchModel(name: string, model: Model, root: Hex, input: Tensor): BenchModel {
  const trace = runReference(model, input).trace;
  return { name, model, root, input, trace, honest: traceProvider(model, input, trace) };
}

/** The one-step verification of one output element, as a transaction (eth_estimateGas). */
export interface StepGas {
  op: number;
  type: string;
  name: string;
  element: number;
  /** Why this element was measured: first, middle, last, mostChunks. */
  picks: string[];
  /** Input chunks the witness carries. */
  chunks: number;
  gas?: number;
  /** Set when eth_estimateGas failed: the first line of its error. */
  error?: string;
}

/** A bounded sample of elements: evenly spaced and seeded pseudo-random ones. */
function sampleElements(n: number, count: number): number[] {
  const out = new Set<number>();
  for (let i = 0; i < count; i++) out.add(Math.floor((i * (n - 1)) / Math.max(1, count - 1)));
  let x = 0x2545f491;
  for (let i = 0; i < count; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out.add(x % n);
  }
  return [...out].sort((a, b) => a - b);
}

/** The elements of op k worth measuring: first, middle, last, the one (of a bounded sample) whose
 * witness carries the most chunks, and `spread` more evenly spaced ones. */
export function candidateElements(
  m: BenchModel,
  k: number,
  spread = 0,
  samples = 256,
): { element: number; picks: string[]; chunks: number }[] {
  const n = m.trace[k].data.length;
  const chunksAt = (e: number) =>
    neededChunks(m.model, m.input, m.trace, k, e).reduce((s, c) => s + c.length, 0);
  let most = 0;
  let mostChunks = chunksAt(0);
  for (const e of sampleElements(n, samples)) {
    const c = chunksAt(e);
    if (c > mostChunks) {
      most = e;
      mostChunks = c;
    }
  }
  const picks = new Map<number, string[]>();
  const add = (e: number, why: string) => picks.set(e, [...(picks.get(e) ?? []), why]);
  add(0, 'first');
  add(Math.floor(n / 2), 'middle');
  add(n - 1, 'last');
  add(most, 'mostChunks');
  for (let i = 1; i <= spread; i++) add(Math.floor((i * n) / (spread + 1)), 'spread');
  return [...picks].map(([element, why]) => ({ element, picks: why, chunks: chunksAt(element) }));
}

/** The gas of every candidate element of op k; estimate failures are recorded, not thrown. */
export async function measureOp(w: World, m: BenchModel, k: number, spread = 0): Promise<StepGas[]> {
  const op = m.model.ops[k];
  const out: StepGas[] = [];
  for (const c of candidateElements(m, k, spread)) {
    const s: StepGas = { op: k, type: op.type, name: op.name, ...c };
    try {
      const gas = await estimateComputeElementGas(
        w.chain.publicClient,
        w.v.addresses.verifier,
        m.honest.step(k, c.element),
        w.accounts[0],
      );
      s.gas = Number(gas);
    } catch (err) {
      s.error = (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 200);
    }
    out.push(s);
  }
  return out;
}

/** The measured element of largest gas (undefined if none could be estimated). */
export function worstOf(steps: readonly StepGas[]): StepGas | undefined {
  let best: StepGas | undefined;
  for (const s of steps) if (s.gas !== undefined && (!best || s.gas > best.gas!)) best = s;
  return best;
}

function firstDifference(a: readonly Tensor[], b: readonly Tensor[]): { op: number; element: number } {
  for (let k = 0; k < a.length; k++) {
    const e = a[k].data.findIndex((v, i) => v !== b[k].data[i]);
    if (e >= 0) return { op: k, element: e };
  }
  return { op: -1, element: -1 };
}

export interface Cheat {
  trace: Tensor[];
  /**
   * How it was made: op k's chosen element corrupted and propagated (corruptedTrace), the first
   * element of op k that reaches the output (outputChangingTrace), or the chosen element corrupted
   * and propagated with the output forged as well, when no single corruption reaches the output.
   */
  how: 'corruptedTrace' | 'outputChangingTrace' | 'corruptedTrace+forgedOutput';
  delta: number;
  /** The first op (and element) where it differs from the honest trace: where the game should end. */
  firstWrongOp: number;
  firstWrongElement: number;
  reachesOutput: boolean;
}

/**
 * A cheater's trace whose first wrong op is k and whose output differs: op k's element `element`
 * corrupted by each delta in turn; else outputChangingTrace with each delta; else the first of
 * those with the model's output forged too (the game still ends at op k, the first wrong op).
 */
export function cheatAt(m: BenchModel, k: number, element: number, deltas: readonly number[]): Cheat {
  const last = m.trace.length - 1;
  const judge = (trace: Tensor[], how: Cheat['how'], delta: number): Cheat => {
    const d = firstDifference(trace, m.trace);
    const reachesOutput = trace[last].data.some((v, i) => v !== m.trace[last].data[i]);
    return { trace, how, delta, firstWrongOp: d.op, firstWrongElement: d.element, reachesOutput };
  };
  const good = (c: Cheat) => c.reachesOutput && c.firstWrongOp === k;
  let first: Cheat | undefined;
  for (const delta of deltas) {
    const c = judge(corruptedTrace(m.model, m.input, k, element, { delta }), 'corruptedTrace', delta);
    if (good(c)) return c;
    first ??= c;
  }
  for (const delta of deltas) {
    const c = judge(outputChangingTrace(m.model, m.input, k, delta), 'outputChangingTrace', delta);
    if (good(c)) return c;
  }
  const trace = [...first!.trace];
  if (k < last) {
    const out = trace[last];
    const data = Uint8Array.from(out.data);
    data[0] = (data[0] + 1) & 255;
    trace[last] = { ...out, data };
  }
  return judge(trace, 'corruptedTrace+forgedOutput', first!.delta);
}

export interface GameGas {
  model: string;
  outcome: number;
  /** Where the game ended: the op and element it re-executed. */
  op: number;
  opType: string;
  element: number;
  challenge: number;
  moves: { by: 'worker' | 'challenger'; move: string; gas: number; reverted?: string }[];
  /** Challenge transaction plus every move. */
  total: number;
  worker: number;
  /** Including the challenge transaction. */
  challenger: number;
  /** src/dispute/machine.ts maxMovesPerParty for this model (the challenger's without the challenge). */
  bound: { worker: number; challenger: number };
  maxMove: { move: string; gas: number };
  submitStep?: number;
  /** computeElement of the same step as a plain transaction (eth_estimateGas), for comparison. */
  computeElement?: number;
  overTxGasCap: string[];
}

/** Posts the cheater's result, challenges it and plays the game out; returns every move's gas. */
export async function playGame(
  w: World,
  m: BenchModel,
  cheat: Cheat,
  parties: { requester: number; worker: number; challenger: number },
): Promise<GameGas> {
  const worker = traceProvider(m.model, m.input, cheat.trace);
  const posted = await postTask(w, parties.requester, parties.worker, worker, m.root);
  const receipt = await receiptOf(
    w,
    w.v.as(w.chain.wallet(parties.challenger)).taskMarket.write.challenge([posted.task, posted.result], {
      value: w.v.params.task.challengeBond,
    }),
  );
  const gameId = gameIdFromLogs(receipt.logs, w.v.addresses.disputeGame);
  const r = await play(
    w,
    gameId,
    { wallet: w.chain.wallet(parties.worker), trace: worker },
    { wallet: w.chain.wallet(parties.challenger), trace: m.honest },
  );
  const g = await w.v.disputeGame.read.game([gameId]);
  const challenge = Number(receipt.gasUsed);
  const moves = r.moves.map((x) => ({
    by: x.by,
    move: x.move,
    gas: Number(x.gasUsed),
    ...(x.reverted ? { reverted: x.reverted } : {}),
  }));
  const all = [{ move: 'challenge', gas: challenge }, ...moves];
  const maxMove = all.reduce((a, b) => (b.gas > a.gas ? b : a));
  const maxChunks = Math.max(...m.model.ops.map((_, k) => worker.chunkTree(k).leafLimit));
  const op = Number(g.opIndex);
  let computeElement: number | undefined;
  try {
    const step = m.honest.step(op, Number(g.element));
    const from = w.accounts[0];
    computeElement = Number(
      await estimateComputeElementGas(w.chain.publicClient, w.v.addresses.verifier, step, from),
    );
  } catch {
    // Reported as absent.
  }
  return {
    model: m.name,
    outcome: r.outcome,
    op,
    opType: m.model.ops[op]?.type ?? '',
    element: Number(g.element),
    challenge,
    moves,
    total: challenge + Number(r.totalGas),
    worker: moves.filter((x) => x.by === 'worker').length,
    challenger: moves.filter((x) => x.by === 'challenger').length + 1,
    bound: maxMovesPerParty(m.model.ops.length, maxChunks),
    maxMove: { move: maxMove.move, gas: maxMove.gas },
    submitStep: moves.find((x) => x.move === 'submitStep' && !x.reverted)?.gas,
    computeElement,
    overTxGasCap: all.filter((x) => x.gas > TX_GAS_CAP).map((x) => x.move),
  };
}
