// npm run eval:torchvision [-- --dir .tmp/torchvision] [-- --models resnet18,...] [-- --opsets 13,17]
//                          [-- --sizes 64,224] [-- --calibration N] [-- --evaluation N] [-- --json]
//                          [-- --table saved.json]
//
// Imports the real torchvision classifiers that scripts/exportTorchvision.py exported (seeded
// weights, opset 13 and 17, 224x224 and a small resolution) with the real importer, as
// `verinfer model import --calibration` does, then runs each integer model on the fast backend
// against the float model in onnxruntime on held-out inputs and prints one table row per file:
// import ok or the named error, ops, parameters, import seconds and peak memory, the largest
// output probability error and the top-1 agreement on the held-out inputs, and whether every op
// fits the one-step gas bound (the import itself is run with that check off, so that models whose
// convs exceed the bound are still measured; the check is then run on its own).
//
// Every file is imported in a child process: a crash or an out-of-memory kill is a row, not the
// end of the run, and each row's peak memory is its own.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { STEP_GAS_LIMIT, stepCostReport } from '../src/engine/stepCost.ts';
import { dequantize, type FloatTensor, importOnnx, quantizeInput } from '../src/onnx/index.ts';
import { getBackend } from '../src/sdk/backends.ts';

const MODELS = [
  'resnet18',
  'mobilenet_v2',
  'mobilenet_v3_small',
  'squeezenet1_0',
  'shufflenet_v2_x0_5',
  'densenet121',
  'efficientnet_b0',
];

const argv = process.argv.slice(2);
function option(name: string, fallback: string): string {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
}
const dir = resolve(option('--dir', '.tmp/torchvision'));

interface Row {
  model: string;
  opset: number;
  size: number;
  ok: boolean;
  error?: string;
  ops?: number;
  params?: number;
  importSeconds?: number;
  peakMiB?: number;
  /** The importer's own drift measurement on the calibration samples. */
  calibrationProbabilityError?: number;
  evaluationSamples?: number;
  maxProbabilityError?: number;
  top1Agreement?: number;
  /**
   * The float model on the input rounded to the integer model's 8-bit input grid, against the
   * float model: the error of input rounding alone, a floor no 8-bit import goes below. Seeded
   * random networks are far more sensitive to small input changes than trained ones.
   */
  roundingProbabilityError?: number;
  roundingTop1?: number;
  gasOk?: boolean;
  /** Ops whose one-step proof exceeds STEP_GAS_LIMIT, and the largest bound. */
  opsOverGas?: number;
  worstGas?: number;
  /** The dearest op over the bound: its type, name and why. */
  worstOver?: string;
  warnings?: number;
}

interface Inputs {
  calibration: FloatTensor[];
  evaluation: FloatTensor[];
}

function readInputs(size: number, nCal: number, nEval: number): Inputs {
  const meta = JSON.parse(readFileSync(resolve(dir, `inputs_${size}.json`), 'utf8')) as {
    shape: number[];
    calibration: number;
    evaluation: number;
  };
  const raw = readFileSync(resolve(dir, `inputs_${size}.bin`));
  const all = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const n = meta.shape.reduce((p, d) => p * d, 1);
  const sample = (i: number): FloatTensor => ({ shape: meta.shape, data: all.slice(i * n, (i + 1) * n) });
  const cal = Math.min(nCal, meta.calibration);
  const ev = Math.min(nEval, meta.evaluation);
  return {
    calibration: Array.from({ length: cal }, (_, i) => sample(i)),
    evaluation: Array.from({ length: ev }, (_, i) => sample(meta.calibration + i)),
  };
}

function softmax(v: ArrayLike<number>): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < v.length; i++) max = Math.max(max, v[i]);
  const out = new Float64Array(v.length);
  let sum = 0;
  for (let i = 0; i < v.length; i++) {
    out[i] = Math.exp(v[i] - max);
    sum += out[i];
  }
  for (let i = 0; i < v.length; i++) out[i] /= sum;
  return out;
}

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/** One file, in this process: the JSON row goes to stdout. */
async function runOne(model: string, opset: number, size: number): Promise<Row> {
  const row: Row = { model, opset, size, ok: false };
  const file = resolve(dir, `${model}_op${opset}_${size}.onnx`);
  const bytes = new Uint8Array(readFileSync(file));
  const inputs = readInputs(
    size,
    Number(option('--calibration', '16')),
    Number(option('--evaluation', '16')),
  );
  const t0 = performance.now();
  let imported: Awaited<ReturnType<typeof importOnnx>>;
  try {
    // As `verinfer model import` calls it for an RGB [1, 3, H, W] calibration set (inputKind
    // 'tensor'); only the gas bound is checked separately below.
    imported = await importOnnx(bytes, inputs.calibration, {
      name: model,
      inputKind: 'tensor',
      calibrationMethod: 'minmax',
      checkStepCosts: false,
    });
  } catch (err) {
    const e = err as Error & { details?: string };
    row.importSeconds = (performance.now() - t0) / 1000;
    row.error = `${e.name}: ${e.message.split('\n')[0]}${e.details ? ` (${e.details})` : ''}`;
    return row;
  }
  row.importSeconds = (performance.now() - t0) / 1000;
  const { model: m, report } = imported;
  row.ok = true;
  row.ops = report.opCount;
  row.params = report.parameterCount;
  row.calibrationProbabilityError = report.agreement.maxProbabilityError;
  row.warnings = report.warnings.length;
  const costs = stepCostReport(m, 256);
  const over = costs.filter((c) => c.gas > STEP_GAS_LIMIT);
  row.gasOk = over.length === 0;
  row.opsOverGas = over.length;
  row.worstGas = Math.max(...costs.map((c) => c.gas));
  const dearest = [...over].sort((a, b) => b.gas - a.gas)[0];
  if (dearest) row.worstOver = `${dearest.type} "${dearest.name}": ${dearest.reason}`;

  const fast = await getBackend('fast');
  const session = await ort.InferenceSession.create(bytes);
  let maxProb = 0;
  let agree = 0;
  let roundingProb = 0;
  let roundingAgree = 0;
  const floatRun = async (data: Float32Array, shape: number[]) =>
    (await session.run({ [session.inputNames[0]]: new ort.Tensor(data, shape) }))[session.outputNames[0]]
      .data as Float32Array;
  const inInfo = m.tensors[m.input];
  for (const s of inputs.evaluation) {
    const f = await floatRun(Float32Array.from(s.data), s.shape);
    const qIn = quantizeInput(m, s);
    const q = dequantize(m, (await fast.run(m, qIn)).output);
    const rounded = await floatRun(
      Float32Array.from(qIn.data, (v) => inInfo.scale * (v - inInfo.zeroPoint)),
      s.shape,
    );
    const pf = softmax(f);
    const pq = softmax(q);
    const pr = softmax(rounded);
    for (let i = 0; i < pf.length; i++) {
      maxProb = Math.max(maxProb, Math.abs(pq[i] - pf[i]));
      roundingProb = Math.max(roundingProb, Math.abs(pr[i] - pf[i]));
    }
    if (argmax(q) === argmax(f)) agree += 1;
    if (argmax(rounded) === argmax(f)) roundingAgree += 1;
  }
  row.roundingProbabilityError = roundingProb;
  row.roundingTop1 = roundingAgree / inputs.evaluation.length;
  await session.release();
  row.evaluationSamples = inputs.evaluation.length;
  row.maxProbabilityError = maxProb;
  row.top1Agreement = agree / inputs.evaluation.length;
  return row;
}

