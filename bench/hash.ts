// node bench/hash.ts [--json]
//
// Tensor-root throughput (src/commit/tensorRoot.ts), side by side in one run: the WebAssembly
// keccak (one call per tensor) and, where the addon loads on AVX-512, the native 8-lane keccak
// (one call per list of tensors), on one 4 MiB tensor and on a list of 24 small ones like a
// digits trace. Interleaved rounds, medians. Both give the same roots (test/engine/native-hash.test.ts).
import { loadNative } from '../src/engine/native/index.ts';
import { wasmTensorRoot } from '../src/engine/wasm/index.ts';

const json = process.argv.includes('--json');
const log = (s: string) => process.stderr.write(`${s}\n`);

const bytes = (n: number, seed: number) => {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (x * 1664525 + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
};
const big = [bytes(4 << 20, 1)];
// The byte sizes of digits' 24 op outputs at batch 1.
const sizes = [
  6272, 1568, 3136, 3136, 3136, 3136, 784, 784, 784, 784, 1568, 32, 32, 8, 32, 32, 32, 1568, 32, 1568, 1568,
  288, 288, 10,
];
const small = sizes.map((n, i) => bytes(n, 100 + i));

const status = await loadNative();
const native = status.loaded && status.paths.includes('vnni512') ? status.addon.tensorRoots : undefined;
const columns: Record<string, (list: Uint8Array[]) => unknown> = {
  wasm: (list) => list.map((b) => wasmTensorRoot(b)),
  ...(native && status.loaded ? { native: (list: Uint8Array[]) => native.call(status.addon, list) } : {}),
};
if (!native) log(`native: ${status.loaded ? 'no AVX-512 here' : status.reason}`);

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
/** Seconds per call of fn on list, over about 200 ms. */
function slice(fn: (list: Uint8Array[]) => unknown, list: Uint8Array[]): number {
  fn(list);
  let calls = 0;
  const start = performance.now();
  while (calls < 3 || performance.now() - start < 200) {
    fn(list);
    calls += 1;
  }
  return (performance.now() - start) / 1000 / calls;
}

const rows: { case: string; bytes: number; mbPerSecond: Record<string, number>; ratio: number | null }[] = [];
for (const [name, list] of [
  ['one 4 MiB tensor', big],
  ['24 small tensors (a digits trace)', small],
] as const) {
  const total = list.reduce((s, b) => s + b.length, 0);
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(columns).map((k) => [k, []]));
  for (let r = 0; r < 7; r++) for (const [k, fn] of Object.entries(columns)) times[k].push(slice(fn, list));
  const mbPerSecond = Object.fromEntries(Object.entries(times).map(([k, t]) => [k, total / median(t) / 1e6]));
  rows.push({
    case: name,
    bytes: total,
    mbPerSecond,
    ratio: mbPerSecond.native ? mbPerSecond.native / mbPerSecond.wasm : null,
  });
}
if (json) {
  console.log(JSON.stringify({ unit: 'MB/s', rows }, null, 2));
} else {
  console.log('Tensor roots, MB/s (medians of 7 interleaved rounds; ratio native / wasm):\n');
  console.log('| case | bytes | wasm | native | ratio |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const r of rows)
    console.log(
      `| ${r.case} | ${r.bytes} | ${r.mbPerSecond.wasm.toFixed(0)} | ${r.mbPerSecond.native?.toFixed(0) ?? 'n/a'} | ${r.ratio ? `${r.ratio.toFixed(2)}×` : 'n/a'} |`,
    );
}
