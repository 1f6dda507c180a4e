// End-to-end on the devnet with nodes as separate processes: a cheating worker is caught, loses
// its game and its stake, and the requester gets the fee back (scenario 2); colluding verifiers,
// one of them possibly the drawn auditor, cannot save it from one honest verifier (scenario 4).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Hex } from 'viem';
import { NATIVE } from '../../src/chain/bindings/types.ts';
import { EXAMPLES } from '../../src/sdk/examples.ts';
import { loadInput } from '../../src/sdk/loadInput.ts';
import { startTestNetwork, TEST_NETWORK_PARAMS, type TestNetwork } from '../support/network.ts';
import { eventsOf, eventually, gameMoves, same, sentBy } from '../support/networkChain.ts';

const CONVICTED = 6;
const CHALLENGER_WON = 1;
const AUDIT_ATTESTED = 3;
const AUDIT_ATTESTED_UNPAID = 7;

async function digitsInput(net: TestNetwork, file: string) {
  return loadInput(net.chain.packages.get('digits')!, join(EXAMPLES[0].samples, file));
}

const address = (net: TestNetwork, name: string) => net.nodes.get(name)!.address;

/** The requester's market balance at a block (before: the task's creation; after: the head). */
function owedAt(net: TestNetwork, blockNumber?: bigint) {
  return net.chain.chain.publicClient.readContract({
    address: net.chain.contracts.taskMarket.address,
    abi: net.chain.contracts.taskMarket.abi,
    functionName: 'owed',
    args: [NATIVE, net.requester.address],
    ...(blockNumber === undefined ? {} : { blockNumber }),
  });
}

/**
 * What every conviction of `id` must show: one result posted by the cheater, a game won by
 * `winner` that convicted the task, the cheater's whole task stake slashed, and the fee back in
 * the requester's balance. Returns the winning game's ID.
 */
async function assertConvicted(net: TestNetwork, id: Hex, fee: bigint, cheater: Hex, winner: Hex) {
  const convicted = await eventually(net, 'taskMarket', 'TaskConvicted', { taskId: id }, 180_000);
  assert.ok(same(convicted.args.worker, cheater), 'the cheater is the convicted worker');
  assert.ok(same(convicted.args.challenger, winner), 'the honest verifier convicts it');
  const posted = await eventsOf(net, 'taskMarket', 'ResultPosted', { taskId: id });
  assert.equal(posted.length, 1, 'the worker posts its result once');
  assert.ok(same(posted[0].args.worker, cheater));
  const games = await eventsOf(net, 'taskMarket', 'TaskChallenged', { taskId: id, challenger: winner });
  assert.equal(games.length, 1, 'the honest verifier opens one game');
  const gameId = games[0].args.gameId as bigint;
  const resolved = await eventsOf(net, 'disputeGame', 'GameResolved', { gameId });
  assert.equal(resolved.length, 1);
  assert.equal(resolved[0].args.outcome, CHALLENGER_WON, 'the challenger wins the game');
  const moves = await gameMoves(net, gameId);
  assert.ok(
    moves.some((m) => same(m.from, cheater)),
    'the cheater defended its result (it is not silent here)',
  );
  const slashed = await eventsOf(net, 'agentRegistry', 'StakeSlashed', { agent: cheater });
  assert.equal(slashed.length, 1, 'the cheater is slashed once');
  assert.equal(slashed[0].args.amount, net.chain.deployment.params.task.workerStake, 'by the task stake');
  const st = await net.chain.contracts.taskMarket.read.taskState([id]);
  assert.equal(st.status, CONVICTED);
  const [created] = await eventsOf(net, 'taskMarket', 'TaskCreated', { taskId: id });
  const owedBefore = await owedAt(net, created.blockNumber);
  const owedAfter = await owedAt(net);
  assert.equal(owedAfter - owedBefore, fee, 'the fee is credited back to the requester');
  const fin = await eventsOf(net, 'taskMarket', 'TaskFinalized', { taskId: id });
  assert.equal(fin.length, 0, 'a convicted task is never finalized');
  return gameId;
}

