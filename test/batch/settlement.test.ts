// Batch settlement between real libp2p peers on loopback and the BatchMarket on the embedded
// chain: 1,000 signed digits requests settle in one postBatch and are paid after the window; then a
// worker that corrupts one result at a random position is caught by a verifier that re-executes
// every leaf, challenges only that leaf and wins its dispute game, and the batch is convicted; the
// verifier then claims its part of the escrowed beneficiary share and withdraws it with its bond.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Address, parseEther } from 'viem';
import { requestBatch, waitForBatchFinality } from '../../src/batch/requester.ts';
import {
  type BatchVerifier,
  type BatchVerifierEvent,
  createBatchVerifier,
} from '../../src/batch/verifier.ts';
import { type BatchWorker, type BatchWorkerEvent, createBatchWorker } from '../../src/batch/worker.ts';
import { NATIVE } from '../../src/chain/bindings/types.ts';
import type { PeerHost } from '../../src/p2p/host.ts';
import { advance, type BatchWorld, digitsInputs, seeded, startBatchWorld, until } from './support.ts';

const HONEST = 1;
const VERIFIER = 2;
const CHEATER = 4;
const N = 1000;
const FEE = parseEther('0.001');

let w: BatchWorld;
let inputs: Uint8Array[];
let verifier: BatchVerifier;
const verifierEvents: BatchVerifierEvent[] = [];
const workers: BatchWorker[] = [];

before(async () => {
  w = await startBatchWorld();
  inputs = digitsInputs(w.model, N);
  const verifierHost = await w.newHost();
  await w.registerAgent(VERIFIER, verifierHost);
  verifier = createBatchVerifier({
    host: verifierHost,
    publicClient: w.chain.publicClient,
    wallet: w.chain.wallet(VERIFIER),
    addresses: w.v.addresses,
    models: w.models,
    backend: w.backend,
    onEvent: (e) => verifierEvents.push(e),
  });
  await verifier.start();
});

after(async () => {
  await verifier?.stop();
  for (const worker of workers) await worker.stop();
  await w?.close();
});

async function startWorker(i: number, cheat?: { indices: number[] }) {
  const host = await w.newHost();
  await w.registerAgent(i, host);
  const events: BatchWorkerEvent[] = [];
  const worker = createBatchWorker({
    host,
    publicClient: w.chain.publicClient,
    wallet: w.chain.wallet(i),
    addresses: w.v.addresses,
    models: w.models,
    backend: w.backend,
    cheat,
    onEvent: (e) => events.push(e),
  });
  await worker.start();
  workers.push(worker);
  return { host, worker, events, address: w.chain.accounts[i] as Address };
}

const market = () => w.v.batchMarket.read;
const balance = (address: Address) => w.chain.publicClient.getBalance({ address });

async function send(worker: { host: PeerHost; address: Address }) {
  const requesterHost = await w.newHost();
  return requestBatch({
    host: requesterHost,
    worker: worker.host.multiaddrs()[0],
    workerAddress: worker.address,
    wallet: w.requester,
    publicClient: w.chain.publicClient,
    addresses: w.v.addresses,
    requests: inputs.map((input) => ({ modelRoot: w.modelRoot, input })),
    fee: FEE,
  });
}

test('1,000 signed digits requests settle in one postBatch: reserved, finalized after the window, fees withdrawn', async () => {
  const honest = await startWorker(HONEST);
  const me = w.requester.account.address;
  const workerBefore = await balance(honest.address);
  const marketBefore = await balance(w.v.addresses.batchMarket);
  const requesterBefore = await balance(me);
  const posted = await send(honest);
  const total = FEE * BigInt(N);

  assert.equal(posted.leaves.length, N);
  assert.equal(posted.header.count, N);
  assert.equal(posted.header.totalFee, total);
  const b = await market().batch([posted.batchId]);
  assert.equal(b.status, 1);
  assert.equal(b.root, posted.header.root);
  assert.equal(b.count, N);
  // The requester deposited exactly the shortfall, all of it reserved by the batch.
  assert.equal((await market().deposits([NATIVE, me])).available, 0n);
  const postTx = await w.chain.publicClient.getTransaction({ hash: posted.transactionHash });
  assert.equal(postTx.from.toLowerCase(), honest.address.toLowerCase());

  // The verifier re-executes all 1,000 leaves and finds nothing to challenge.
  const checked = await until('the verifier to check the batch', () =>
    verifierEvents.find((e) => e.type === 'checked' && e.batchId === posted.batchId),
  );
  assert.deepEqual(checked, { type: 'checked', batchId: posted.batchId, checked: N, wrong: [] });

  await advance(w.chain, w.v.params.batch.challengeWindow);
  assert.equal(
    await waitForBatchFinality({
      publicClient: w.chain.publicClient,
      addresses: w.v.addresses,
      batchId: posted.batchId,
    }),
    2,
  );
  await until('the fees to be withdrawn', () => honest.events.find((e) => e.type === 'withdrawn'));

  // Exact balances: the worker got the total less its own gas; the market holds what it held.
  const gas = honest.events.reduce((s, e) => s + ('gasCost' in e ? e.gasCost : 0n), 0n);
  assert.deepEqual(
    honest.events.filter((e) => 'gasCost' in e).map((e) => e.type),
    ['posted', 'finalized', 'withdrawn'],
  );
  assert.equal((await balance(honest.address)) - workerBefore, total - gas);
  assert.equal(await balance(w.v.addresses.batchMarket), marketBefore);
  assert.equal(await market().owed([NATIVE, honest.address]), 0n);
  assert.ok(
    requesterBefore - (await balance(me)) > total,
    'the requester paid the total and its deposit gas',
  );
  const info = await w.v.agentRegistry.read.agentInfo([honest.address]);
  assert.equal(info.locked, 0n, 'the batch stake was released');
  assert.equal(verifierEvents.filter((e) => e.type === 'challenged').length, 0);
});

