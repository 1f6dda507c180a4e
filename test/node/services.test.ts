// The worker and verifier services against the embedded chain: an honest task settles and pays,
// a cheater is challenged and convicted by a game the verifier plays to the end, and a verifier
// restarted mid-game on the same database still wins it. Time moves only when the test moves it;
// the services react to blocks (each tick() is one round of sync and wakes).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Hex, parseEther } from 'viem';
import { SIGNED_TASK_TYPES, signedTaskDomain } from '../../src/chain/bindings/commitments.ts';
import { NATIVE } from '../../src/chain/bindings/types.ts';
import { toHex } from '../../src/commit/keccak.ts';
import { referenceBackend } from '../../src/engine/interpreter.ts';
import { connectNodeChain } from '../../src/node/chain.ts';
import { createLogger, silentLogger } from '../../src/node/log.ts';
import type { AuditJob } from '../../src/node/machines/audit.ts';
import type { TaskJob } from '../../src/node/machines/task.ts';
import { ModelSet } from '../../src/node/models.ts';
import { VerinferNode } from '../../src/node/service.ts';
import { NodeStore } from '../../src/node/store.ts';
import { SignedRequestError } from '../../src/node/worker.ts';
import { advance, handInput, idOf, runOf, startWorld, taskOf, type World } from '../market/support.ts';

const WORKER = 1;
const VERIFIER = 2;
const REQUESTER = 3;
const CHEATER = 4;

