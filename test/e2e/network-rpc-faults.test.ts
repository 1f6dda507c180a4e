// End-to-end on the devnet with nodes as separate processes, each reaching the chain through a
// proxy that drops a seeded share of its JSON-RPC requests (503s, connection resets before and
// after forwarding) and delays others (scenario 8). Honest tasks still finalize, cheating ones are
// still convicted, nothing is sent twice and nothing owed goes missing.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Hex } from 'viem';
import { NATIVE, type TaskArgs } from '../../src/chain/bindings/types.ts';
import { drawBps, shareToBps } from '../../src/node/context.ts';
import { EXAMPLES } from '../../src/sdk/examples.ts';
import { loadInput } from '../../src/sdk/loadInput.ts';
import { type FaultyRpc, startFaultyRpc } from '../support/faultyRpc.ts';
import { startTestNetwork, TEST_NETWORK_PARAMS, type TestNetwork } from '../support/network.ts';
import { eventsOf, gameMoves, same, sentBy } from '../support/networkChain.ts';

const FINALIZED = 4;
const CONVICTED = 6;
const CHALLENGER_WON = 1;
const CHEAT = 0.5;
const SAMPLES = ['digit-2.png', 'digit-7.png', 'digit-9.png'];

describe('scenario 8: a worker and a verifier behind a faulty RPC', { timeout: 300_000 }, () => {
  let net: TestNetwork;
  const proxies = new Map<string, FaultyRpc>();
  // 15% of requests dropped, 30% delayed by up to 400 ms: a bad provider, not a dead one.
  const faulty = (name: string, seed: number) => async (upstream: string) => {
    const p = await startFaultyRpc({ upstream, seed, dropBps: 1_500, delayBps: 3_000, maxDelayMs: 400 });
    proxies.set(name, p);
    return p.url;
  };
  before(async () => {
    net = await startTestNetwork(
      [
        { name: 'worker', role: 'worker', worker: { cheat: CHEAT }, rpcUrl: faulty('worker', 8) },
        { name: 'verifier', role: 'verifier', rpcUrl: faulty('verifier', 88) },
      ],
      // Every result audited: the verifier's attestations go through the faults too.
      { ...TEST_NETWORK_PARAMS, task: { ...TEST_NETWORK_PARAMS.task, auditBps: 10_000 } },
    );
  });
  after(async () => {
    await net?.stop();
    for (const p of proxies.values()) await p.close();
  });

  it('finalizes honest tasks and convicts cheating ones, each posted once and challenged once', async (t) => {
    const worker = net.nodes.get('worker')!.address;
    const verifier = net.nodes.get('verifier')!.address;
    const pkg = net.chain.packages.get('digits')!;
    // The worker's cheat draw is a function of the task ID: request until both kinds are in.
    const tasks: { id: Hex; task: TaskArgs; cheat: boolean }[] = [];
    for (let i = 0; i < 12 && (tasks.length < 3 || new Set(tasks.map((x) => x.cheat)).size < 2); i++) {
      const input = await loadInput(pkg, join(EXAMPLES[0].samples, SAMPLES[i % SAMPLES.length]));
      const { id, task } = await net.requestTask('digits', input);
      tasks.push({ id, task, cheat: drawBps(id, worker, 'cheat') < shareToBps(CHEAT) });
    }
    assert.ok(
      tasks.some((x) => x.cheat) && tasks.some((x) => !x.cheat),
      'both an honest and a cheating task',
    );
    t.diagnostic(`tasks: ${tasks.map((x) => (x.cheat ? 'cheat' : 'honest')).join(', ')}`);

    const tm = net.chain.contracts.taskMarket;
    await net.until(
      'every task to end (finalized, or convicted and its bounty claimed)',
      async () => {
        for (const x of tasks) {
          const st = await tm.read.taskState([x.id]);
          if (st.status !== (x.cheat ? CONVICTED : FINALIZED)) return undefined;
          if (x.cheat && (await eventsOf(net, 'taskMarket', 'BountyClaimed', { taskId: x.id })).length === 0)
            return undefined;
        }
        return true;
      },
      240_000,
    );
    for (const [name, p] of proxies) t.diagnostic(`${name} proxy: ${JSON.stringify(p.stats)}`);

    let workerPay = 0n;
    let refunds = 0n;
    for (const x of tasks) {
      const posted = await eventsOf(net, 'taskMarket', 'ResultPosted', { taskId: x.id });
      assert.equal(posted.length, 1, 'one result per task');
      assert.ok(same(posted[0].args.worker, worker));
      const games = await eventsOf(net, 'taskMarket', 'TaskChallenged', { taskId: x.id });
      if (x.cheat) {
        assert.equal(games.length, 1, 'one game per cheating task');
        assert.ok(same(games[0].args.challenger, verifier));
        const gameId = games[0].args.gameId as bigint;
        const [resolved] = await eventsOf(net, 'disputeGame', 'GameResolved', { gameId });
        assert.equal(resolved.args.outcome, CHALLENGER_WON);
        assert.ok(
          (await gameMoves(net, gameId)).some((m) => same(m.from, worker)),
          'the worker defended (and lost)',
        );
        const [conv] = await eventsOf(net, 'taskMarket', 'TaskConvicted', { taskId: x.id });
        assert.ok(same(conv.args.challenger, verifier));
        refunds += x.task.fee;
      } else {
        assert.equal(games.length, 0, 'an honest result is never challenged');
        const [fin] = await eventsOf(net, 'taskMarket', 'TaskFinalized', { taskId: x.id });
        assert.equal((fin.args.workerPay as bigint) + (fin.args.auditReward as bigint), x.task.fee);
        workerPay += fin.args.workerPay as bigint;
        const [attested] = await eventsOf(net, 'taskMarket', 'AuditAttested', { taskId: x.id });
        assert.ok(same(attested?.args.auditor, verifier), 'the auditor attested through the faults');
      }
    }
    // Not even a reverted second attempt: a lost answer is resolved by reading the chain back.
    const workerTxs = await sentBy(net, worker);
    const posts = workerTxs.filter((x) => x.fn === 'postResult');
    assert.equal(posts.length, tasks.length, 'the worker sent one postResult per task');
    assert.ok(posts.every((x) => x.ok));
    const verifierTxs = await sentBy(net, verifier);
    const challenges = verifierTxs.filter((x) => x.fn === 'challenge');
    assert.equal(challenges.length, tasks.filter((x) => x.cheat).length, 'one challenge per cheat');
    assert.ok(challenges.every((x) => x.ok));
    const slashed = await eventsOf(net, 'agentRegistry', 'StakeSlashed', { agent: worker });
    assert.equal(slashed.length, tasks.filter((x) => x.cheat).length, 'slashed once per conviction');

    // Nothing lost: the requester's balance is exactly its refunds, the worker's pay is all
    // either withdrawn or still owed to it.
    assert.equal(await tm.read.owed([NATIVE, net.requester.address]), refunds);
    const withdrawn = (
      await eventsOf(net, 'taskMarket', 'Withdrawn', { token: NATIVE, account: worker })
    ).reduce((sum, e) => sum + (e.args.amount as bigint), 0n);
    assert.equal((await tm.read.owed([NATIVE, worker])) + withdrawn, workerPay);

    for (const [name, p] of proxies) {
      const dropped = p.stats.dropped.http503 + p.stats.dropped.resetBefore + p.stats.dropped.resetAfter;
      assert.ok(dropped > 0 && p.stats.delayed > 0, `the ${name}'s requests met faults`);
    }
  });
});
