// The models a node serves, the decoding of on-chain inputs into tensors, and the runs (traces)
// the node computes, cached in memory and in the database's bounded trace cache.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Hex } from 'viem';
import { keccak256, toHex } from '../commit/keccak.ts';
import { modelRoot } from '../commit/modelRoot.ts';
import { tensorBytes } from '../commit/tensorRoot.ts';
import { outputChangingTrace } from '../dispute/party.ts';
import { batchedShape, dtypeBytes, type Model } from '../engine/graph.ts';
import { type Backend, type HonestRunResult, honestOfTrace, runHonest } from '../engine/interpreter.ts';
import { STEP_BATCH_LIMIT } from '../engine/stepCost.ts';
import type { Tensor } from '../engine/tensor.ts';
import { checkSettleableInput } from '../engine/validate.ts';
import { InputError, VerinferError } from '../errors/base.ts';
import { EXAMPLES, loadOrImportExample } from '../sdk/examples.ts';
import { loadModelDir, MODEL_FILE } from '../store/modelDir.ts';
import type { NodeConfig } from './config.ts';
import type { NodeStore } from './store.ts';

/** Served models by model root (lower-case hex). */
export class ModelSet {
  private readonly byRoot = new Map<string, Model>();
  private readonly files = new Map<string, string>();

  constructor(models: Iterable<Model> = []) {
    for (const m of models) this.add(m);
  }

  /** Adds a model; `file` is the .vrnf it was loaded from (served to peers as it is). */
  add(model: Model, file?: string): Hex {
    const root = toHex(modelRoot(model));
    this.byRoot.set(root.toLowerCase(), model);
    if (file) this.files.set(root.toLowerCase(), file);
    return root;
  }

  get(root: Hex): Model | undefined {
    return this.byRoot.get(root.toLowerCase());
  }

  /** The package file a model was loaded from, if it came from disk. */
  fileOf(root: Hex): string | undefined {
    return this.files.get(root.toLowerCase());
  }

  roots(): Hex[] {
    return [...this.byRoot.keys()] as Hex[];
  }

  get size(): number {
    return this.byRoot.size;
  }
}

/** Loads every model the config names: package dirs, dirs of packages, and example names. */
export async function loadModels(config: NodeConfig['models']): Promise<ModelSet> {
  const set = new ModelSet();
  const dirs = [...config.dirs];
  for (const root of config.roots) {
    let entries: string[];
    try {
      entries = await readdir(root);
    } catch (cause) {
      throw new VerinferError(`Cannot read the model root "${root}" (models.roots). Check the path.`, {
        cause,
      });
    }
    for (const e of entries.sort()) if (existsSync(join(root, e, MODEL_FILE))) dirs.push(join(root, e));
  }
  for (const dir of dirs) set.add((await loadModelDir(dir)).model, join(dir, MODEL_FILE));
  for (const name of config.examples) {
    const example = EXAMPLES.find((e) => e.name === name);
    if (!example) throw new VerinferError(`Unknown example model "${name}". Use digits or spam.`);
    const dir = join(config.cacheDir, name);
    set.add((await loadOrImportExample(example, dir)).model, join(dir, MODEL_FILE));
  }
  return set;
}

/** The committed bytes of an input, decoded into the model's input tensor (batch from the length). */
export function inputFromBytes(model: Model, bytes: Uint8Array): Tensor {
  const info = model.tensors[model.input];
  const width = dtypeBytes(info.dtype);
  const perSample = info.shape.slice(1).reduce((p, d) => p * d, 1) * width;
  if (perSample === 0 || bytes.length === 0 || bytes.length % perSample !== 0)
    throw new InputError(
      `An input of ${bytes.length} bytes does not fit the model's ${perSample} bytes per sample.`,
    );
  const batch = bytes.length / perSample;
  if (batch > STEP_BATCH_LIMIT)
    throw new InputError(`An input of ${batch} samples exceeds ${STEP_BATCH_LIMIT}.`);
  const shape = [batch, ...info.shape.slice(1)];
  const n = bytes.length / width;
  let data: Tensor['data'];
  if (info.dtype === 'u8') data = Uint8Array.from(bytes);
  else if (info.dtype === 'i8') data = Int8Array.from(bytes, (b) => (b << 24) >> 24);
  else {
    // i32 inputs are committed as 4 big-endian bytes each (src/commit/tensorRoot.ts).
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    data = Int32Array.from({ length: n }, (_, i) => view.getInt32(i * 4));
  }
  const input: Tensor = { dtype: info.dtype, shape, data, zeroPoint: info.zeroPoint };
  checkSettleableInput(model, input);
  return input;
}

