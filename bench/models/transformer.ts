// The benchmark transformer: a pre-norm encoder classifier the size of a real small network
// (4 layers, d = 256, 128 tokens by default), built directly in the integer IR from seeded weights.
//
//   x = tokEmb[ids] + posEmb                                  [T,d]
//   per layer:
//     h = layernorm(x)                                        [T,d]
//     q, k, v = h·Wq, h·Wk, h·Wv                              Wq,Wk,Wv i8 [d,d]
//     heads: q, v -> [H,T,dh]; k -> [H,dh,T]                  reshape + transpose
//     p = softmax(q·kᵀ / √dh)                                 [H,T,T], activation × activation
//     x = x + merge(p·v)·Wo                                   [H,T,dh] -> [T,d]
//     x = x + gelu(layernorm(x)·W1)·W2                        [T,ffn] -> [T,d]
//   logits = mean_T(layernorm(x))·Wc                          [C]
//
// How the integers are chosen: ./transformerBlocks.ts. The CLI writes a model package and a
// sample input:
//   node bench/models/transformer.ts --out <dir> [--force] [--layers N] [--d N] [--tokens N]
//     [--heads N] [--ffn N] [--vocab N] [--classes N] [--seed N]
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Model } from '../../src/engine/graph.ts';
import { runReference } from '../../src/engine/interpreter.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { validateModel } from '../../src/engine/validate.ts';
import { InputError, VerinferError } from '../../src/errors/base.ts';
import { quantizeMultiplier } from '../../src/onnx/quantize/params.ts';
import { MANIFEST_FILE, type Manifest, MODEL_FILE, saveModelDir } from '../../src/store/modelDir.ts';
import { GraphBuilder } from './graphBuilder.ts';
import { modelStats } from './modelStats.ts';
import { seededInts } from './seeded.ts';
import {
  type Act,
  attention,
  centered,
  dense,
  gelu,
  layerNorm,
  residual,
  tokenMeanRms,
} from './transformerBlocks.ts';

export interface BenchTransformerOptions {
  layers?: number;
  d?: number;
  tokens?: number;
  heads?: number;
  ffn?: number;
  vocab?: number;
  classes?: number;
  seed?: number;
}

export const BENCH_TRANSFORMER_DEFAULTS: Required<BenchTransformerOptions> = {
  layers: 4,
  d: 256,
  tokens: 128,
  heads: 4,
  ffn: 1024,
  vocab: 1000,
  classes: 4,
  seed: 1,
};

export class BenchModelOptionError extends InputError {
  override name = 'BenchModelOptionError' as const;
}

/** Bell half-width of the embedding codes: rms √(4·27·28/3) ≈ 31.7 codes, close to CODES_PER_RMS. */
const EMBED_HALF = 27;

function checkOptions(o: Required<BenchTransformerOptions>): void {
  for (const [key, v] of Object.entries(o)) {
    if (key === 'seed' ? !Number.isInteger(v) : !(Number.isInteger(v) && v >= 1)) {
      const what = key === 'seed' ? 'an integer' : 'a positive integer';
      throw new BenchModelOptionError(`Option ${key} = ${v} must be ${what}.`);
    }
  }
  if (o.d % o.heads !== 0) {
    throw new BenchModelOptionError(`d = ${o.d} must be a multiple of heads = ${o.heads}.`);
  }
}

/**
 * Builds the benchmark transformer; the same options give the same model, byte for byte. Sizes
 * past the validator's limits (layernorm over more than 2048 features, dot products whose
 * accumulator could leave int32) still build, and then fail `validateModel`.
 */
export function buildBenchTransformer(options: BenchTransformerOptions = {}): Model {
  const o = { ...BENCH_TRANSFORMER_DEFAULTS, ...options };
  checkOptions(o);
  const rng = seededInts(o.seed);
  const g = new GraphBuilder();
  const { d, tokens: T } = o;
  const ids = g.input('tokens', 'i32', [1, T]);

  const embedCodes = (n: number) => Uint8Array.from({ length: n }, () => 128 + rng.bell(EMBED_HALF));
  const unit = centered(1);
  const tokTable = g.constant('embed/token.table', embedCodes(o.vocab * d), [o.vocab, d], unit);
  const tok = g.op({ type: 'gather', name: 'embed/token', inputs: [tokTable, ids] }, unit);
  const pos = g.constant('embed/position', embedCodes(T * d), [1, T, d], unit);
  // Token and position codes are independent draws: nothing is common to all tokens yet.
  let x: Act = residual(g, 'embed/add', { id: tok, rms: 1, shared: 0 }, { id: pos, rms: 1, shared: 0 });

  for (let l = 0; l < o.layers; l++) {
    const p = `layer${l}`;
    const attn = attention(g, rng, p, layerNorm(g, rng, `${p}/ln1`, x), o.heads);
    x = residual(g, `${p}/attn/add`, x, attn);
    const up = dense(g, rng, `${p}/ffn/up`, layerNorm(g, rng, `${p}/ln2`, x), o.ffn);
    const down = dense(g, rng, `${p}/ffn/down`, gelu(g, `${p}/ffn/gelu`, up), d);
    x = residual(g, `${p}/ffn/add`, x, down);
  }

  const final = layerNorm(g, rng, 'head/ln', x);
  const pooledRms = tokenMeanRms(final, T);
  const pooledQuant = centered(pooledRms);
  // y = mean(x − zx) · sx / sy codes.
  const r = quantizeMultiplier(g.quant(final.id).scale / pooledQuant.scale, 'head/pool');
  // Pool over a contiguous axis: a mean over the token axis of [T, d] would read T chunks for one
  // element (stride d), more than one on-chain step can prove.
  const channels = g.op(
    { type: 'transpose', name: 'head/channels', inputs: [final.id], perm: [0, 2, 1] },
    g.quant(final.id),
  );
  const pooled = g.op(
    { type: 'reducemean', name: 'head/pool', inputs: [channels], axis: 2, keepDims: false, ...r },
    pooledQuant,
  );
  dense(g, rng, 'head/classifier', { id: pooled, rms: pooledRms, shared: pooledRms }, o.classes);
  return g.build({
    name: 'bench-transformer',
    version: '1',
    inputKind: 'tokens',
    labels: Array.from({ length: o.classes }, (_, i) => `class${i}`),
  });
}