describe('worker and verifier services on the embedded chain', () => {
  let w: World;
  let dir: string;
  const stores: NodeStore[] = [];

  async function nodeFor(
    account: number,
    db: string,
    roles: { worker?: { cheat?: number }; verifier?: { watchShare: number } },
  ): Promise<VerinferNode> {
    const chain = await connectNodeChain({
      publicClient: w.chain.publicClient,
      walletClient: w.chain.wallet(account),
      addresses: w.v.addresses,
    });
    const store = new NodeStore(join(dir, db));
    stores.push(store);
    const node = new VerinferNode({
      chain,
      store,
      log: process.env.NODE_TEST_LOG
        ? createLogger({
            service: `n${account}`,
            level: 'debug',
            sink: (l) => process.stderr.write(`${l}\n`),
          })
        : silentLogger(),
      models: new ModelSet([w.model]),
      backend: referenceBackend,
      ...(roles.worker
        ? {
            worker: {
              stake: parseEther('2'),
              withdrawThreshold: parseEther('0.005'),
              cheat: roles.worker.cheat,
            },
          }
        : {}),
      ...(roles.verifier
        ? { verifier: { stake: parseEther('2'), withdrawThreshold: parseEther('1000'), ...roles.verifier } }
        : {}),
    });
    await node.setup();
    return node;
  }

  /** A requester task with the input inline, so any worker can compute it. */
  async function createTask(seed: number) {
    const run = runOf(w.model, handInput(seed));
    const task = taskOf(w, w.accounts[REQUESTER], run);
    const hash = await w.v
      .as(w.chain.wallet(REQUESTER))
      .taskMarket.write.createTask([task, `0x${Buffer.from(run.inputBytes).toString('hex')}`], {
        value: task.fee,
      });
    await w.chain.publicClient.waitForTransactionReceipt({ hash });
    return { task, id: idOf(w, task) };
  }

  async function challenges(taskId: Hex): Promise<number> {
    return (await w.v.taskMarket.getEvents.TaskChallenged({ taskId }, { fromBlock: 0n })).length;
  }

  async function gameOf(taskId: Hex): Promise<bigint> {
    const logs = await w.v.taskMarket.getEvents.TaskChallenged({ taskId }, { fromBlock: 0n });
    assert.equal(logs.length, 1, 'exactly one game opened on the task');
    return logs[0].args.gameId as bigint;
  }

  let worker: VerinferNode;
  let verifier: VerinferNode;
  let cheater: VerinferNode;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verinfer-node-'));
    w = await startWorld();
    worker = await nodeFor(WORKER, 'worker.db', { worker: {} });
    verifier = await nodeFor(VERIFIER, 'verifier.db', { verifier: { watchShare: 1 } });
    cheater = await nodeFor(CHEATER, 'cheater.db', { worker: { cheat: 1 } });
  });

  after(async () => {
    for (const s of stores) s.close();
    await w?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers and stakes each node once', async () => {
    for (const i of [WORKER, VERIFIER, CHEATER]) {
      const info = await w.v.agentRegistry.read.agentInfo([w.accounts[i]]);
      assert.equal(info.registered, true);
      assert.equal(info.stake, parseEther('2'));
      assert.deepEqual(
        info.models.map((m) => m.toLowerCase()),
        [w.modelRoot.toLowerCase()],
      );
    }
    await worker.setup();
    assert.equal((await w.v.agentRegistry.read.agentInfo([w.accounts[WORKER]])).stake, parseEther('2'));
  });

  it('an honest task: the worker posts, the result finalizes, the fee is paid out', async () => {
    const { task, id } = await createTask(1);
    await worker.tick();
    assert.equal((await w.v.taskMarket.read.taskState([id])).status, 3, 'posted');
    assert.equal(worker.metrics.get('tasks_posted_total'), 1n);
    // The verifier re-executes it (watchShare 1) and finds nothing to challenge.
    await verifier.tick();
    await verifier.tick();
    assert.equal(verifier.metrics.get('results_checked_total'), 1n);
    assert.equal(verifier.metrics.get('results_challenged_total'), 0n);
    // A second tick of the worker before the window ends sends nothing.
    await worker.tick();
    assert.equal(worker.metrics.get('txs_sent_total'), 2n, 'register + postResult');
    await advance(w, Number(w.v.params.task.challengeWindow) + 1);
    await worker.tick();
    assert.equal((await w.v.taskMarket.read.taskState([id])).status, 4, 'finalized');
    const paid = await w.v.taskMarket.getEvents.Withdrawn({ account: w.accounts[WORKER] }, { fromBlock: 0n });
    assert.equal(paid.length, 1);
    assert.equal(paid[0].args.amount, task.fee);
    assert.equal(await w.v.taskMarket.read.owed([NATIVE, w.accounts[WORKER]]), 0n);
    assert.equal(worker.env.store.countOpenJobs().task, 0);
    const h = worker.health();
    assert.equal(h.ok, true);
    assert.equal(h.lag, '0');
  });

  it('a signed request handed to the worker is posted with postSigned; the verifier checks it once given the input', async () => {
    const requester = w.v.as(w.chain.wallet(REQUESTER));
    await w.chain.publicClient.waitForTransactionReceipt({
      hash: await requester.taskMarket.write.deposit([NATIVE, parseEther('1')], { value: parseEther('1') }),
    });
    const run = runOf(w.model, handInput(7));
    const task = taskOf(w, w.accounts[REQUESTER], run);
    const message = { ...task, worker: w.accounts[WORKER] };
    const signature = await w.chain.wallet(REQUESTER).signTypedData({
      domain: signedTaskDomain(w.chain.chain.id, w.v.addresses.taskMarket),
      types: SIGNED_TASK_TYPES,
      primaryType: 'SignedTask',
      message,
    });
    const input = toHex(run.inputBytes);
    // Refused before any gas is spent: a signature for another worker, an input of another task.
    const forCheater = await w.chain.wallet(REQUESTER).signTypedData({
      domain: signedTaskDomain(w.chain.chain.id, w.v.addresses.taskMarket),
      types: SIGNED_TASK_TYPES,
      primaryType: 'SignedTask',
      message: { ...task, worker: w.accounts[CHEATER] },
    });
    await assert.rejects(
      worker.worker!.acceptSignedRequest({ task, signature: forCheater, input }),
      SignedRequestError,
    );
    const other = toHex(runOf(w.model, handInput(8)).inputBytes);
    await assert.rejects(worker.worker!.acceptSignedRequest({ task, signature, input: other }), /inputRoot/);
    const id = await worker.worker!.acceptSignedRequest({ task, signature, input });
    assert.equal(id, idOf(w, task));
    await worker.tick();
    const st = await w.v.taskMarket.read.taskState([id]);
    assert.equal(st.status, 3, 'posted');
    // The verifier sees the SignedTaskPosted but has no input until one is provided.
    const checked = verifier.metrics.get('results_checked_total');
    await verifier.tick();
    assert.equal(verifier.metrics.get('results_checked_total'), checked);
    assert.equal(verifier.verifier!.provideInput(id, other), false, 'a wrong input is refused');
    assert.equal(verifier.verifier!.provideInput(id, input), true);
    await verifier.tick();
    assert.equal(verifier.metrics.get('results_checked_total'), checked + 1n);
    assert.equal(verifier.metrics.get('results_challenged_total'), 0n);
  });

  it('a cheating worker: the verifier challenges, wins the game, and the cheater is slashed', async () => {
    const { id } = await createTask(2);
    await cheater.tick();
    assert.equal((await w.v.taskMarket.read.taskState([id])).status, 3, 'the cheater posted');
    const stakeBefore = (await w.v.agentRegistry.read.agentInfo([w.accounts[CHEATER]])).stake;
    let gameId: bigint | undefined;
    for (let round = 0; round < 60; round++) {
      await verifier.tick();
      await cheater.tick();
      if (gameId === undefined && verifier.metrics.get('results_challenged_total') > 0n)
        gameId = await gameOf(id);
      if (gameId !== undefined && Number((await w.v.disputeGame.read.game([gameId])).phase) === 11) break;
    }
    assert.ok(gameId !== undefined, 'the verifier challenged');
    const game = await w.v.disputeGame.read.game([gameId]);
    assert.equal(Number(game.outcome), 1, 'the challenger won');
    assert.equal((await w.v.taskMarket.read.taskState([id])).status, 6, 'convicted');
    const stakeAfter = (await w.v.agentRegistry.read.agentInfo([w.accounts[CHEATER]])).stake;
    assert.equal(stakeBefore - stakeAfter, w.v.params.task.workerStake, 'the cheater lost its task stake');
    // One more round settles: the bounty and the returned bond are claimed.
    await verifier.tick();
    await cheater.tick();
    assert.equal(verifier.metrics.get('disputes_won_total'), 1n);
    assert.equal(cheater.metrics.get('disputes_lost_total'), 1n);
    const claimed = await w.v.taskMarket.getEvents.BountyClaimed({ taskId: id }, { fromBlock: 0n });
    assert.equal(claimed.length, 1);
    assert.equal(claimed[0].args.challenger?.toLowerCase(), w.accounts[VERIFIER].toLowerCase());
    assert.equal(await w.v.disputeGame.read.credits([w.accounts[VERIFIER]]), 0n, 'the bond came back');
    assert.equal(verifier.env.store.countOpenJobs().dispute, 0);
  });

  it('a verifier restarted mid-game on the same database still wins', async () => {
    const { id } = await createTask(3);
    await cheater.tick();
    const movesBefore = verifier.metrics.get('dispute_moves_total');
    let gameId: bigint | undefined;
    for (let round = 0; round < 20 && verifier.metrics.get('dispute_moves_total') === movesBefore; round++) {
      await verifier.tick();
      await cheater.tick();
    }
    gameId = await gameOf(id);
    assert.notEqual(Number((await w.v.disputeGame.read.game([gameId])).phase), 11, 'the game is still open');
    // Stop the verifier and close its database: all it knew is on disk and on chain.
    await verifier.stop();
    const path = verifier.env.store.path;
    verifier.env.store.close();
    const chain = await connectNodeChain({
      publicClient: w.chain.publicClient,
      walletClient: w.chain.wallet(VERIFIER),
      addresses: w.v.addresses,
    });
    const store = new NodeStore(path);
    stores.push(store);
    assert.equal(store.countOpenJobs().dispute, 1, 'the open game survived the restart');
    const restarted = new VerinferNode({
      chain,
      store,
      log: silentLogger(),
      models: new ModelSet([w.model]),
      backend: referenceBackend,
      verifier: { stake: parseEther('2'), withdrawThreshold: parseEther('1000'), watchShare: 1 },
    });
    for (let round = 0; round < 60; round++) {
      await restarted.tick();
      await cheater.tick();
      if (Number((await w.v.disputeGame.read.game([gameId])).phase) === 11) break;
    }
    const game = await w.v.disputeGame.read.game([gameId]);
    assert.equal(Number(game.outcome), 1, 'the restarted verifier won');
    assert.equal((await w.v.taskMarket.read.taskState([id])).status, 6);
    assert.equal(restarted.metrics.get('results_challenged_total'), 0n, 'it did not challenge twice');
    assert.ok(restarted.metrics.get('dispute_moves_total') >= 1n, 'the restarted node played on');
    verifier = restarted;
    assert.equal(
      (await w.v.taskMarket.getEvents.TaskChallenged({ taskId: id }, { fromBlock: 0n })).length,
      1,
    );
  });

  it('a crash between a send and its database write never sends twice', async () => {
    // The worker posted, but its job row still says "open" (the write was lost).
    const { id } = await createTask(4);
    await worker.tick();
    const job = worker.env.store.getJob<TaskJob>('task', id);
    assert.equal(job?.state, 'posted');
    const { result: _r, output: _o, postedBlock: _b, ...before } = job.payload;
    worker.env.store.putJob({ ...job, state: 'open', done: false, payload: before });
    const sent = worker.metrics.get('txs_sent_total');
    await worker.tick();
    assert.equal(worker.env.store.getJob('task', id)?.state, 'posted', 'the result on chain is adopted');
    assert.equal(worker.metrics.get('txs_sent_total'), sent, 'no second post');

    // The verifier challenged, but its audit row still says "watching" with a wrong verdict.
    // The cheater was slashed twice: it stakes again before it cheats again.
    await w.chain.publicClient.waitForTransactionReceipt({
      hash: await w.v.as(w.chain.wallet(CHEATER)).agentRegistry.write.addStake({ value: parseEther('2') }),
    });
    const bad = await createTask(5);
    await cheater.tick();
    assert.equal((await w.v.taskMarket.read.taskState([bad.id])).status, 3, 'the cheater posted');
    for (let round = 0; round < 4 && (await challenges(bad.id)) === 0; round++) await verifier.tick();
    assert.equal(await challenges(bad.id), 1);
    const audit = verifier.env.store.getJob<AuditJob>('audit', bad.id);
    assert.equal(audit?.state, 'challenged');
    const { gameId: _g, ...rest } = audit.payload;
    verifier.env.store.putJob({ ...audit, state: 'watching', done: false, payload: rest });
    await verifier.tick();
    assert.equal(verifier.env.store.getJob('audit', bad.id)?.state, 'challenged');
    assert.equal(await challenges(bad.id), 1, 'no second bond');
  });
});
