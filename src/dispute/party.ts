// One party's view of a run, behind the narrow interface the dispute logic needs: "give me the
// roots, the chunk and the proof for op k". Built on demand when a result is disputed: the engine
// is deterministic, so an honest worker re-runs the model and gets back the trace it never hashed.
import type { Hex } from 'viem';
import { fromHex, type Hash, keccak256, toHex } from '../commit/keccak.ts';
import { CHUNK_BYTES, tensorBytes, tensorRootFromDataRoot } from '../commit/tensorRoot.ts';
import { checkpointIndex } from '../commit/traceRoot.ts';
import { batchedShape, type Model } from '../engine/graph.ts';
import { runOp, runReference } from '../engine/interpreter.ts';
import type { Tensor } from '../engine/tensor.ts';
import { prefixLeaves, prefixSums, segmentNeeds, segmentPlan } from './segments.ts';
import { DissectionTree } from './tree.ts';
import { buildOneStepWitness, type Step, WitnessCache } from './witness.ts';

/** What a party claims for one op output: its chunks (their hashes are the chunk-tree leaves) and
 * the byte length wrapped into its root. An honest party's are the 1 KiB chunks of the bytes. */
export interface OpClaim {
  chunks: Uint8Array[];
  /** The chunk-tree leaves; keccak256 of each chunk unless a dishonest party says otherwise. */
  leaves: Hash[];
  byteLength: number;
}

export interface TraceProvider {
  readonly model: Model;
  readonly input: Tensor;
  readonly batch: number;
  readonly inputRoot: Hex;
  /** The data root under the input root (its byte length fixes the batch). */
  readonly inputDataRoot: Hex;
  readonly opRoots: readonly Hex[];
  /** Root of the trace tree: one leaf per op output root, zero-padded. */
  readonly traceRoot: Hex;
  readonly outputRoot: Hex;
  readonly checkpointRoot: Hex;
  readonly traceTree: DissectionTree;
  /** The bytes this party claims for op k's output (the concatenation of its chunks). */
  opBytes(k: number): Uint8Array;
  /** The chunk tree of op k's output. */
  chunkTree(k: number): DissectionTree;
  /** Chunk c of op k's output, as this party would reveal it. */
  chunk(k: number, c: number): Uint8Array;
  /** The one-step witness of element `element` of op k, from this party's own trace. */
  step(k: number, element: number): Step;
  /**
   * The partial-sum tree this party commits for element `element` of op k (segments.ts): S prefix
   * sums and its byte. Undefined for an op whose reduction is not split.
   */
  prefix(k: number, element: number): Prefix | undefined;
  /** The witness of the step of segment i (0 … S) of element `element` of op k. */
  segmentStep(k: number, element: number, segment: number): Step;
}

/** A party's partial sums of one element and the tree over them (leaf S: its byte). */
export interface Prefix {
  sums: readonly number[];
  tree: DissectionTree;
}

/** The 1 KiB chunks of a tensor's committed bytes (one empty chunk for an empty tensor). */
export function splitChunks(bytes: Uint8Array): Uint8Array[] {
  const n = Math.max(1, Math.ceil(bytes.length / CHUNK_BYTES));
  return Array.from({ length: n }, (_, i) => bytes.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES));
}

export function honestClaim(bytes: Uint8Array): OpClaim {
  const chunks = splitChunks(bytes);
  return { chunks, leaves: chunks.map((c) => keccak256(c)), byteLength: bytes.length };
}

/** What a dishonest party may change in what it commits (tests play these attacks). */
export interface ClaimOverrides {
  /** Replaces what the party commits for some op outputs: wrong lengths, odd chunks, padding. */
  claims?: ReadonlyMap<number, OpClaim>;
  /** Leaves appended after the op roots in the trace tree (an honest tree pads with zeros). */
  tracePadding?: readonly Hash[];
  /** Replaces the partial sums the party commits (given the honest ones) for op k's element. */
  prefixSums?: (k: number, element: number, honest: readonly number[]) => readonly number[];
}

