// Gas of one-step verification for the largest single steps of realistic models, measured on the
// embedded EDR chain. Two numbers per step:
//   compute — gasleft() around the library call (operands already in memory),
//   tx      — eth_estimateGas of a whole transaction to the probe (21000 base, calldata, ABI decoding).
// The results are also checked against the reference ops, and the table is printed as test
// diagnostics. The budgets below are loose ceilings that catch accidental regressions.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Abi, type Address, encodeFunctionData } from 'viem';
import { deployArtifact } from '../../src/chain/deploy.ts';
import { type EmbeddedChain, startEmbeddedChain } from '../../src/chain/embedded.ts';
import { tensorBytes } from '../../src/commit/tensorRoot.ts';
import type { ConvOp, LayerNormOp, MatMulOp } from '../../src/engine/graph.ts';
import { conv } from '../../src/engine/reference/conv.ts';
import { matmul } from '../../src/engine/reference/matmul.ts';
import { layernorm, softmax } from '../../src/engine/reference/normalize.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { hex, rng } from './support.ts';

let chain: EmbeddedChain;
let probe: { address: Address; abi: Abi };
before(async () => {
  chain = await startEmbeddedChain();
  const { address, contract } = await deployArtifact(chain, 'OneStepGasProbe');
  probe = { address, abi: contract.abi };
});
after(async () => {
  await chain?.close();
});

const B = BigInt;
const r = rng(1000);
const rows: { step: string; compute: number; tx: number }[] = [];

/** Calls `fn` on the probe; returns its result, the in-contract gas and the estimated transaction gas. */
async function measure<T>(
  fn: string,
  args: unknown[],
): Promise<{ y: T; gas: bigint | bigint[]; tx: bigint }> {
  const [y, gas] = (await chain.publicClient.readContract({
    address: probe.address,
    abi: probe.abi,
    functionName: fn,
    args,
  })) as [T, bigint | bigint[]];
  const data = encodeFunctionData({ abi: probe.abi, functionName: fn, args });
  const tx = await chain.publicClient.estimateGas({ account: chain.accounts[0], to: probe.address, data });
  return { y, gas, tx };
}

function record(step: string, compute: bigint, tx: bigint, budget: number) {
  rows.push({ step, compute: Number(compute), tx: Number(tx) });
  assert.ok(Number(compute) < budget, `${step}: ${compute} gas, budget ${budget}`);
}

const u8 = (shape: number[], n: number, zeroPoint: number): Tensor => ({
  dtype: 'u8',
  shape,
  data: r.bytes(n),
  zeroPoint,
});
const i32 = (data: number[]): Tensor => ({
  dtype: 'i32',
  shape: [data.length],
  data: Int32Array.from(data),
  zeroPoint: 0,
});
const q = (zy: number, mult: number, shift: number) => ({
  zy: B(zy),
  mult: B(mult),
  shift: B(shift),
  qmin: 0n,
  qmax: 255n,
});

test('conv element with 3x3x16 taps', async () => {
  const [C, H, W] = [16, 8, 8];
  const x = u8([1, C, H, W], C * H * W, 128);
  const w: Tensor = {
    dtype: 'i8',
    shape: [1, C, 3, 3],
    data: Int8Array.from({ length: C * 9 }, () => r.i8()),
    zeroPoint: 0,
  };
  const op: ConvOp = {
    type: 'conv',
    name: 'c',
    inputs: [0, 1, 2, 3, 4],
    output: 5,
    strides: [1, 1],
    pads: [1, 1, 1, 1],
    dilations: [1, 1],
    group: 1,
    qmin: 0,
    qmax: 255,
  };
  const ins = [x, w, i32([1234]), i32([20000]), i32([24])];
  const y = conv(op, ins, [1, 1, H, W], 7);
  const [oy, ox] = [3, 4];
  const xTaps = new Uint8Array(C * 9);
  for (let c = 0; c < C; c++)
    for (let ky = 0; ky < 3; ky++)
      for (let kx = 0; kx < 3; kx++)
        xTaps[(c * 3 + ky) * 3 + kx] = x.data[(c * H + oy - 1 + ky) * W + ox - 1 + kx];
  const g = { H, W, KH: 3, KW: 3, strideH: 1, strideW: 1, padTop: 1, padLeft: 1, dilH: 1, dilW: 1 };
  const c = {
    g: Object.fromEntries(Object.entries(g).map(([k, v]) => [k, B(v)])),
    oy: B(oy),
    ox: B(ox),
    xTaps: hex(xTaps),
    wTaps: hex(w.data as Int8Array),
    zx: 128n,
    bias: 1234n,
    q: q(7, 20000, 24),
    channelCuts: [],
  };
  const m = await measure<bigint>('conv', [c]);
  assert.equal(Number(m.y), y[oy * W + ox]);
  record('conv 3x3x16 (144 taps)', m.gas as bigint, m.tx, 60_000);
});

