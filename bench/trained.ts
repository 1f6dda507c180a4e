// npm run eval:trained [-- --dir .tmp/trained] [-- --models resnet18,...]
//                      [-- --methods minmax,percentile,mse] [-- --calibration N] [-- --evaluation N]
//                      [-- --bias-correction off,on] [-- --weight-bits 8] [-- --json]
//                      [-- --table saved.json]
//
// Imports the torchvision architectures that training/train_torchvision.py trained on MNIST, with
// the real importer and each calibration method, and prints one row per model and method: the
// output probability error against float (the largest, over the calibration samples and over the
// held-out samples), the top-1 agreement with float on the held-out samples, the float and the
// integer model's held-out accuracy, and the layer that adds the most error (the report's
// worstLayers). Every import runs in a child process, so a crash is a row, not the end of the run.
// Each method runs without and with bias correction (ImportOptions.biasCorrection).
// --weight-bits below 8 shows how much of the error the weights cause (the activations stay u8).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import {
  CALIBRATION_METHODS,
  type CalibrationMethod,
  dequantize,
  type FloatTensor,
  importOnnx,
  quantizeInput,
} from '../src/onnx/index.ts';
import { getBackend } from '../src/sdk/backends.ts';

const MODELS = [
  'resnet18',
  'mobilenet_v2',
  'mobilenet_v3_small',
  'squeezenet1_1',
  'shufflenet_v2_x0_5',
  'densenet',
  'efficientnet_b0',
];

const argv = process.argv.slice(2);
function option(name: string, fallback: string): string {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
}
const dir = resolve(option('--dir', '.tmp/trained'));

interface Meta {
  shape: number[];
  calibration: number;
  evaluation: number;
  labels: number[];
  models: Record<string, { params: number; heldOutAccuracy: number }>;
}

export interface Row {
  model: string;
  method: CalibrationMethod;
  biasCorrection: boolean;
  ok: boolean;
  error?: string;
  importSeconds?: number;
  calibrationSamples?: number;
  calibrationMaxProbabilityError?: number;
  calibrationMeanProbabilityError?: number;
  evaluationSamples?: number;
  evaluationMaxProbabilityError?: number;
  evaluationMeanProbabilityError?: number;
  top1Agreement?: number;
  /** Accuracy on the held-out labels: float (onnxruntime) and the integer model. */
  floatAccuracy?: number;
  integerAccuracy?: number;
  /** RMS of the integer logits' error against float on the held-out samples, over the float logit span. */
  relLogitRmsError?: number;
  /**
   * The float model's top-1 probability on the held-out sample with the largest probability
   * error: near 0.5 when the worst case is an input the float model itself is unsure about.
   */
  worstSampleTop1?: number;
  /** The largest probability error over held-out samples whose float top-1 probability is >= 0.9. */
  confidentMaxProbabilityError?: number;
  /** The layers that add the most error, worst first: "op (type) +x.xx%". */
  worst?: string[];
}

function readInputs(meta: Meta, nCal: number, nEval: number) {
  const raw = readFileSync(resolve(dir, 'inputs.bin'));
  const all = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const n = meta.shape.reduce((p, d) => p * d, 1);
  if (all.length !== n * (meta.calibration + meta.evaluation))
    throw new Error(`inputs.bin holds ${all.length} values, inputs.json promises more or fewer`);
  const sample = (i: number): FloatTensor => ({ shape: meta.shape, data: all.slice(i * n, (i + 1) * n) });
  const cal = Math.min(nCal, meta.calibration);
  const ev = Math.min(nEval, meta.evaluation);
  return {
    calibration: Array.from({ length: cal }, (_, i) => sample(i)),
    evaluation: Array.from({ length: ev }, (_, i) => sample(meta.calibration + i)),
    labels: meta.labels.slice(0, ev),
  };
}