/** Random token ids in [0, vocab) for the model's input, batch rows of `tokens` each. */
export function benchTransformerInput(model: Model, seed = 7, batch = 1): Tensor {
  const [, T] = model.tensors[model.input].shape;
  const gather = model.ops.find((op) => op.type === 'gather');
  if (!gather)
    throw new BenchModelOptionError(`Model "${model.meta.name}" has no token embedding to draw ids for.`);
  const vocab = model.tensors[gather.inputs[0]].shape[0];
  const rng = seededInts(seed);
  const data = Int32Array.from({ length: batch * T }, () => rng.int(0, vocab - 1));
  return { dtype: 'i32', shape: [batch, T], data, zeroPoint: 0 };
}

/** The sample input's file name inside the package written by `saveBenchTransformer`. */
export const SAMPLE_INPUT_FILE = 'input.json';

/**
 * Writes `model` as a model package to `dir` (see src/store/modelDir.ts), its size figures in the
 * manifest's report, and `input` beside it as a JSON tensor of token ids that `verinfer model run
 * --input` reads.
 */
export async function saveBenchTransformer(
  dir: string,
  model: Model,
  input: Tensor,
  options: { build?: BenchTransformerOptions; force?: boolean } = {},
): Promise<Manifest> {
  const build = { ...BENCH_TRANSFORMER_DEFAULTS, ...options.build };
  const report = { builder: 'bench/models/transformer.ts', options: build, ...modelStats(model) };
  const manifest = await saveModelDir(dir, model, { report, force: options.force });
  // Written whole under a temporary name and renamed, so input.json is complete or absent.
  const path = join(dir, SAMPLE_INPUT_FILE);
  const partial = `${path}.partial-${process.pid}`;
  await writeFile(partial, `${JSON.stringify({ shape: input.shape, data: Array.from(input.data) })}\n`);
  await rename(partial, path);
  return manifest;
}

const SIZE_OPTIONS = ['layers', 'd', 'tokens', 'heads', 'ffn', 'vocab', 'classes', 'seed'] as const;

async function main(): Promise<void> {
  const size = { type: 'string' } as const;
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      force: { type: 'boolean' },
      layers: size,
      d: size,
      tokens: size,
      heads: size,
      ffn: size,
      vocab: size,
      classes: size,
      seed: size,
    },
  });
  const out = values.out;
  if (typeof out !== 'string') {
    throw new BenchModelOptionError('Pass --out <dir>, the directory for the model package.');
  }
  const build: BenchTransformerOptions = {};
  for (const k of SIZE_OPTIONS) {
    const v = values[k];
    if (typeof v === 'string') build[k] = Number(v);
  }
  let start = performance.now();
  const model = buildBenchTransformer(build);
  const buildMs = performance.now() - start;
  validateModel(model);
  const input = benchTransformerInput(model);
  const manifest = await saveBenchTransformer(out, model, input, { build, force: values.force === true });

  start = performance.now();
  runReference(model, input);
  const referenceMs = performance.now() - start;
  const { getBackend } = await import('../../src/sdk/backends.ts');
  const fast = await getBackend('fast');
  start = performance.now();
  await fast.run(model, input);
  const fastFirstMs = performance.now() - start;
  start = performance.now();
  await fast.run(model, input);
  const fastMs = performance.now() - start;

  const s = modelStats(model);
  const o = { ...BENCH_TRANSFORMER_DEFAULTS, ...build };
  const n = (v: number) => v.toLocaleString('en-US');
  const ms = (v: number) => `${v.toFixed(0)} ms`;
  const types = Object.entries(s.opTypes).map(([k, v]) => `${k}×${v}`);
  console.log(`model        ${manifest.name} v${manifest.version}  ${manifest.modelRoot}`);
  console.log(
    `shape        ${o.layers} layers, d ${o.d}, ${o.tokens} tokens, ${o.heads} heads, ffn ${o.ffn}, ` +
      `vocab ${o.vocab}, ${o.classes} classes, seed ${o.seed}`,
  );
  console.log(`ops          ${s.ops} (${types.join(', ')})`);
  console.log(`tensors      ${s.tensors}`);
  console.log(`params       ${n(s.params)}`);
  console.log(
    `activations  ${n(s.activationBytes)} bytes per sample (largest op output ${n(s.largestActivation)})`,
  );
  console.log(`dot product  ${n(s.maxDotLength)} taps at most; ${n(s.macs)} multiply-accumulates per sample`);
  console.log(`build        ${ms(buildMs)}`);
  console.log(`reference    ${ms(referenceMs)} per sample`);
  console.log(`fast         ${ms(fastMs)} per sample (first run ${ms(fastFirstMs)}, building its sessions)`);
  console.log(`written      ${out} (${MODEL_FILE}, ${MANIFEST_FILE}, ${SAMPLE_INPUT_FILE})`);
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    console.error(error instanceof VerinferError ? `${error.name}: ${error.message}` : error);
    process.exitCode = 1;
  });
}