test('one wrong result at a random position of 1,000: the verifier challenges that leaf alone, wins, and the batch is convicted', async () => {
  const bad = Math.floor(seeded(2024)() * N);
  const cheater = await startWorker(CHEATER, { indices: [bad] });
  const me = w.requester.account.address;
  const stakeBefore = (await w.v.agentRegistry.read.agentInfo([cheater.address])).stake;
  const verifierAddress = w.chain.accounts[VERIFIER];
  const walletBefore = await w.chain.publicClient.getBalance({ address: verifierAddress });
  const posted = await send(cheater);
  const total = FEE * BigInt(N);
  assert.equal((await market().deposits([NATIVE, me])).available, 0n);

  const checked = await until('the verifier to check the batch', () =>
    verifierEvents.find((e) => e.type === 'checked' && e.batchId === posted.batchId),
  );
  assert.deepEqual(checked, { type: 'checked', batchId: posted.batchId, checked: N, wrong: [bad] });
  await until('the verifier to challenge', () =>
    verifierEvents.find(
      (e) => (e.type === 'challenged' && e.batchId === posted.batchId) || e.type === 'error',
    ),
  );
  assert.deepEqual(
    verifierEvents.filter((e) => e.type === 'error'),
    [],
  );
  const challenged = verifierEvents.filter((e) => e.type === 'challenged' && e.batchId === posted.batchId);
  assert.equal(challenged.length, 1);
  assert.equal(challenged[0].type === 'challenged' && challenged[0].index, bad);
  const gameId = challenged[0].type === 'challenged' ? challenged[0].gameId : 0n;
  const over = await until('the game to end', () =>
    verifierEvents.find((e) => e.type === 'game-over' && e.gameId === gameId),
  );
  assert.equal(over.type === 'game-over' && over.outcome, 1, 'the challenger won');
  assert.ok(
    cheater.events.some((e) => e.type === 'defending' && e.gameId === gameId && e.index === bad),
    'the cheater defended its corrupted trace',
  );

  const b = await market().batch([posted.batchId]);
  assert.equal(b.status, 3, 'convicted');
  assert.equal((await market().disputes([posted.batchId])).open, 0n);
  // The total is back in the deposit; the batch stake is slashed, half of it escrowed for the
  // winning claims: the verifier's game alone.
  assert.equal((await market().deposits([NATIVE, me])).available, total);
  const stakeAfter = (await w.v.agentRegistry.read.agentInfo([cheater.address])).stake;
  assert.equal(stakeBefore - stakeAfter, b.stake);
  const beneficiaryShare = (b.stake * BigInt(w.v.params.batch.slashBeneficiaryBps)) / 10_000n;
  const bounty = await until('the verifier to claim its bounty', () =>
    verifierEvents.find((e) => e.type === 'bounty' && e.batchId === posted.batchId),
  );
  assert.deepEqual(bounty, { type: 'bounty', batchId: posted.batchId, amount: beneficiaryShare });
  const withdrawn = await until('the verifier to withdraw', () =>
    verifierEvents.find((e) => e.type === 'withdrawn'),
  );
  // The bounty, and the game bond returned by the DisputeGame.
  assert.deepEqual(withdrawn, {
    type: 'withdrawn',
    amount: beneficiaryShare + w.v.params.batch.challengeBond,
  });
  assert.equal(await market().bountyWins([posted.batchId, verifierAddress]), 0n, 'claimed once');
  assert.equal(await market().owed([NATIVE, verifierAddress]), 0n);
  assert.equal(await w.v.disputeGame.read.credits([verifierAddress]), 0n);
  const walletAfter = await w.chain.publicClient.getBalance({ address: verifierAddress });
  assert.ok(walletAfter > walletBefore, 'the verifier ends richer than it started, gas included');
  // No other leaf was challenged or queried.
  const logs = await w.chain.publicClient.getContractEvents({
    address: w.v.addresses.batchMarket,
    abi: w.v.batchMarket.abi,
    fromBlock: 0n,
  });
  const onBatch = logs.filter(
    (l) =>
      (l.eventName === 'ResultChallenged' || l.eventName === 'QueryOpened') &&
      l.args.batchId === posted.batchId,
  );
  assert.deepEqual(
    onBatch.map((l) => [l.eventName, l.eventName === 'ResultChallenged' ? l.args.index : undefined]),
    [['ResultChallenged', BigInt(bad)]],
  );
  await advance(w.chain, w.v.params.batch.challengeWindow);
  await assert.rejects(() => w.v.batchMarket.write.finalizeBatch([posted.batchId]), /BatchMarketWrongStatus/);
});