function softmax(v: ArrayLike<number>): number[] {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < v.length; i++) max = Math.max(max, v[i]);
  const e = Array.from(v, (x) => Math.exp(x - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
}

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

async function runOne(model: string, method: CalibrationMethod, biasCorrection: boolean): Promise<Row> {
  const meta = JSON.parse(readFileSync(resolve(dir, 'inputs.json'), 'utf8')) as Meta;
  const inputs = readInputs(
    meta,
    Number(option('--calibration', '64')),
    Number(option('--evaluation', '500')),
  );
  const bytes = new Uint8Array(readFileSync(resolve(dir, `${model}.onnx`)));
  const row: Row = { model, method, biasCorrection, ok: false };
  const t0 = performance.now();
  let imported: Awaited<ReturnType<typeof importOnnx>> | undefined;
  try {
    imported = await importOnnx(bytes, inputs.calibration, {
      name: model,
      inputKind: 'tensor',
      calibrationMethod: method,
      evaluation: inputs.evaluation,
      checkStepCosts: false,
      weightBits: Number(option('--weight-bits', '8')),
      biasCorrection,
    });
  } catch (err) {
    const e = err as Error & { details?: string };
    row.error = `${e.name}: ${e.message.split('\n')[0]}${e.details ? ` (${e.details})` : ''}`;
  }
  row.importSeconds = (performance.now() - t0) / 1000;
  if (!imported) return row;
  const { report } = imported;
  row.ok = true;
  row.calibrationSamples = report.agreement.samples;
  row.calibrationMaxProbabilityError = report.agreement.maxProbabilityError;
  row.calibrationMeanProbabilityError = report.agreement.meanProbabilityError;
  const e = report.evaluation;
  if (e) {
    row.evaluationSamples = e.samples;
    row.evaluationMaxProbabilityError = e.maxProbabilityError;
    row.evaluationMeanProbabilityError = e.meanProbabilityError;
    row.top1Agreement = e.top1Agreement;
  }
  row.worst = report.worstLayers
    .slice(0, 3)
    .map((w) => `${w.op} (${w.type}) +${(100 * w.addedRmsError).toFixed(2)}%`);
  // Accuracy against the labels: the report compares with float only, so both run once more.
  const fast = await getBackend('fast');
  const session = await ort.InferenceSession.create(bytes);
  let f = 0;
  let q = 0;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  let sq = 0;
  let count = 0;
  let worst = -1;
  let confident = 0;
  for (const [i, s] of inputs.evaluation.entries()) {
    const feeds = { [session.inputNames[0]]: new ort.Tensor(Float32Array.from(s.data), s.shape) };
    const out = (await session.run(feeds))[session.outputNames[0]].data as Float32Array;
    const qOut = dequantize(
      imported.model,
      (await fast.run(imported.model, quantizeInput(imported.model, s))).output,
    );
    const pf = softmax(out);
    const pq = softmax(qOut);
    let e = 0;
    for (let c = 0; c < out.length; c++) {
      lo = Math.min(lo, out[c]);
      hi = Math.max(hi, out[c]);
      sq += (qOut[c] - out[c]) ** 2;
      count += 1;
      e = Math.max(e, Math.abs(pq[c] - pf[c]));
    }
    const top = Math.max(...pf);
    if (e > worst) {
      worst = e;
      row.worstSampleTop1 = top;
    }
    if (top >= 0.9) confident = Math.max(confident, e);
    if (argmax(out) === inputs.labels[i]) f += 1;
    if (argmax(qOut) === inputs.labels[i]) q += 1;
  }
  await session.release();
  row.floatAccuracy = f / inputs.labels.length;
  row.integerAccuracy = q / inputs.labels.length;
  row.relLogitRmsError = Math.sqrt(sq / count) / (hi - lo);
  row.confidentMaxProbabilityError = confident;
  return row;
}

const pct = (v: number | undefined) => (v === undefined ? '–' : `${(100 * v).toFixed(1)}%`);
const num = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(4));

