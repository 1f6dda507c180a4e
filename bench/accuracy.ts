// npm run eval:accuracy [-- --bias-correction]: how far each supported model's quantized outputs
// drift from float, per calibration method: output probability error on the calibration set (the
// import's drift check) and, for the example models, on their held-out sets; and the layer that
// adds the most error.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CALIBRATION_METHODS, type FloatTensor, importOnnx, parseFloatInput } from '../src/onnx/index.ts';
import { EXAMPLES } from '../src/sdk/examples.ts';
import { seededInts } from './models/seeded.ts';

/** Mulberry32 as a float in [0, 1), so the fixture inputs are the same on every run (as in test/onnx). */
function rng(seed: number): () => number {
  const ints = seededInts(seed);
  return () => ints.uint32() / 4294967296;
}

function samples(n: number, shape: number[], draw: (r: () => number) => number): FloatTensor[] {
  const r = rng(1);
  const size = shape.reduce((p, d) => p * d, 1);
  return Array.from({ length: n }, () => ({ shape, data: Array.from({ length: size }, () => draw(r)) }));
}

const uniform = (r: () => number) => r();
const normal = (r: () => number) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
const token = (r: () => number) => Math.floor(r() * 40);
const fixture = (name: string) =>
  new Uint8Array(readFileSync(fileURLToPath(new URL(`../test/fixtures/onnx/${name}`, import.meta.url))));

interface Case {
  name: string;
  bytes: Uint8Array;
  calibration: FloatTensor[];
  heldOut?: FloatTensor[];
  inputKind?: 'image' | 'tokens';
}

const cases: Case[] = EXAMPLES.map((e) => {
  const set = JSON.parse(readFileSync(e.testSet, 'utf8'));
  const heldOut: FloatTensor[] =
    e.name === 'digits'
      ? set.pixels.map((p: string) => ({
          shape: [1, 1, 28, 28],
          data: Array.from(Buffer.from(p, 'base64'), (v) => v / 255),
        }))
      : set.tokens.map((t: number[]) => ({ shape: [1, t.length], data: t }));
  return {
    name: e.name,
    bytes: new Uint8Array(readFileSync(e.onnx)),
    calibration: (JSON.parse(readFileSync(e.calibration, 'utf8')) as unknown[]).map(parseFloatInput),
    heldOut,
    inputKind: e.tokenizer ? 'tokens' : 'image',
  };
});
cases.push(
  { name: 'cnn.onnx', bytes: fixture('cnn.onnx'), calibration: samples(32, [1, 3, 16, 16], uniform) },
  { name: 'misc.onnx', bytes: fixture('misc.onnx'), calibration: samples(32, [1, 6, 10], normal) },
  {
    name: 'transformer13.onnx',
    bytes: fixture('transformer13.onnx'),
    calibration: samples(32, [1, 16], token),
  },
  {
    name: 'transformer17.onnx',
    bytes: fixture('transformer17.onnx'),
    calibration: samples(32, [1, 16], token),
  },
);

const f = (v: number) => v.toFixed(4);
console.log(
  '| model | method | calibration: max / mean probability error | held-out: samples, max / mean probability error, top-1 agreement | layer adding the most error |',
);
console.log('| --- | --- | ---: | ---: | --- |');
// --bias-correction: each method once more with ImportOptions.biasCorrection.
const corrections = process.argv.includes('--bias-correction') ? [false, true] : [false];
for (const c of cases) {
  for (const method of CALIBRATION_METHODS)
    for (const biasCorrection of corrections) {
      const { report } = await importOnnx(c.bytes, c.calibration, {
        name: c.name,
        calibrationMethod: method,
        inputKind: c.inputKind,
        evaluation: c.heldOut,
        biasCorrection,
      });
      const a = report.agreement;
      const e = report.evaluation;
      const held = e
        ? `${e.samples}, ${f(e.maxProbabilityError)} / ${f(e.meanProbabilityError)}, ${(100 * e.top1Agreement).toFixed(2)}%`
        : '–';
      const w = report.worstLayers[0];
      const worst = w ? `${w.op} (${w.type}, +${(100 * w.addedRmsError).toFixed(2)}% RMS of its range)` : '–';
      console.log(
        `| ${c.name} | ${method}${biasCorrection ? ', bias correction' : ''} | ${f(a.maxProbabilityError)} / ${f(a.meanProbabilityError)} | ${held} | ${worst} |`,
      );
    }
}
