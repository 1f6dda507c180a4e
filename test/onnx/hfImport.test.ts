// Hugging Face style exports (test/fixtures/onnx/make_hf.py) take input_ids, attention_mask and
// token_type_ids. The integer model commits to input_ids alone; the import options derive the
// others from it (attention_mask = ids != pad, token_type_ids = 0), and the result runs
// bit-exactly on every backend and agrees with onnxruntime's float model fed all three inputs,
// on padded inputs. Without the options the error names the extra inputs and the option for each.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Model } from '../../src/engine/graph.ts';
import { runReference } from '../../src/engine/interpreter.ts';
import { createNativeBackend, loadNative } from '../../src/engine/native/index.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { validateModel } from '../../src/engine/validate.ts';
import { createWasmBackend } from '../../src/engine/wasm/index.ts';
import { InputError, UnsupportedOpError } from '../../src/errors/base.ts';
import type { DerivedInputs } from '../../src/onnx/deriveInputs.ts';
import { dequantize, importOnnx, quantizeInput } from '../../src/onnx/index.ts';
import { argmax, fixture, rng } from './helpers.ts';
import { hfFloat, PAD, S, sentences } from './hfSamples.ts';
import { buildOnnx } from './onnxBuilder.ts';

/** The tolerance of test/onnx/architectures.test.ts: |q - f| <= TOLERANCE * (1 + max |f|). */
const TOLERANCE = 0.05;

const wasm = createWasmBackend();
const nativeStatus = await loadNative();
const native = nativeStatus.loaded ? await createNativeBackend({ minMacs: 0 }) : null;

