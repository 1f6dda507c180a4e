// The generated ABIs (src/chain/bindings/abis.ts) match the current build, and the off-chain
// identifiers (task IDs, request hashes, batch leaves) match the contracts' own.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { parseEther } from 'viem';
import {
  buildBatchTree,
  headerHashOf,
  leafHashOf,
  requestHashOf,
} from '../../src/chain/bindings/commitments.ts';
import { ABIS_FILE, formatSource, renderAbis } from '../../src/chain/bindings/generate.ts';
import { NATIVE } from '../../src/chain/bindings/types.ts';
import { buildContracts } from '../../src/chain/hardhat.ts';
import { handInput, idOf, runOf, startWorld, taskOf, type World } from './support.ts';

let w: World;
before(async () => {
  w = await startWorld();
});
after(async () => w?.close());

test('abis.ts is up to date with the contracts (regenerate: node src/chain/bindings/generate.ts)', async () => {
  await buildContracts();
  const expected = formatSource(await renderAbis(), ABIS_FILE);
  assert.equal(await readFile(ABIS_FILE, 'utf8'), expected);
});

test('task IDs, request hashes and batch leaves agree with the contracts', async () => {
  const run = runOf(w.model, handInput(1));
  const task = taskOf(w, w.accounts[3], run);
  assert.equal(await w.v.taskMarket.read.taskId([task]), idOf(w, task));
  const request = {
    requester: w.accounts[3],
    worker: w.accounts[1],
    modelRoot: w.modelRoot,
    inputRoot: run.inputRoot,
    feeToken: NATIVE,
    fee: parseEther('0.001'),
    nonce: 7n,
    deadline: 12345n,
  };
  const hash = requestHashOf(w.chain.chain.id, w.v.addresses.batchMarket, request);
  assert.equal(await w.v.batchMarket.read.requestHash([request]), hash);
  const leaf = { requestHash: hash, resultCommitment: run.traceRoot, outputRoot: run.outputRoot, fee: 5n };
  assert.equal(await w.v.batchMarket.read.leafHash([leaf]), leafHashOf(leaf));
  assert.equal(buildBatchTree([leaf]).root, leafHashOf(leaf));
  const header = {
    requester: w.accounts[3],
    worker: w.accounts[1],
    feeToken: NATIVE,
    root: leafHashOf(leaf),
    count: 1,
    totalFee: 5n,
    nonce: 3n,
    deadline: 99n,
  };
  assert.equal(
    await w.v.batchMarket.read.headerHash([header]),
    headerHashOf(w.chain.chain.id, w.v.addresses.batchMarket, header),
  );
});