/** A TraceProvider over a complete trace (every op output, in op order). */
export function traceProvider(
  model: Model,
  input: Tensor,
  trace: readonly Tensor[],
  overrides: ClaimOverrides = {},
): TraceProvider {
  const claims = overrides.claims ?? new Map<number, OpClaim>();
  const inputClaim = honestClaim(tensorBytes(input.dtype, input.data));
  const inputTree = new DissectionTree(inputClaim.leaves);
  const claimOf = new Map<number, OpClaim>();
  const claim = (k: number): OpClaim => {
    let c = claims.get(k) ?? claimOf.get(k);
    if (!c) {
      c = honestClaim(tensorBytes(trace[k].dtype, trace[k].data));
      claimOf.set(k, c);
    }
    return c;
  };
  const trees = new Map<number, DissectionTree>();
  const chunkTree = (k: number) => {
    let t = trees.get(k);
    if (!t) {
      t = new DissectionTree(claim(k).leaves);
      trees.set(k, t);
    }
    return t;
  };
  const opRoots = trace.map((_, k) => {
    const c = claim(k);
    return toHex(tensorRootFromDataRoot(chunkTree(k).levels[chunkTree(k).height][0], c.byteLength));
  });
  const traceTree = new DissectionTree([...opRoots.map(fromHex), ...(overrides.tracePadding ?? [])]);
  const cache = new WitnessCache();
  const run = { model, input, trace };
  const prefixes = new Map<string, Prefix>();
  const prefix = (k: number, element: number): Prefix | undefined => {
    if (segmentPlan(model, k).segments === 0) return undefined;
    const key = `${k}:${element}`;
    let p = prefixes.get(key);
    if (!p) {
      const honest = prefixSums(run, k, element);
      const sums = overrides.prefixSums?.(k, element, honest) ?? honest;
      const byte = claim(k).chunks[Math.floor(element / CHUNK_BYTES)]?.[element % CHUNK_BYTES] ?? 0;
      p = { sums, tree: new DissectionTree(prefixLeaves(sums, byte)) };
      prefixes.set(key, p);
    }
    return p;
  };
  return {
    model,
    input,
    batch: input.shape[0],
    inputRoot: toHex(tensorRootFromDataRoot(inputTree.levels[inputTree.height][0], inputClaim.byteLength)),
    inputDataRoot: inputTree.root,
    opRoots,
    traceRoot: traceTree.root,
    outputRoot: opRoots[opRoots.length - 1],
    checkpointRoot: opRoots[checkpointIndex(opRoots.length)],
    traceTree,
    opBytes: (k) => Buffer.concat(claim(k).chunks),
    chunkTree,
    chunk: (k, c) => claim(k).chunks[c] ?? new Uint8Array(),
    step: (k, element) => buildOneStepWitness(model, input, [...trace], k, element, cache),
    prefix,
    segmentStep: (k, element, segment) =>
      buildOneStepWitness(
        model,
        input,
        [...trace],
        k,
        element,
        cache,
        segmentNeeds(run, k, element, segment),
      ),
  };
}

/** The honest run of the reference interpreter. */
export function honestParty(model: Model, input: Tensor): TraceProvider {
  return traceProvider(model, input, runReference(model, input).trace);
}

/**
 * A cheating run: op k's output element `element` is changed (value + delta mod 256) and every
 * later op is computed from the corrupted values, as a consistent cheater would. With
 * `propagate: false` only that op output changes (e.g. a forged final output).
 */
export function corruptedTrace(
  model: Model,
  input: Tensor,
  k: number,
  element: number,
  options: { delta?: number; propagate?: boolean } = {},
): Tensor[] {
  const delta = options.delta ?? 1;
  const honest = runReference(model, input).trace;
  const batch = input.shape[0];
  const values = new Map<number, Tensor>([[model.input, input]]);
  const resolve = (id: number): Tensor => {
    const v = values.get(id);
    if (v) return v;
    const info = model.tensors[id];
    return { dtype: info.dtype, shape: info.shape, data: model.consts.get(id)!, zeroPoint: info.zeroPoint };
  };
  const trace: Tensor[] = [];
  model.ops.forEach((op, i) => {
    let out: Tensor;
    if (i < k || (i > k && options.propagate === false)) {
      out = honest[i];
    } else {
      const info = model.tensors[op.output];
      const shape = batchedShape(info, batch);
      const data =
        i === k ? Uint8Array.from(honest[i].data) : runOp(op, op.inputs.map(resolve), shape, info.zeroPoint);
      if (i === k) {
        if (element >= data.length)
          throw new RangeError(`Op ${k} has ${data.length} elements, not ${element + 1}.`);
        data[element] = (data[element] + delta) & 255;
      }
      out = { dtype: 'u8', shape, data, zeroPoint: info.zeroPoint };
    }
    values.set(op.output, out);
    trace.push(out);
  });
  return trace;
}

/**
 * A consistent cheater's trace that changes the model's output: the first element of op k whose
 * corruption (propagated through the later ops) reaches the output. Falls back to forging the
 * output itself when no single element of op k does.
 */
export function outputChangingTrace(model: Model, input: Tensor, k: number, delta = 1): Tensor[] {
  const honest = runReference(model, input).trace;
  const last = honest.length - 1;
  const honestOut = honest[last].data;
  const differs = (t: Tensor[]) => t[last].data.some((v, i) => v !== honestOut[i]);
  const n = Math.min(honest[k].data.length, 64);
  for (let e = 0; e < n; e++) {
    const t = corruptedTrace(model, input, k, e, { delta });
    if (differs(t)) return t;
  }
  return corruptedTrace(model, input, last, 0, { delta });
}

export function corruptedParty(
  model: Model,
  input: Tensor,
  k: number,
  element: number,
  options: { delta?: number; propagate?: boolean } = {},
): TraceProvider {
  return traceProvider(model, input, corruptedTrace(model, input, k, element, options));
}