for (const K of [64, 128]) {
  test(`matmul element with K = ${K}, whole and as partial sums of 32`, async () => {
    const a = u8([1, 1, K], K, 3);
    const b: Tensor = {
      dtype: 'i8',
      shape: [K, 1],
      data: Int8Array.from({ length: K }, () => r.i8()),
      zeroPoint: 0,
    };
    const op: MatMulOp = {
      type: 'matmul',
      name: 'mm',
      inputs: [0, 1, 2, 3, 4],
      output: 5,
      qmin: 0,
      qmax: 255,
    };
    const y = matmul(op, [a, b, i32([-77]), i32([16000]), i32([22])], [1, 1, 1], 100)[0];
    const whole = {
      a: hex(a.data as Uint8Array),
      b: hex(b.data as Int8Array),
      bSigned: true,
      za: 3n,
      zb: 0n,
      bias: -77n,
      q: q(100, 16000, 22),
      cuts: [],
    };
    const m = await measure<bigint>('matmul', [whole]);
    assert.equal(Number(m.y), y);
    record(`matmul K=${K}`, m.gas as bigint, m.tx, 25_000 + 200 * K);
    let acc = -77n;
    let stepGas = 0n;
    let stepTx = 0n;
    for (let k0 = 0; k0 < K; k0 += 32) {
      const seg = (t: Uint8Array | Int8Array) => hex(t.subarray(k0, k0 + 32));
      const s = await measure<bigint>('matmulStep', [
        acc,
        seg(a.data as Uint8Array),
        seg(b.data as Int8Array),
        true,
        3n,
        0n,
      ]);
      acc = s.y;
      stepGas = s.gas as bigint;
      stepTx = s.tx;
    }
    record(`matmul partial step (32 of K=${K})`, stepGas, stepTx, 15_000);
    const f = await measure<bigint>('matmulFinish', [acc, q(100, 16000, 22)]);
    assert.equal(Number(f.y), y);
    record('matmul finish (requant)', f.gas as bigint, f.tx, 5_000);
  });
}

test('layernorm over D = 64 and softmax over 64', async () => {
  const D = 64;
  const x = u8([1, D], D, 120);
  const gamma = Array.from({ length: D }, () => r.int(-(2 ** 12), 2 ** 12));
  const beta = Array.from({ length: D }, () => r.int(-(2 ** 16), 2 ** 16));
  const op: LayerNormOp = {
    type: 'layernorm',
    name: 'ln',
    inputs: [0, 1, 2],
    output: 3,
    eps: 1,
    mult: 20000,
    shift: 26,
    qmin: 0,
    qmax: 255,
  };
  const y = layernorm(op, [x, i32(gamma), i32(beta)], 128);
  const i = 17;
  const c = {
    row: hex(x.data as Uint8Array),
    i: B(i),
    gamma: B(gamma[i]),
    beta: B(beta[i]),
    p: { zx: 120n, eps: 1n, q: q(128, 20000, 26) },
    cuts: [],
  };
  const row = await measure<bigint>('layernormRow', [c]);
  assert.equal(Number(row.y), y[i]);
  record('layernorm D=64 (whole row)', row.gas as bigint, row.tx, 60_000);
  const steps = await measure<bigint>('layernormSteps', [c]);
  const [gs, gq, ge] = steps.gas as bigint[];
  assert.equal(Number(steps.y), y[i]);
  record('layernorm S step (64)', gs, steps.tx, 20_000);
  record('layernorm Q step (64)', gq, steps.tx, 25_000);
  record('layernorm sigma + element', ge, steps.tx, 10_000);

  const table = Int32Array.from({ length: 256 }, (_, d) => Math.round(2 ** 16 * Math.exp(-d / 16)));
  const sx = u8([1, D], D, 0);
  const sy = softmax([sx, i32([...table])]);
  const args = [hex(sx.data as Uint8Array), B(i), hex(tensorBytes('i32', table))];
  const srow = await measure<bigint>('softmaxRow', args);
  assert.equal(Number(srow.y), sy[i]);
  record('softmax L=64 (whole row)', srow.gas as bigint, srow.tx, 50_000);
  const ssteps = await measure<bigint>('softmaxSteps', args);
  const [gm, gS, gy] = ssteps.gas as bigint[];
  assert.equal(Number(ssteps.y), sy[i]);
  record('softmax max step (64)', gm, ssteps.tx, 15_000);
  record('softmax sum step (64)', gS, ssteps.tx, 40_000);
  record('softmax element', gy, ssteps.tx, 5_000);
});

test('gas table', (t) => {
  t.diagnostic('one-step gas: compute = library call only; tx = eth_estimateGas of the whole probe call');
  for (const { step, compute, tx } of rows) {
    t.diagnostic(`${step.padEnd(36)} compute ${String(compute).padStart(7)}   tx ${String(tx).padStart(7)}`);
  }
});
