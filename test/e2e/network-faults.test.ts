// End-to-end on the devnet with nodes as separate processes, under faults: a cheater that goes
// silent in its game loses on time (scenario 5), and both parties of a game killed mid-game and
// restarted on their databases finish it without sending anything twice (scenario 6).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Hex } from 'viem';
import { NATIVE } from '../../src/chain/bindings/types.ts';
import { EXAMPLES } from '../../src/sdk/examples.ts';
import { loadInput } from '../../src/sdk/loadInput.ts';
import { startTestNetwork, TEST_NETWORK_PARAMS, type TestNetwork } from '../support/network.ts';
import { eventsOf, eventually, gameMoves, same, sentBy, timeOf } from '../support/networkChain.ts';

const CHALLENGER_WON = 1;
const CONVICTED = 6;

async function digitsInput(net: TestNetwork, file: string) {
  return loadInput(net.chain.packages.get('digits')!, join(EXAMPLES[0].samples, file));
}

const address = (net: TestNetwork, name: string) => net.nodes.get(name)!.address;

/** The conviction's bookkeeping: the cheater slashed by the task stake, the fee back to the requester. */
async function assertSlashedAndRefunded(net: TestNetwork, id: Hex, fee: bigint, cheater: Hex, winner: Hex) {
  const convicted = await eventually(net, 'taskMarket', 'TaskConvicted', { taskId: id });
  assert.ok(same(convicted.args.worker, cheater));
  assert.ok(same(convicted.args.challenger, winner));
  const slashed = await eventsOf(net, 'agentRegistry', 'StakeSlashed', { agent: cheater });
  assert.equal(slashed.length, 1);
  assert.equal(slashed[0].args.amount, net.chain.deployment.params.task.workerStake);
  assert.equal((await net.chain.contracts.taskMarket.read.taskState([id])).status, CONVICTED);
  const [created] = await eventsOf(net, 'taskMarket', 'TaskCreated', { taskId: id });
  const owed = (blockNumber?: bigint) =>
    net.chain.chain.publicClient.readContract({
      address: net.chain.contracts.taskMarket.address,
      abi: net.chain.contracts.taskMarket.abi,
      functionName: 'owed',
      args: [NATIVE, net.requester.address],
      ...(blockNumber === undefined ? {} : { blockNumber }),
    });
  assert.equal((await owed()) - (await owed(created.blockNumber)), fee, 'the requester is refunded');
}

describe('scenario 5: a cheating worker that goes silent in its game', { timeout: 300_000 }, () => {
  let net: TestNetwork;
  // A short clock, so that the silent worker's runs out within the test.
  const clockBudget = 25n;
  before(async () => {
    net = await startTestNetwork(
      [
        { name: 'cheater', role: 'worker', worker: { cheat: 1, silentInDisputes: true } },
        { name: 'verifier', role: 'verifier' },
      ],
      { ...TEST_NETWORK_PARAMS, clockBudget },
    );
  });
  after(() => net?.stop());

  it('loses by timeout, without a single move', async () => {
    const { id, task } = await net.requestTask('digits', await digitsInput(net, 'digit-7.png'));
    const cheater = address(net, 'cheater');
    const verifier = address(net, 'verifier');
    const challenged = await eventually(net, 'taskMarket', 'TaskChallenged', { taskId: id });
    assert.ok(same(challenged.args.challenger, verifier));
    const gameId = challenged.args.gameId as bigint;
    const resolved = await eventually(
      net,
      'disputeGame',
      'GameResolved',
      { gameId },
      // The worker's whole clock, and time for the verifier to see it run out.
      Number(clockBudget) * 1_000 + 90_000,
    );
    assert.equal(resolved.args.outcome, CHALLENGER_WON, 'the challenger wins on time');
    const moves = await gameMoves(net, gameId);
    assert.ok(!moves.some((m) => same(m.from, cheater)), 'the worker never moved');
    assert.deepEqual(
      moves.map((m) => [m.fn, m.from.toLowerCase()]),
      [['timeout', verifier.toLowerCase()]],
      'the one call to the game is the verifier’s timeout',
    );
    const ranFor = (await timeOf(net, resolved.blockNumber)) - (await timeOf(net, challenged.blockNumber));
    assert.ok(ranFor >= clockBudget, `the game ends once the worker's clock ran out (after ${ranFor}s)`);
    await assertSlashedAndRefunded(net, id, task.fee, cheater, verifier);
    const cheaterTxs = await sentBy(net, cheater);
    assert.equal(
      cheaterTxs.filter((t) => t.to.toLowerCase() === net.chain.contracts.disputeGame.address.toLowerCase())
        .length,
      0,
    );
  });
});

