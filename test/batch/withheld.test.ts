// A cheating worker that withholds its batch's contents: the requester's own verifier demands the
// leaves on chain, the worker must publish every page, and the verifier checks them against its
// own requests, challenges the wrong leaf and wins.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { getAddress, parseEther } from 'viem';
import { requestBatch } from '../../src/batch/requester.ts';
import { type BatchVerifierEvent, createBatchVerifier } from '../../src/batch/verifier.ts';
import { type BatchWorker, type BatchWorkerEvent, createBatchWorker } from '../../src/batch/worker.ts';
import { type BatchWorld, digitsInputs, startBatchWorld, until } from './support.ts';

const WORKER = 1;
const N = 300;
const BAD = 257;
let w: BatchWorld;
let worker: BatchWorker;
const workerEvents: BatchWorkerEvent[] = [];

before(async () => {
  w = await startBatchWorld();
});
after(async () => {
  await worker?.stop();
  await w?.close();
});

test('withheld contents: the requester demands the leaves, checks the published pages and convicts the batch', async () => {
  const host = await w.newHost();
  await w.registerAgent(WORKER, host);
  worker = createBatchWorker({
    host,
    publicClient: w.chain.publicClient,
    wallet: w.chain.wallet(WORKER),
    addresses: w.v.addresses,
    models: w.models,
    backend: w.backend,
    cheat: { indices: [BAD], withhold: true },
    onEvent: (e) => workerEvents.push(e),
  });
  await worker.start();
  const from = await w.chain.publicClient.getBlockNumber();
  const posted = await requestBatch({
    host: await w.newHost(),
    worker: host.multiaddrs()[0],
    workerAddress: getAddress(w.chain.accounts[WORKER]),
    wallet: w.requester,
    publicClient: w.chain.publicClient,
    addresses: w.v.addresses,
    requests: digitsInputs(w.model, N, 3).map((input) => ({ modelRoot: w.modelRoot, input })),
    fee: parseEther('0.001'),
  });
  const events: BatchVerifierEvent[] = [];
  const verifier = createBatchVerifier({
    host: await w.newHost(),
    publicClient: w.chain.publicClient,
    wallet: w.requester,
    addresses: w.v.addresses,
    models: w.models,
    backend: w.backend,
    fromBlock: from,
    knownContents: (id) => (id === posted.batchId ? posted.requests : undefined),
    onEvent: (e) => events.push(e),
  });
  await verifier.start();
  try {
    await until('the demand', () => events.find((e) => e.type === 'demanded' || e.type === 'withheld'));
    assert.equal(events[0].type, 'demanded');
    const checked = await until('the check of the published leaves', () =>
      events.find((e) => e.type === 'checked'),
    );
    assert.deepEqual(checked, { type: 'checked', batchId: posted.batchId, checked: N, wrong: [BAD] });
    const pages = await w.v.batchMarket.read.pages([posted.batchId]);
    assert.equal(pages.published, 2, 'both pages were published');
    const over = await until('the game to end', () => events.find((e) => e.type === 'game-over'));
    assert.equal(over.type === 'game-over' && over.outcome, 1);
    const b = await w.v.batchMarket.read.batch([posted.batchId]);
    assert.equal(b.status, 3);
    // The requester's own game convicted: it claims the whole escrowed beneficiary share.
    const bounty = await until('the bounty claim', () => events.find((e) => e.type === 'bounty'));
    const share = (b.stake * BigInt(w.v.params.batch.slashBeneficiaryBps)) / 10_000n;
    assert.deepEqual(bounty, { type: 'bounty', batchId: posted.batchId, amount: share });
    assert.deepEqual(
      events.filter((e) => e.type === 'challenged').map((e) => e.type === 'challenged' && e.index),
      [BAD],
    );
    assert.deepEqual(
      events.filter((e) => e.type === 'error'),
      [],
    );
  } finally {
    await verifier.stop();
  }
});