describe('scenario 2: a cheating worker and an honest verifier', { timeout: 300_000 }, () => {
  let net: TestNetwork;
  before(async () => {
    net = await startTestNetwork([
      { name: 'cheater', role: 'worker', worker: { cheat: 1 } },
      { name: 'verifier', role: 'verifier' },
    ]);
  });
  after(() => net?.stop());

  it('is caught, loses the game and its stake, and the requester is refunded', async () => {
    const { id, task } = await net.requestTask('digits', await digitsInput(net, 'digit-7.png'));
    const cheater = address(net, 'cheater');
    const verifier = address(net, 'verifier');
    await assertConvicted(net, id, task.fee, cheater, verifier);
    const rep = await net.chain.contracts.agentRegistry.read.reputation([cheater]);
    assert.ok(rep.disputesLost >= 1n, 'the loss is on the cheater’s record');
    // The bounty: the verifier claims its share of the slash escrow.
    const bounty = await eventually(net, 'taskMarket', 'BountyClaimed', { taskId: id });
    assert.ok(same(bounty.args.challenger, verifier));
    assert.ok((bounty.args.amount as bigint) > 0n);
  });
});

describe('scenario 4: three colluding verifiers and one honest verifier', { timeout: 300_000 }, () => {
  let net: TestNetwork;
  const colluders = ['colluder-1', 'colluder-2', 'colluder-3'];
  before(async () => {
    net = await startTestNetwork(
      [
        { name: 'cheater', role: 'worker', worker: { cheat: 1 } },
        ...colluders.map((name) => ({
          name,
          role: 'verifier' as const,
          verifier: { behaviour: 'collude' as const },
        })),
        { name: 'honest', role: 'verifier' },
      ],
      // Every result is audited, so the auditor is most likely one of the colluders.
      { ...TEST_NETWORK_PARAMS, task: { ...TEST_NETWORK_PARAMS.task, auditBps: 10_000 } },
    );
  });
  after(() => net?.stop());

  it('cannot cover for the cheater: the honest verifier challenges and wins', async (t) => {
    const { id, task } = await net.requestTask('digits', await digitsInput(net, 'digit-2.png'));
    const cheater = address(net, 'cheater');
    const honest = address(net, 'honest');
    const colluding = colluders.map((n) => address(net, n));
    await assertConvicted(net, id, task.fee, cheater, honest);

    const games = await eventsOf(net, 'taskMarket', 'TaskChallenged', { taskId: id });
    assert.equal(games.length, 1, 'no colluder opens a game');
    // The colluders draw the audit while the game runs (the honest verifier challenges at once).
    const [drawn] = await eventsOf(net, 'taskMarket', 'AuditDrawn', { taskId: id });
    assert.ok(drawn?.args.selected, 'with auditBps 10000 an auditor is always drawn');
    const auditor = drawn.args.auditor as Hex;
    assert.ok(
      [...colluding, honest].some((a) => same(a, auditor)),
      'the auditor is one of the verifiers',
    );
    const attested = await eventsOf(net, 'taskMarket', 'AuditAttested', { taskId: id });
    t.diagnostic(
      `auditor: ${colluding.some((c) => same(c, auditor)) ? 'a colluder' : 'the honest verifier'}; attested: ${attested.length > 0}`,
    );
    for (const a of attested) {
      // Only a colluder ever vouches for the corrupted result, and the conviction slashes it.
      assert.ok(same(a.args.auditor, auditor) && !same(auditor, honest));
      const slashed = await eventsOf(net, 'agentRegistry', 'StakeSlashed', { agent: auditor });
      assert.equal(slashed.length, 1, 'the attesting auditor is slashed');
      assert.equal(slashed[0].args.amount, net.chain.deployment.params.task.auditStake);
      const [as] = await eventsOf(net, 'taskMarket', 'AuditorSlashed', { taskId: id });
      assert.ok(same(as?.args.auditor, auditor));
    }
    const audit = await net.chain.contracts.taskMarket.read.audit([id]);
    assert.notEqual(audit.state, AUDIT_ATTESTED, 'no attestation survives the conviction');
    assert.notEqual(audit.state, AUDIT_ATTESTED_UNPAID);

    for (const [i, c] of colluding.entries()) {
      const txs = await sentBy(net, c);
      assert.ok(!txs.some((t) => t.fn === 'challenge'), `${colluders[i]} never challenges`);
      const rep = await net.chain.contracts.agentRegistry.read.reputation([c]);
      assert.equal(rep.disputesWon, 0n);
    }
    const rep = await net.chain.contracts.agentRegistry.read.reputation([honest]);
    assert.ok(rep.disputesWon >= 1n, 'the win is on the honest verifier’s record');
    const bounty = await eventually(net, 'taskMarket', 'BountyClaimed', { taskId: id });
    assert.ok(same(bounty.args.challenger, honest), 'the honest verifier alone takes the bounty');
    const wins = await eventsOf(net, 'taskMarket', 'BountyClaimed', { taskId: id });
    assert.equal(wins.length, 1);
  });
});
