// Batch settlement across restarts: a cheating batch worker and the verifier that caught it are
// stopped in the middle of their dispute game and replaced by new instances on the same databases;
// the game still ends ChallengerWon and the batch is convicted, with one challenge only. A verifier
// killed after sending its challenge but before recording the game adopts that game instead of
// opening a second one. An honest worker killed right after sending postBatch (before it learned
// the batch id) still finalizes the batch and withdraws its fees after the restart. A requester's
// verifier killed right after demanding withheld leaves adopts its demand (answered meanwhile)
// and reads the pages back from the chain.
//
// The services run with a polling loop too slow to fire, and the test drives their polls by hand,
// so the moment of each stop is exact.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Address, parseEther } from 'viem';
import { requestBatch } from '../../src/batch/requester.ts';
import type { BatchVerifierStore, BatchWorkerStore } from '../../src/batch/store.ts';
import {
  type BatchVerifier,
  type BatchVerifierEvent,
  createBatchVerifier,
} from '../../src/batch/verifier.ts';
import { type BatchWorker, type BatchWorkerEvent, createBatchWorker } from '../../src/batch/worker.ts';
import { NATIVE } from '../../src/chain/bindings/types.ts';
import { nodeBatchVerifierStore, nodeBatchWorkerStore } from '../../src/node/batchStore.ts';
import { NodeStore } from '../../src/node/store.ts';
import type { PeerHost } from '../../src/p2p/host.ts';
import { advance, type BatchWorld, digitsInputs, startBatchWorld } from './support.ts';

const HONEST = 1;
const VERIFIER = 2;
const CHEATER = 4;
const N = 24;
const BAD = 13;
const FEE = parseEther('0.001');
/** Never fires during a test: every poll is the test's own. */
const MANUAL = 3_600_000;
/** DisputeGame phases (contracts/game/GameTypes.sol). */
const CHALLENGER_OP_PICK = 2;
const RESOLVED = 11;

const dir = mkdtempSync(join(tmpdir(), 'verinfer-batch-restart-'));
let w: BatchWorld;
const running: { stop(): Promise<void> }[] = [];
const databases: NodeStore[] = [];
let cheaterHost: PeerHost;
let verifierHost: PeerHost;

before(async () => {
  w = await startBatchWorld();
  cheaterHost = await w.newHost();
  await w.registerAgent(CHEATER, cheaterHost);
  verifierHost = await w.newHost();
  await w.registerAgent(VERIFIER, verifierHost);
});