/** Resolves once the nodes' logs hold `n` mined game moves (checked often: a move takes a block). */
function gameTxsLogged(net: TestNetwork, names: string[], n: number, ms = 120_000): Promise<void> {
  const count = () =>
    names
      .flatMap((name) => net.nodes.get(name)!.logs)
      .filter((l) => l.level === 'info' && typeof l.msg === 'string' && l.msg.startsWith('tx game.')).length;
  return new Promise((resolve, reject) => {
    const end = Date.now() + ms;
    const timer = setInterval(() => {
      if (count() >= n) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() > end) {
        clearInterval(timer);
        reject(new Error(`fewer than ${n} game moves logged after ${ms} ms`));
      }
    }, 5);
  });
}

describe('scenario 6: both parties killed mid-game and restarted', { timeout: 300_000 }, () => {
  let net: TestNetwork;
  before(async () => {
    net = await startTestNetwork([
      { name: 'cheater', role: 'worker', worker: { cheat: 1 } },
      { name: 'verifier', role: 'verifier' },
    ]);
  });
  after(() => net?.stop());

  it('finish the game from their databases, sending nothing twice', async (t) => {
    const { id, task } = await net.requestTask('digits', await digitsInput(net, 'digit-2.png'));
    const cheater = address(net, 'cheater');
    const verifier = address(net, 'verifier');
    // SIGKILL both as soon as each has moved (the worker's trace, the challenger's first pick).
    await gameTxsLogged(net, ['cheater', 'verifier'], 2);
    net.nodes.get('cheater')!.process.kill();
    net.nodes.get('verifier')!.process.kill();
    await Promise.all([net.nodes.get('cheater')!.process.exited, net.nodes.get('verifier')!.process.exited]);
    const killedAt = await net.chain.chain.publicClient.getBlockNumber({ cacheTime: 0 });
    const games = await eventsOf(net, 'taskMarket', 'TaskChallenged', { taskId: id });
    assert.equal(games.length, 1);
    const gameId = games[0].args.gameId as bigint;
    const before = await gameMoves(net, gameId);
    assert.ok(before.length >= 2, `moves on chain before the kill: ${before.map((m) => m.fn).join(', ')}`);
    assert.equal(
      (await eventsOf(net, 'disputeGame', 'GameResolved', { gameId })).length,
      0,
      'the game is still open when both parties die',
    );
    t.diagnostic(`killed after ${before.map((m) => m.fn).join(', ')}`);
    // Down for a few seconds of chain time (a block a second); the worker's clock runs meanwhile.
    await new Promise((r) => setTimeout(r, 3_000));
    await Promise.all([net.restart('cheater'), net.restart('verifier')]);

    const resolved = await eventually(net, 'disputeGame', 'GameResolved', { gameId }, 180_000);
    assert.equal(resolved.args.outcome, CHALLENGER_WON, 'the challenger still wins');
    const moves = await gameMoves(net, gameId);
    const resumed = moves.filter((m) => m.blockNumber > killedAt);
    t.diagnostic(`after the restart: ${resumed.map((m) => m.fn).join(', ')}`);
    assert.ok(resumed.length >= 1, 'the game is finished by the restarted processes');
    assert.ok(
      resumed.some((m) => same(m.from, verifier)),
      'the restarted verifier plays on',
    );
    assert.ok(
      resumed.some((m) => same(m.from, cheater)),
      'the restarted worker defends on',
    );
    assert.ok(!moves.some((m) => m.fn === 'timeout'), 'nobody ran out of time');
    // One post, one challenge: not even a reverted second attempt was sent.
    const workerTxs = await sentBy(net, cheater);
    assert.equal(workerTxs.filter((x) => x.fn === 'postResult').length, 1, 'the worker posted once');
    const verifierTxs = await sentBy(net, verifier);
    assert.equal(verifierTxs.filter((x) => x.fn === 'challenge').length, 1, 'the verifier challenged once');
    assert.equal((await eventsOf(net, 'taskMarket', 'ResultPosted', { taskId: id })).length, 1);
    assert.equal((await eventsOf(net, 'taskMarket', 'TaskChallenged', { taskId: id })).length, 1);
    await assertSlashedAndRefunded(net, id, task.fee, cheater, verifier);
    const bounty = await eventually(net, 'taskMarket', 'BountyClaimed', { taskId: id });
    assert.ok(same(bounty.args.challenger, verifier), 'the restarted verifier collects its bounty');
  });
});
