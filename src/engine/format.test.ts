import assert from 'node:assert/strict';
import { test } from 'node:test';
import { handModel } from '../../test/support/handModel.ts';
import { keccak256 } from '../commit/keccak.ts';
import { constRoot, modelRoot } from '../commit/modelRoot.ts';
import { tensorRoot } from '../commit/tensorRoot.ts';
import { ModelFormatError } from '../errors/base.ts';
import { decodeModel, encodeModel } from './format.ts';

test('encode then decode gives back the same model and root', () => {
  const model = handModel();
  const decoded = decodeModel(encodeModel(model));
  assert.deepEqual(decoded.ops, model.ops);
  assert.deepEqual(decoded.tensors, model.tensors);
  assert.deepEqual([...decoded.consts.keys()].sort(), [...model.consts.keys()].sort());
  for (const [id, data] of model.consts) assert.deepEqual([...decoded.consts.get(id)!], [...data]);
  assert.deepEqual(modelRoot(decoded), modelRoot(model));
});

test('every truncation of a model file is rejected with ModelFormatError', () => {
  const bytes = encodeModel(handModel());
  for (let len = 0; len < bytes.length; len += 7) {
    assert.throws(() => decodeModel(bytes.subarray(0, len)), ModelFormatError, `length ${len}`);
  }
});

test('a flipped byte anywhere is rejected', () => {
  const bytes = encodeModel(handModel());
  for (let i = 0; i < bytes.length; i += 13) {
    const copy = bytes.slice();
    copy[i] ^= 0x40;
    assert.throws(() => decodeModel(copy), ModelFormatError, `byte ${i}`);
  }
});

test('wrong magic, wrong version and an invalid graph get named errors', () => {
  const bytes = encodeModel(handModel());
  const magic = bytes.slice();
  magic[0] = 0x58;
  assert.throws(() => decodeModel(magic), /not a Verinfer model file/);
  const version = bytes.slice();
  version[5] = 9;
  assert.throws(() => decodeModel(version), /version 9 is not supported/);
  // A structurally valid file whose graph breaks a rule: re-sign it so the checksum passes.
  const model = handModel();
  const header = new TextEncoder().encode(
    JSON.stringify({ meta: model.meta, input: 0, output: 99, tensors: model.tensors, ops: model.ops }),
  );
  const out = new Uint8Array(10 + header.length + 32);
  out.set(bytes.subarray(0, 6));
  new DataView(out.buffer).setUint32(6, header.length);
  out.set(header, 10);
  out.set(keccak256(out.subarray(0, 10 + header.length)), 10 + header.length);
  assert.throws(() => decodeModel(out), ModelFormatError);
});

test('changing any weight changes the model root', () => {
  const a = handModel();
  const b = handModel();
  (b.consts.get(1) as Int8Array)[3] += 1;
  assert.notDeepEqual(modelRoot(a), modelRoot(b));
  const c = handModel();
  c.ops[0] = { ...c.ops[0], qmin: 6 } as (typeof c.ops)[0];
  assert.notDeepEqual(modelRoot(a), modelRoot(c));
});

test('a matmul weight is stored column-major, as committed, and read back row-major', () => {
  const model = handModel();
  const matmul = model.ops.find((op) => op.type === 'matmul')!;
  const id = matmul.inputs[1];
  const [K, N] = model.tensors[id].shape;
  const rowMajor = model.consts.get(id) as Int8Array;
  const bytes = encodeModel(model);
  const header = JSON.parse(
    new TextDecoder().decode(bytes.subarray(10, 10 + new DataView(bytes.buffer).getUint32(6))),
  );
  const blob = bytes.subarray(10 + new DataView(bytes.buffer).getUint32(6), bytes.length - 32);
  const stored = new Int8Array(blob.buffer, blob.byteOffset + header.tensors[id].offset, K * N);
  for (let k = 0; k < K; k++)
    for (let j = 0; j < N; j++) assert.equal(stored[j * K + k], rowMajor[k * N + j]);
  assert.deepEqual(tensorRoot(new Uint8Array(stored.buffer, stored.byteOffset, K * N)), constRoot(model, id));
  assert.deepEqual([...(decodeModel(bytes).consts.get(id) as Int8Array)], [...rowMajor]);
});

test('a version 1 file (matmul weights row-major) is refused', () => {
  const bytes = encodeModel(handModel());
  bytes[5] = 1;
  assert.throws(() => decodeModel(bytes), /version 1 is not supported; this build reads version 2/);
});