after(async () => {
  for (const s of running) await s.stop();
  for (const d of databases) d.close();
  await w?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Opens (or reopens, as a restarted node would) the database at `name`. */
function database(name: string): NodeStore {
  const d = new NodeStore(join(dir, `${name}.db`));
  databases.push(d);
  return d;
}

async function startWorker(i: number, host: PeerHost, store: BatchWorkerStore, cheat?: number[]) {
  const events: BatchWorkerEvent[] = [];
  const worker = createBatchWorker({
    host,
    publicClient: w.chain.publicClient,
    wallet: w.chain.wallet(i),
    addresses: w.v.addresses,
    models: w.models,
    backend: w.backend,
    store,
    pollIntervalMs: MANUAL,
    ...(cheat ? { cheat: { indices: cheat } } : {}),
    onEvent: (e) => events.push(e),
  });
  await worker.start();
  await worker.poll();
  running.push(worker);
  return { worker, events };
}

async function startVerifier(store: BatchVerifierStore) {
  const events: BatchVerifierEvent[] = [];
  const verifier = createBatchVerifier({
    host: verifierHost,
    publicClient: w.chain.publicClient,
    wallet: w.chain.wallet(VERIFIER),
    addresses: w.v.addresses,
    models: w.models,
    backend: w.backend,
    store,
    pollIntervalMs: MANUAL,
    onEvent: (e) => events.push(e),
  });
  await verifier.start();
  await verifier.poll();
  running.push(verifier);
  return { verifier, events };
}

async function stop(s: BatchWorker | BatchVerifier) {
  await s.stop();
  running.splice(running.indexOf(s), 1);
}

async function post(host: PeerHost, worker: number, seed: number) {
  return requestBatch({
    host: await w.newHost(),
    worker: host.multiaddrs()[0],
    workerAddress: w.chain.accounts[worker] as Address,
    wallet: w.requester,
    publicClient: w.chain.publicClient,
    addresses: w.v.addresses,
    requests: digitsInputs(w.model, N, seed).map((input) => ({ modelRoot: w.modelRoot, input })),
    fee: FEE,
  });
}

const gameOf = (gameId: bigint) => w.v.disputeGame.read.game([gameId]);

async function challengesOn(batchId: bigint) {
  const logs = await w.chain.publicClient.getContractEvents({
    address: w.v.addresses.batchMarket,
    abi: w.v.batchMarket.abi,
    eventName: 'ResultChallenged',
    args: { batchId },
    fromBlock: 0n,
  });
  return logs.map((l) => ({ gameId: l.args.gameId!, index: Number(l.args.index) }));
}

/** Alternates the two sides' polls until the game resolves (each poll moves when it is that side's turn). */
async function playOut(gameId: bigint, sides: { poll(): Promise<void> }[], rounds = 200) {
  for (let r = 0; r < rounds; r++) {
    for (const s of sides) await s.poll();
    if (Number((await gameOf(gameId)).phase) !== RESOLVED) continue;
    // One more round, so that every side sees the end.
    for (const s of sides) await s.poll();
    return r;
  }
  throw new Error(`game ${gameId} did not resolve in ${rounds} rounds`);
}

const noErrors = (events: { type: string }[]) =>
  assert.deepEqual(
    events.filter((e) => e.type === 'error'),
    [],
  );

test('a cheating worker and its verifier stopped mid-game resume from their databases: ChallengerWon, convicted, one challenge', async () => {
  const cheater = await startWorker(CHEATER, cheaterHost, nodeBatchWorkerStore(database('cheater')), [BAD]);
  const verifier = await startVerifier(nodeBatchVerifierStore(database('verifier')));
  const posted = await post(cheaterHost, CHEATER, 11);

  await verifier.verifier.poll(); // checks every leaf, challenges the bad one
  const challenged = verifier.events.find((e) => e.type === 'challenged');
  assert.ok(challenged?.type === 'challenged', 'the verifier challenged');
  assert.equal(challenged.index, BAD);
  const { gameId } = challenged;
  await cheater.worker.poll(); // sees the challenge and makes its first move
  assert.ok(cheater.events.some((e) => e.type === 'defending' && e.gameId === gameId));
  const mid = await gameOf(gameId);
  assert.equal(Number(mid.phase), CHALLENGER_OP_PICK, 'stopped after the worker revealed its trace');
  noErrors(cheater.events);
  noErrors(verifier.events);
  await stop(cheater.worker);
  await stop(verifier.verifier);
  for (const d of databases.splice(0)) d.close();

  // New instances, on the reopened databases, with nothing in memory.
  const cheaterAddress = w.chain.accounts[CHEATER] as Address;
  const cheaterNonce = await w.chain.publicClient.getTransactionCount({ address: cheaterAddress });
  const cheater2 = await startWorker(CHEATER, cheaterHost, nodeBatchWorkerStore(database('cheater')), [BAD]);
  const verifier2 = await startVerifier(nodeBatchVerifierStore(database('verifier')));
  assert.equal(cheater2.worker.batches.get(posted.batchId)?.items.length, N, 'the batch is rebuilt');
  await playOut(gameId, [cheater2.worker, verifier2.verifier]);

  const game = await gameOf(gameId);
  assert.equal(Number(game.outcome), 1, 'ChallengerWon');
  const over = verifier2.events.find((e) => e.type === 'game-over' && e.gameId === gameId);
  assert.ok(over?.type === 'game-over' && over.outcome === 1);
  assert.ok(
    cheater2.events.some((e) => e.type === 'game-over' && e.gameId === gameId),
    'the restarted worker followed the game to its end',
  );
  // The worker had moves left to make (its op output tensor, its chunk) and made them from the
  // trace it recomputed: without them the game would wait on its clock, which the test never runs.
  assert.ok(
    (await w.chain.publicClient.getTransactionCount({ address: cheaterAddress })) - cheaterNonce >= 2,
    'the restarted worker moved in the game',
  );
  const b = await w.v.batchMarket.read.batch([posted.batchId]);
  assert.equal(b.status, 3, 'convicted');
  // The one winning claim is the verifier's: its part of the conviction escrow is the whole share.
  // (claimed by the restarted verifier already, or still to claim).
  const claimedBounty = await w.chain.publicClient.getContractEvents({
    address: w.v.addresses.batchMarket,
    abi: w.v.batchMarket.abi,
    eventName: 'BountyClaimed',
    fromBlock: 0n,
  });
  const wins = await w.v.batchMarket.read.bountyWins([posted.batchId, w.chain.accounts[VERIFIER]]);
  assert.equal(
    wins + BigInt(claimedBounty.filter((e) => e.args.batchId === posted.batchId).length),
    1n,
    'exactly one winning claim, the verifier’s',
  );
  assert.equal((await w.v.batchMarket.read.disputes([posted.batchId])).open, 0n);
  assert.deepEqual(await challengesOn(posted.batchId), [{ gameId, index: BAD }], 'one challenge only');
  assert.equal(verifier2.events.filter((e) => e.type === 'challenged').length, 0);
  noErrors(cheater2.events);
  noErrors(verifier2.events);

  // The convicted batch is done: its inputs are pruned.
  await cheater2.worker.poll();
  assert.equal(cheater2.worker.batches.get(posted.batchId)?.done, true);
  assert.deepEqual(nodeBatchWorkerStore(databases[0]).loadPostings(), []);
  assert.deepEqual(nodeBatchVerifierStore(databases[1]).loadGames(), []);
  await stop(cheater2.worker);
  await stop(verifier2.verifier);
});

test('a verifier killed between sending its challenge and recording the game adopts that game: one challenge, ChallengerWon', async () => {
  const [cheaterDb] = databases;
  const cheater = await startWorker(CHEATER, cheaterHost, nodeBatchWorkerStore(cheaterDb), [BAD]);
  const verifierDb = database('verifier-2');
  const real = nodeBatchVerifierStore(verifierDb);
  // The process dies right after challengeResult is mined: the game is never written.
  const dying: BatchVerifierStore = {
    ...real,
    saveGame: () => {
      throw new Error('killed');
    },
  };
  const verifier = await startVerifier(dying);
  const posted = await post(cheaterHost, CHEATER, 12);
  await verifier.verifier.poll();
  assert.equal((await challengesOn(posted.batchId)).length, 1, 'the challenge landed');
  assert.ok(verifier.events.some((e) => e.type === 'error'));
  await stop(verifier.verifier);

  const verifier2 = await startVerifier(nodeBatchVerifierStore(verifierDb));
  const [{ gameId }] = await challengesOn(posted.batchId);
  const adopted = verifier2.events.find((e) => e.type === 'challenged');
  assert.ok(adopted?.type === 'challenged' && adopted.gameId === gameId, 'the game was adopted');
  await playOut(gameId, [cheater.worker, verifier2.verifier]);
  assert.equal(Number((await gameOf(gameId)).outcome), 1, 'ChallengerWon');
  assert.equal((await w.v.batchMarket.read.batch([posted.batchId])).status, 3, 'convicted');
  assert.deepEqual(await challengesOn(posted.batchId), [{ gameId, index: BAD }], 'one challenge only');
  noErrors(verifier2.events);
  noErrors(cheater.events);
});

test('an honest worker killed right after sending postBatch finalizes the batch and withdraws its fees after a restart', async () => {
  const host = await w.newHost();
  await w.registerAgent(HONEST, host);
  const db = database('honest');
  const real = nodeBatchWorkerStore(db);
  // As if killed once postBatch was sent: neither the batch id nor any later cursor is written.
  const dying: BatchWorkerStore = { ...real, bindPosting: () => {}, setCursor: () => {} };
  const first = await startWorker(HONEST, host, dying);
  const posted = await post(host, HONEST, 13);
  await stop(first.worker);
  assert.equal(real.cursor(), undefined, 'no cursor was saved');
  assert.equal(real.loadPostings()[0]?.batchId, undefined, 'the posting was saved, unbound');

  await advance(w.chain, w.v.params.batch.challengeWindow);
  const address = w.chain.accounts[HONEST] as Address;
  const before = await w.chain.publicClient.getBalance({ address });
  const second = await startWorker(HONEST, host, nodeBatchWorkerStore(db));
  await second.worker.poll();
  noErrors(second.events);
  assert.deepEqual(
    second.events.map((e) => e.type),
    ['finalized', 'withdrawn'],
  );
  const b = await w.v.batchMarket.read.batch([posted.batchId]);
  assert.equal(b.status, 2, 'finalized');
  assert.equal(await w.v.batchMarket.read.owed([NATIVE, address]), 0n);
  const gas = second.events.reduce((s, e) => s + ('gasCost' in e ? e.gasCost : 0n), 0n);
  assert.equal((await w.chain.publicClient.getBalance({ address })) - before, FEE * BigInt(N) - gas);
  assert.equal(real.loadPostings().length, 0, 'the finished batch is pruned');
  assert.equal(real.takenKeys().length, N, 'its requests stay taken until their deadlines pass');
});

test('a requester’s verifier killed right after demanding withheld leaves adopts its demand: one demand, one challenge, ChallengerWon', async () => {
  const WITHHOLDER = 5;
  const host = await w.newHost();
  await w.registerAgent(WITHHOLDER, host);
  const events: BatchWorkerEvent[] = [];
  const withholder = createBatchWorker({
    host,
    publicClient: w.chain.publicClient,
    wallet: w.chain.wallet(WITHHOLDER),
    addresses: w.v.addresses,
    models: w.models,
    backend: w.backend,
    store: nodeBatchWorkerStore(database('withholder')),
    pollIntervalMs: MANUAL,
    cheat: { indices: [BAD], withhold: true },
    onEvent: (e) => events.push(e),
  });
  await withholder.start();
  running.push(withholder);
  await withholder.poll();
  const from = await w.chain.publicClient.getBlockNumber();
  const posted = await post(host, WITHHOLDER, 14);
  const requesterHost = await w.newHost();
  const db = database('requester');
  const real = nodeBatchVerifierStore(db);
  const start = async (store: BatchVerifierStore) => {
    const seen: BatchVerifierEvent[] = [];
    const verifier = createBatchVerifier({
      host: requesterHost,
      publicClient: w.chain.publicClient,
      wallet: w.requester,
      addresses: w.v.addresses,
      models: w.models,
      backend: w.backend,
      store,
      pollIntervalMs: MANUAL,
      fromBlock: from,
      knownContents: (id) => (id === posted.batchId ? posted.requests : undefined),
      onEvent: (e) => seen.push(e),
    });
    await verifier.start();
    running.push(verifier);
    return { verifier, seen };
  };
  // Killed once demandLeaves is mined, before the demand is written.
  const first = await start({
    ...real,
    saveWatched: (r) => {
      if (r.state === 'demanded') throw new Error('killed');
      real.saveWatched(r);
    },
  });
  await first.verifier.poll();
  assert.equal((await w.v.batchMarket.read.batch([posted.batchId])).demanded, true);
  await stop(first.verifier);
  await withholder.poll(); // publishes every page: the demand is answered and closed
  assert.equal(await w.v.batchMarket.read.openDemand([posted.batchId]), 0n);

  const second = await start(real);
  await second.verifier.poll(); // adopts the demand and reads its pages back
  assert.deepEqual(
    second.seen.map((e) => e.type),
    ['demanded'],
  );
  await second.verifier.poll(); // checks the published leaves against its own requests
  const challenged = second.seen.find((e) => e.type === 'challenged');
  assert.ok(challenged?.type === 'challenged' && challenged.index === BAD, 'the bad leaf is challenged');
  await playOut(challenged.gameId, [withholder, second.verifier]);
  assert.equal(Number((await gameOf(challenged.gameId)).outcome), 1, 'ChallengerWon');
  assert.equal((await w.v.batchMarket.read.batch([posted.batchId])).status, 3, 'convicted');
  const demands = await w.chain.publicClient.getContractEvents({
    address: w.v.addresses.batchMarket,
    abi: w.v.batchMarket.abi,
    eventName: 'QueryOpened',
    args: { batchId: posted.batchId },
    fromBlock: 0n,
  });
  assert.equal(demands.length, 1, 'one demand');
  assert.deepEqual(await challengesOn(posted.batchId), [{ gameId: challenged.gameId, index: BAD }]);
  noErrors(second.seen);
  noErrors(events);
});