function table(rows: Row[]): string {
  const lines = [
    '| model | method | bias corr. | max prob. error: calibration / held-out | mean (held-out) | top-1 agreement | accuracy float / integer | logit RMS error / span | float top-1 p of the worst sample | max prob. error, float p ≥ 0.9 | layers adding the most error |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const r of rows) {
    if (!r.ok) {
      lines.push(
        `| ${r.model} | ${r.method} | ${r.biasCorrection ? 'on' : 'off'} | ${r.error} | | | | | | | |`,
      );
      continue;
    }
    lines.push(
      `| ${r.model} | ${r.method} | ${r.biasCorrection ? 'on' : 'off'} | ${num(r.calibrationMaxProbabilityError)} / ${num(r.evaluationMaxProbabilityError)} | ${num(
        r.evaluationMeanProbabilityError,
      )} | ${pct(r.top1Agreement)} | ${pct(r.floatAccuracy)} / ${pct(r.integerAccuracy)} | ${
        r.relLogitRmsError === undefined ? '–' : `${(100 * r.relLogitRmsError).toFixed(2)}%`
      } | ${r.worstSampleTop1?.toFixed(2) ?? '–'} | ${num(r.confidentMaxProbabilityError)} | ${(r.worst ?? []).join(', ')} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const one = argv.indexOf('--one');
  if (one >= 0) {
    const [model, method, bc] = argv[one + 1].split(':');
    const row = await runOne(model, method as CalibrationMethod, bc === 'on');
    process.stdout.write(`ROW ${JSON.stringify(row)}\n`);
    return;
  }
  const saved = argv.indexOf('--table');
  if (saved >= 0) {
    console.log(table(JSON.parse(readFileSync(argv[saved + 1], 'utf8')) as Row[]));
    return;
  }
  const models = option('--models', MODELS.join(',')).split(',');
  const methods = option('--methods', CALIBRATION_METHODS.join(',')).split(',') as CalibrationMethod[];
  for (const m of methods) {
    if (!CALIBRATION_METHODS.includes(m)) throw new Error(`unknown calibration method ${m}`);
  }
  const corrections = option('--bias-correction', 'off,on').split(',');
  for (const c of corrections)
    if (c !== 'off' && c !== 'on') throw new Error(`--bias-correction takes off, on or off,on`);
  const self = fileURLToPath(import.meta.url);
  const passOn = ['--dir', '--calibration', '--evaluation', '--weight-bits'].flatMap((k) =>
    argv.includes(k) ? [k, option(k, '')] : [],
  );
  const rows: Row[] = [];
  for (const model of models) {
    if (!existsSync(resolve(dir, `${model}.onnx`))) {
      console.error(`skip ${model}: not trained (training/train_torchvision.py)`);
      continue;
    }
    for (const method of methods)
      for (const bc of corrections) {
        console.error(`${model} ${method} bias correction ${bc} ...`);
        const child = spawnSync(process.execPath, [self, '--one', `${model}:${method}:${bc}`, ...passOn], {
          encoding: 'utf8',
          maxBuffer: 64 * 1024 * 1024,
        });
        const line = child.stdout.split('\n').find((l) => l.startsWith('ROW '));
        if (line) rows.push(JSON.parse(line.slice(4)) as Row);
        else {
          const why = child.signal ?? `exit ${child.status}`;
          const last = child.stderr.trim().split('\n').slice(-1)[0] ?? '';
          rows.push({
            model,
            method,
            biasCorrection: bc === 'on',
            ok: false,
            error: `crashed (${why}): ${last.slice(0, 200)}`,
          });
        }
        const r = rows[rows.length - 1];
        console.error(
          r.ok
            ? `  ${r.importSeconds?.toFixed(1)} s: max prob. error ${num(r.calibrationMaxProbabilityError)} / ${num(r.evaluationMaxProbabilityError)}, top-1 ${pct(r.top1Agreement)}`
            : `  ${r.error}`,
        );
      }
  }
  console.log(argv.includes('--json') ? JSON.stringify(rows, null, 2) : table(rows));
}

await main();