/** Which run: the honest one, or a devnet cheater's corrupted one (op k changed by delta). */
export type RunVariant = { kind: 'honest' } | { kind: 'cheat'; k: number; delta: number };

function encodeTrace(trace: readonly Tensor[]): Uint8Array {
  return Buffer.concat(trace.map((t) => tensorBytes(t.dtype, t.data)));
}

function decodeTrace(model: Model, batch: number, bytes: Uint8Array): Tensor[] | undefined {
  const trace: Tensor[] = [];
  let offset = 0;
  for (const op of model.ops) {
    const info = model.tensors[op.output];
    const shape = batchedShape(info, batch);
    const n = shape.reduce((p, d) => p * d, 1);
    const len = n * dtypeBytes(info.dtype);
    if (offset + len > bytes.length) return undefined;
    const slice = bytes.slice(offset, offset + len);
    offset += len;
    let data: Tensor['data'];
    if (info.dtype === 'u8') data = slice;
    else if (info.dtype === 'i8') data = new Int8Array(slice.buffer);
    else {
      const view = new DataView(slice.buffer);
      data = Int32Array.from({ length: n }, (_, i) => view.getInt32(i * 4));
    }
    trace.push({ dtype: info.dtype, shape, data, zeroPoint: info.zeroPoint });
  }
  return offset === bytes.length ? trace : undefined;
}

/** Runs by (model, input, variant): memory first (a few), then the database cache, then the engine. */
export class RunCache {
  private readonly memory = new Map<string, Tensor[]>();
  private readonly backend: Backend;
  private readonly store: NodeStore | undefined;
  private readonly capacity: number;

  constructor(backend: Backend, store?: NodeStore, capacity = 8) {
    this.backend = backend;
    this.store = store;
    this.capacity = capacity;
  }

  private key(model: Model, input: Tensor, variant: RunVariant): string {
    const inputHash = toHex(keccak256(tensorBytes(input.dtype, input.data)));
    const tag = variant.kind === 'honest' ? 'honest' : `cheat:${variant.k}:${variant.delta}`;
    return `${toHex(modelRoot(model))}:${inputHash}:${tag}`;
  }

  /** A trace already computed (memory or database), without running anything. */
  private cachedTrace(model: Model, input: Tensor, key: string): Tensor[] | undefined {
    const hit = this.memory.get(key);
    if (hit) return hit;
    const cached = this.store?.cacheGet(key);
    return cached && decodeTrace(model, input.shape[0], cached);
  }

  /**
   * What a result commits (the output and the checkpoint), for posting and for re-executing in
   * an audit: from a trace already computed, else from the backend's honest path, which does not
   * materialise the other op outputs. A cheat variant needs its whole corrupted trace anyway.
   */
  async honest(
    model: Model,
    input: Tensor,
    variant: RunVariant = { kind: 'honest' },
  ): Promise<HonestRunResult> {
    if (variant.kind !== 'honest') return honestOfTrace(await this.trace(model, input, variant));
    const trace = this.cachedTrace(model, input, this.key(model, input, variant));
    return trace ? honestOfTrace(trace) : runHonest(this.backend, model, input);
  }

  /** The full trace (disputes, trace requests), computed once and then cached. */
  async trace(model: Model, input: Tensor, variant: RunVariant = { kind: 'honest' }): Promise<Tensor[]> {
    const key = this.key(model, input, variant);
    const hit = this.memory.get(key);
    if (hit) return hit;
    let trace = this.cachedTrace(model, input, key);
    if (!trace) {
      trace =
        variant.kind === 'honest'
          ? (await this.backend.run(model, input)).trace
          : outputChangingTrace(model, input, variant.k, variant.delta);
      this.store?.cachePut(key, encodeTrace(trace));
    }
    this.memory.set(key, trace);
    if (this.memory.size > this.capacity) this.memory.delete(this.memory.keys().next().value as string);
    return trace;
  }
}
