import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { handModel } from '../../test/support/handModel.ts';
import { keccak256, toHex } from '../commit/keccak.ts';
import { modelRoot } from '../commit/modelRoot.ts';
import { ModelFormatError } from '../errors/base.ts';
import { loadModelDir, saveModelDir } from './modelDir.ts';
import { OutputDirError } from './outputDir.ts';

test('a saved package loads back with the same root and tokenizer', async () => {
  const dir = join(await mkdtemp(join(tmpdir(), 'vrnf-')), 'pkg');
  const model = handModel();
  const tokenizer = new TextEncoder().encode('{"kind":"test"}');
  model.meta.tokenizerHash = toHex(keccak256(tokenizer));
  const manifest = await saveModelDir(dir, model, { tokenizer, report: { ok: true } });
  assert.equal(manifest.modelRoot, toHex(modelRoot(model)));
  const pkg = await loadModelDir(dir);
  assert.equal(pkg.manifest.modelRoot, manifest.modelRoot);
  assert.deepEqual(pkg.tokenizer, { kind: 'test' });
  assert.deepEqual((await readdir(join(dir, '..'))).sort(), ['pkg']);
});

test('a non-empty output directory is refused, even forced, and left untouched', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vrnf-'));
  await writeFile(join(dir, 'keep.txt'), 'mine');
  await assert.rejects(saveModelDir(dir, handModel()), OutputDirError);
  await assert.rejects(saveModelDir(dir, handModel(), { force: true }), /not a previous model package/);
  assert.deepEqual(await readdir(dir), ['keep.txt']);
  assert.equal(await readFile(join(dir, 'keep.txt'), 'utf8'), 'mine');
});

test('--force replaces a previous package, and only that', async () => {
  const parent = await mkdtemp(join(tmpdir(), 'vrnf-'));
  const dir = join(parent, 'pkg');
  await saveModelDir(dir, handModel());
  await assert.rejects(saveModelDir(dir, handModel()), /not empty/);
  await saveModelDir(dir, handModel(), { force: true });
  assert.deepEqual((await readdir(dir)).sort(), ['manifest.json', 'model.vrnf']);
  assert.deepEqual(await readdir(parent), ['pkg']);
});

test('an invalid model leaves no directory behind', async () => {
  const parent = await mkdtemp(join(tmpdir(), 'vrnf-'));
  const model = handModel();
  model.ops[0] = { ...model.ops[0], qmax: 999 } as (typeof model.ops)[0];
  await assert.rejects(saveModelDir(join(parent, 'out'), model), ModelFormatError);
  assert.deepEqual(await readdir(parent), []);
});

test('a tampered tokenizer or manifest is detected on load', async () => {
  const dir = join(await mkdtemp(join(tmpdir(), 'vrnf-')), 'pkg');
  const model = handModel();
  const tokenizer = new TextEncoder().encode('{"kind":"test"}');
  model.meta.tokenizerHash = toHex(keccak256(tokenizer));
  await saveModelDir(dir, model, { tokenizer });
  await writeFile(join(dir, 'tokenizer.json'), '{"kind":"evil"}');
  await assert.rejects(loadModelDir(dir), /tokenizer file does not match/);
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
  manifest.modelRoot = `0x${'00'.repeat(32)}`;
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  await assert.rejects(loadModelDir(dir), /manifest names model/);
  const empty = join(dir, '..', 'empty');
  await mkdir(empty);
  await assert.rejects(loadModelDir(empty), /not a model package/);
});