function table(rows: Row[]): string {
  const lines = [
    '| model | opset | input | import | ops | params | import s | peak MiB | max prob. error: calibration, held-out | top-1 agreement | input rounding alone: max prob. error, top-1 | one-step gas bound |',
    '| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const r of rows) {
    const gas = r.ok
      ? r.gasOk
        ? 'passes'
        : `fails: ${r.opsOverGas} ops over ${STEP_GAS_LIMIT / 1e6}M (worst ${(r.worstGas! / 1e6).toFixed(1)}M, ${r.worstOver})`
      : '–';
    lines.push(
      `| ${r.model} | ${r.opset} | ${r.size}×${r.size} | ${r.ok ? 'ok' : r.error} | ${r.ops ?? '–'} | ${
        r.params?.toLocaleString('en-US') ?? '–'
      } | ${r.importSeconds?.toFixed(1) ?? '–'} | ${r.peakMiB?.toFixed(0) ?? '–'} | ${
        r.ok ? `${r.calibrationProbabilityError?.toFixed(4)}, ${r.maxProbabilityError?.toFixed(4)}` : '–'
      } | ${r.top1Agreement === undefined ? '–' : `${(100 * r.top1Agreement).toFixed(1)}% of ${r.evaluationSamples}`} | ${
        r.roundingTop1 === undefined
          ? '–'
          : `${r.roundingProbabilityError?.toFixed(4)}, ${(100 * r.roundingTop1).toFixed(1)}%`
      } | ${gas} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const one = argv.indexOf('--one');
  if (one >= 0) {
    const [model, opset, size] = argv[one + 1].split(':');
    const row = await runOne(model, Number(opset), Number(size));
    row.peakMiB = process.resourceUsage().maxRSS / 1024;
    process.stdout.write(`ROW ${JSON.stringify(row)}\n`);
    return;
  }
  const saved = argv.indexOf('--table');
  if (saved >= 0) {
    // Re-prints the table of a saved `--json` run.
    console.log(table(JSON.parse(readFileSync(argv[saved + 1], 'utf8')) as Row[]));
    return;
  }
  const models = option('--models', MODELS.join(',')).split(',');
  const opsets = option('--opsets', '13,17').split(',').map(Number);
  const sizes = option('--sizes', '64,224').split(',').map(Number);
  const rows: Row[] = [];
  const self = fileURLToPath(import.meta.url);
  const passOn = ['--dir', '--calibration', '--evaluation'].flatMap((k) =>
    argv.includes(k) ? [k, option(k, '')] : [],
  );
  for (const size of sizes) {
    for (const model of models) {
      for (const opset of opsets) {
        if (!existsSync(resolve(dir, `${model}_op${opset}_${size}.onnx`))) {
          console.error(`skip ${model} opset ${opset} ${size}: not exported (scripts/exportTorchvision.py)`);
          continue;
        }
        console.error(`${model} opset ${opset} ${size}×${size} ...`);
        const child = spawnSync(
          process.execPath,
          ['--max-old-space-size=6144', self, '--one', `${model}:${opset}:${size}`, ...passOn],
          { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
        );
        const line = child.stdout.split('\n').find((l) => l.startsWith('ROW '));
        if (line) rows.push(JSON.parse(line.slice(4)) as Row);
        else {
          const why = child.signal ?? `exit ${child.status}`;
          const last = child.stderr.trim().split('\n').slice(-1)[0] ?? '';
          rows.push({ model, opset, size, ok: false, error: `crashed (${why}): ${last.slice(0, 200)}` });
        }
        const r = rows[rows.length - 1];
        console.error(
          r.ok
            ? `  ok in ${r.importSeconds?.toFixed(1)} s; held-out max prob. error ${r.maxProbabilityError?.toFixed(4)}, top-1 ${r.top1Agreement}`
            : `  ${r.error}`,
        );
      }
    }
  }
  console.log(argv.includes('--json') ? JSON.stringify(rows, null, 2) : table(rows));
}

await main();