const bytesOf = (t: Tensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

function stack(model: Model, inputs: Tensor[]): Tensor {
  const n = inputs[0].data.length;
  const data = new Int32Array(n * inputs.length);
  for (const [i, t] of inputs.entries()) data.set(t.data as Int32Array, i * n);
  return { ...inputs[0], shape: [inputs.length, ...model.tensors[model.input].shape.slice(1)], data };
}

const FIXTURES: [string, DerivedInputs][] = [
  ['hf_bert', { maskFromPad: { padId: PAD }, constants: { token_type_ids: 0 } }],
  ['hf_bert_2in', { maskFromPad: { padId: PAD } }],
];

describe('Hugging Face exports with several inputs', () => {
  for (const [name, derivedInputs] of FIXTURES) {
    test(`${name}: without derived inputs the error names the extra inputs and the options`, async () => {
      await assert.rejects(
        importOnnx(fixture(`arch/${name}.onnx`), sentences(1, 2), { name }),
        (e: unknown) => {
          const m = (e as Error).message;
          assert.ok(e instanceof UnsupportedOpError, m);
          assert.match(m, /Keep "input_ids"/);
          assert.match(m, /"attention_mask" with --mask-from-pad <pad id>/);
          if (name === 'hf_bert') assert.match(m, /"token_type_ids" with --constant-input token_type_ids=0/);
          else assert.doesNotMatch(m, /token_type_ids/);
          return true;
        },
      );
    });

    test(`${name}: imports with derived inputs, runs bit-exactly everywhere and agrees with float`, async () => {
      const bytes = fixture(`arch/${name}.onnx`);
      const { model, report } = await importOnnx(bytes, sentences(1, 256), { name, derivedInputs });
      validateModel(model);
      assert.equal(report.floatReference, 'onnxruntime', 'the report fed onnxruntime every input');
      assert.ok(
        report.worstLayers.every((l) => !l.op.endsWith('/table')),
        'the saturating mask table is not ranked among the worst layers',
      );
      assert.deepEqual(model.tensors[model.input].shape, [1, S]);
      assert.equal(model.tensors[model.input].dtype, 'i32');
      for (const t of ['gather', 'softmax', 'layernorm', 'lut'])
        assert.ok(
          model.ops.some((o) => o.type === t),
          `${name} has a ${t} op`,
        );
      // The mask is one gather of a table of the ids, shared by both layers' scores.
      assert.equal(model.ops.filter((o) => o.type === 'gather').length, 2, 'word embedding and mask table');

      const samples = sentences(2, 40);
      assert.ok(
        samples.filter((s) => s.data.includes(PAD)).length >= 30,
        'most held-out inputs contain padding',
      );
      const inputs = samples.map((s) => quantizeInput(model, s));
      const singles = inputs.map((x) => runReference(model, x));
      const backends = [['wasm', wasm], ...(native ? [['native', native] as const] : [])] as const;
      for (const [i, x] of inputs.slice(0, 4).entries()) {
        for (const [what, backend] of backends) {
          const got = await backend.run(model, x);
          assert.equal(got.trace.length, singles[i].trace.length);
          got.trace.forEach((t, k) => {
            assert.ok(
              bytesOf(t).equals(bytesOf(singles[i].trace[k])),
              `${what}, sample ${i}: op ${k} (${model.ops[k].type}) differs`,
            );
          });
        }
      }
      const batch = stack(model, inputs.slice(0, 3));
      const rows = bytesOf(runReference(model, batch).output);
      for (let i = 0; i < 3; i++)
        assert.ok(
          rows
            .subarray((i * rows.length) / 3, ((i + 1) * rows.length) / 3)
            .equals(bytesOf(singles[i].output)),
          `batch row ${i}`,
        );
      for (const [what, backend] of backends)
        assert.ok(bytesOf((await backend.run(model, batch)).output).equals(rows), `${what} batch`);

      const ref = await hfFloat(bytes, samples);
      let agree = 0;
      let worst = 0;
      singles.forEach((r, i) => {
        const q = dequantize(model, r.output);
        const mag = Math.max(...Array.from(ref[i], Math.abs));
        assert.equal(q.length, ref[i].length);
        for (let k = 0; k < q.length; k++) worst = Math.max(worst, Math.abs(q[k] - ref[i][k]) / (1 + mag));
        if (argmax(q) === argmax(ref[i])) agree += 1;
      });
      assert.ok(worst <= TOLERANCE, `${name}: relative output error ${worst}`);
      assert.ok(agree / samples.length >= 0.9, `${name}: top-1 agreement ${agree}/${samples.length}`);
    });
  }

  test('padding keys get attention probability exactly 0 in every layer', async () => {
    const { model } = await importOnnx(fixture('arch/hf_bert.onnx'), sentences(1, 64), {
      name: 'hf',
      derivedInputs: FIXTURES[0][1],
    });
    const softmaxes = model.ops.flatMap((o, k) => (o.type === 'softmax' ? [k] : []));
    assert.equal(softmaxes.length, 2);
    for (const s of sentences(3, 12)) {
      const run = runReference(model, quantizeInput(model, s));
      for (const k of softmaxes) {
        const p = run.trace[k].data;
        assert.equal(p.length % S, 0);
        for (let i = 0; i < p.length; i++) {
          const key = i % S;
          if (s.data[key] === PAD) assert.equal(p[i], 0, `op ${k}: a padding key has weight`);
        }
        assert.ok(p.some((v) => v > 0));
      }
    }
  });

  test('derived inputs are checked: unknown names, bad values, an input derived twice', async () => {
    const bytes = fixture('arch/hf_bert.onnx');
    const cases: [DerivedInputs, RegExp][] = [
      [{ maskFromPad: { padId: 0, input: 'mask' } }, /names input "mask", but the model's inputs are/],
      [{ maskFromPad: { padId: 0.5 }, constants: { token_type_ids: 0 } }, /pad id must be an integer/],
      [{ maskFromPad: { padId: 0 }, constants: { token_type_ids: 0.5 } }, /must be an integer/],
      [{ maskFromPad: { padId: 0 }, constants: { attention_mask: 1 } }, /derived twice/],
      [
        { constants: { input_ids: 0, attention_mask: 1, token_type_ids: 0 } },
        /Every input of the model is derived/,
      ],
    ];
    for (const [derivedInputs, message] of cases)
      await assert.rejects(
        importOnnx(bytes, sentences(1, 2), { name: 'hf', derivedInputs }),
        (e: unknown) => e instanceof InputError && message.test((e as Error).message),
        String(message),
      );
    // Only the mask derived: token_type_ids is still an extra input, and the error says how to derive it.
    await assert.rejects(
      importOnnx(bytes, sentences(1, 2), { name: 'hf', derivedInputs: { maskFromPad: { padId: 0 } } }),
      (e: unknown) =>
        e instanceof InputError && /--constant-input token_type_ids=0/.test((e as Error).message),
    );
  });

  test('position ids derived as 0..S-1 along the last axis fold into a constant', async () => {
    const V = 7;
    const r = rng(5);
    const emb = Array.from({ length: 3 * V }, () => 2 * r() - 1);
    const bytes = buildOnnx({
      input: { name: 'input_ids', dims: ['batch', 'sequence'], int64: true },
      extraInputs: [{ name: 'position_ids', dims: ['batch', 'sequence'], int64: true }],
      output: 'y',
      nodes: [
        { op: 'Gather', inputs: ['emb', 'input_ids'], outputs: ['e'] },
        { op: 'Gather', inputs: ['pos', 'position_ids'], outputs: ['p'] },
        { op: 'Add', inputs: ['e', 'p'], outputs: ['y'] },
      ],
      initializers: [
        { name: 'emb', dims: [V, 3], values: emb },
        { name: 'pos', dims: [4, 3], values: [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3] },
      ],
    });
    const ids = (seed: number, n: number) => {
      const q = rng(seed);
      return Array.from({ length: n }, () => ({
        shape: [1, 4],
        data: Array.from({ length: 4 }, () => Math.floor(q() * V)),
      }));
    };
    await assert.rejects(importOnnx(bytes, ids(1, 2), { name: 'pos' }), (e: unknown) =>
      /"position_ids" with --position-input position_ids/.test((e as Error).message),
    );
    const { model, report } = await importOnnx(bytes, ids(1, 32), {
      name: 'pos',
      derivedInputs: { positions: ['position_ids'] },
    });
    assert.equal(report.floatReference, 'onnxruntime');
    assert.equal(model.ops.filter((o) => o.type === 'gather').length, 1, 'the positions are a constant');
    const out = model.tensors[model.output];
    for (const s of ids(2, 8)) {
      const q = dequantize(model, runReference(model, quantizeInput(model, s)).output);
      q.forEach((v, k) => {
        const row = Math.floor(k / 3);
        const want = emb[s.data[row] * 3 + (k % 3)] + row;
        assert.ok(Math.abs(v - want) <= out.scale, `element ${k}: ${v} vs ${want}`);
      });
    }
  });

  test('the CLI: --mask-from-pad and --constant-input, and errors that say what to pass', () => {
    const dir = mkdtempSync(join(tmpdir(), 'verinfer-hf-'));
    const cal = join(dir, 'calibration.json');
    writeFileSync(cal, JSON.stringify(sentences(1, 32)));
    const onnx = fileURLToPath(new URL('../fixtures/onnx/arch/hf_bert.onnx', import.meta.url));
    const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
    const cli = (out: string, ...args: string[]) =>
      spawnSync(
        process.execPath,
        [main, 'model', 'import', onnx, '--calibration', cal, '--out', join(dir, out), ...args],
        {
          encoding: 'utf8',
        },
      );
    const plain = cli('plain');
    assert.equal(plain.status, 1);
    assert.match(plain.stderr, /--mask-from-pad <pad id>.*--constant-input token_type_ids=0/);
    const ok = cli(
      'ok',
      '--mask-from-pad',
      'attention_mask=0',
      '--constant-input',
      'token_type_ids=0',
      '--json',
    );
    assert.equal(ok.status, 0, ok.stderr);
    const report = JSON.parse(ok.stdout);
    assert.equal(report.floatReference, 'onnxruntime');
    assert.equal(report.agreement.samples, 32);
    const bad = cli('bad', '--mask-from-pad', '0', '--constant-input', 'token_type_ids');
    assert.equal(bad.status, 1);
    assert.match(
      bad.stderr,
      /--constant-input takes <input>=<number>, e\.g\. token_type_ids=0, got "token_type_ids"/,
    );
    const badPad = cli('badpad', '--mask-from-pad', 'pad', '--constant-input', 'token_type_ids=0');
    assert.equal(badPad.status, 1);
    assert.match(badPad.stderr, /--mask-from-pad takes a pad token id or <input>=<pad id>/);
  });
});
