// The float benchmark models (./mobilenet.ts, ./floatTransformer.ts) imported through the real
// ONNX importer, with calibration and evaluation inputs from the same seeded generator, and cached
// as model packages: a package is reused only while its saved ONNX bytes equal a fresh build.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Model } from '../../src/engine/graph.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { ModelFormatError } from '../../src/errors/base.ts';
import { type ImportReport, importOnnx } from '../../src/onnx/import.ts';
import { type FloatTensor, quantizeInput } from '../../src/onnx/input.ts';
import { loadModelDir, MODEL_FILE, saveModelDir } from '../../src/store/modelDir.ts';
import {
  buildFloatTransformerOnnx,
  type FloatTransformerOptions,
  floatTransformerInputs,
} from './floatTransformer.ts';
import { buildMobileNetOnnx, type MobileNetOptions, mobileNetInputs, mobileNetOptions } from './mobilenet.ts';

/** One float benchmark model: how to build it and its seeded inputs. */
export interface BenchOnnxSpec {
  name: string;
  kind: 'image' | 'tokens';
  /** The float ONNX bytes. */
  build(): Uint8Array;
  /** Per-sample input shape without the batch. */
  sampleShape: number[];
  /** `count` seeded samples (flat values of one sample each). */
  samples(seed: number, count: number): number[][] | Float32Array[];
  calibrationCount: number;
  evaluationCount: number;
}

export function mobileNetSpec(name: string, options: MobileNetOptions = {}): BenchOnnxSpec {
  const o = mobileNetOptions(options);
  return {
    name,
    kind: 'image',
    build: () => buildMobileNetOnnx(o),
    sampleShape: [3, o.resolution, o.resolution],
    samples: (seed, count) => mobileNetInputs(seed, count, o.resolution),
    calibrationCount: 6,
    evaluationCount: 4,
  };
}

export function transformerSpec(name: string, options: FloatTransformerOptions = {}): BenchOnnxSpec {
  return {
    name,
    kind: 'tokens',
    build: () => buildFloatTransformerOnnx(options),
    sampleShape: [floatTransformerInputs(0, 1, options)[0].length],
    samples: (seed, count) => floatTransformerInputs(seed, count, options),
    calibrationCount: 16,
    evaluationCount: 16,
  };
}

/** The benchmark rows of `npm run bench:engine` beside the examples. */
export const BENCH_ONNX_MODELS: BenchOnnxSpec[] = [
  mobileNetSpec('mobilenetv2-224'),
  transformerSpec('transformer-d256'),
];

/** Seeds of the three input streams; evaluation and benchmark inputs are never calibration ones. */
export const SEEDS = { calibration: 101, evaluation: 202, bench: 303 } as const;

const tensors = (spec: BenchOnnxSpec, seed: number, count: number): FloatTensor[] =>
  spec.samples(seed, count).map((data) => ({
    shape: [1, ...spec.sampleShape],
    data: data instanceof Float32Array ? data : [...data],
  }));

export interface ImportedBench {
  model: Model;
  onnx: Uint8Array;
  report?: ImportReport;
}

/** Imports the spec's ONNX model with seeded calibration and evaluation samples. */
export async function importBenchOnnx(spec: BenchOnnxSpec, onnx = spec.build()): Promise<ImportedBench> {
  const { model, report } = await importOnnx(onnx, tensors(spec, SEEDS.calibration, spec.calibrationCount), {
    name: spec.name,
    version: '1',
    inputKind: spec.kind,
    evaluation: tensors(spec, SEEDS.evaluation, spec.evaluationCount),
  });
  return { model, onnx, report };
}

const ONNX_FILE = 'model.onnx';

/** The spec's imported package in `dir`, imported again when missing, unreadable or stale. */
export async function loadOrImportBenchOnnx(
  spec: BenchOnnxSpec,
  dir: string,
  onImport?: () => void,
): Promise<ImportedBench> {
  const onnx = spec.build();
  if (existsSync(join(dir, MODEL_FILE)) && existsSync(join(dir, ONNX_FILE))) {
    const saved = new Uint8Array(await readFile(join(dir, ONNX_FILE)));
    if (Buffer.from(saved).equals(Buffer.from(onnx))) {
      try {
        const { model, manifest } = await loadModelDir(dir);
        return { model, onnx, report: manifest.report as ImportReport | undefined };
      } catch (err) {
        if (!(err instanceof ModelFormatError)) throw err;
      }
    }
  }
  onImport?.();
  const imported = await importBenchOnnx(spec, onnx);
  await mkdir(dir, { recursive: true });
  await saveModelDir(dir, imported.model, { report: imported.report, force: true });
  await writeFile(join(dir, ONNX_FILE), onnx);
  return imported;
}

/** A batch of `batch` seeded samples: the float values for onnxruntime and the quantized tensor. */
export function benchBatch(
  spec: BenchOnnxSpec,
  model: Model,
  batch: number,
  seed: number = SEEDS.bench,
): { float: Float32Array | BigInt64Array; shape: number[]; quantized: Tensor } {
  const rows = spec.samples(seed, batch);
  const per = spec.sampleShape.reduce((p, d) => p * d, 1);
  const flat = new Float32Array(batch * per);
  rows.forEach((r, i) => {
    flat.set(r, i * per);
  });
  const shape = [batch, ...spec.sampleShape];
  const quantized = quantizeInput(model, { shape, data: flat });
  const float = spec.kind === 'tokens' ? BigInt64Array.from(flat, (v) => BigInt(v)) : flat;
  return { float, shape, quantized };
}
