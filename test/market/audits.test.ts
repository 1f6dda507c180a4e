// Random audits (proof of sampling) with p = 100%: an auditor that recomputes attests and is paid;
// a lazy auditor cannot attest (the trace root is hidden); a silent auditor is slashed; an auditor
// that finds a wrong result challenges and wins; an auditor that vouched for a wrong result is
// slashed when someone else convicts it; an expired seed is re-armed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Address } from 'viem';
import { NATIVE } from '../../src/chain/bindings/types.ts';
import { revealTraceArgs } from '../../src/dispute/moves.ts';
import { corruptedParty, honestParty, type TraceProvider } from '../../src/dispute/party.ts';
import { challengeTask, play, postTask } from '../game/support.ts';
import {
  advance,
  expectRevert,
  handInput,
  mine,
  receiptOf,
  registerAgent,
  startWorld,
  TEST_PARAMS,
  type World,
} from './support.ts';

let w: World;
const REQ = 3;
const WORKER = 1;
const VERIFIERS = [2, 4, 5];
const WATCHER = 6;

before(async () => {
  w = await startWorld({ ...TEST_PARAMS, task: { ...TEST_PARAMS.task, auditBps: 10_000 } });
  await registerAgent(w, WORKER, [w.modelRoot]);
  for (const i of VERIFIERS) await registerAgent(w, i, [w.modelRoot]);
});
after(async () => w?.close());

const indexOf = (a: Address) => w.accounts.findIndex((x) => x.toLowerCase() === a.toLowerCase());
const as = (i: number) => w.v.as(w.chain.wallet(i)).taskMarket.write;

/** Posts `worker`'s result, draws the audit and returns the assigned auditor's account index. */
async function postAndDraw(worker: TraceProvider) {
  const posted = await postTask(w, REQ, WORKER, worker);
  await expectRevert(
    () => as(WATCHER).drawAudit([posted.task, posted.result]),
    'TaskMarketAuditSeedNotReady',
  );
  await mine(w, 2);
  const lockedBefore = await Promise.all(
    w.accounts.map(async (a) => (await w.v.agentRegistry.read.agentInfo([a])).locked),
  );
  await receiptOf(w, as(WATCHER).drawAudit([posted.task, posted.result]));
  await expectRevert(
    () => as(WATCHER).drawAudit([posted.task, posted.result]),
    'TaskMarketAuditAlreadyDrawn',
  );
  const audit = await w.v.taskMarket.read.audit([posted.id]);
  assert.equal(audit.state, 2, 'assigned');
  const auditor = indexOf(audit.auditor);
  assert.ok(VERIFIERS.includes(auditor), 'a staked verifier other than the worker');
  assert.equal(
    (await w.v.agentRegistry.read.agentInfo([audit.auditor])).locked - lockedBefore[auditor],
    w.v.params.task.auditStake,
  );
  return { posted, auditor, audit };
}

test('an auditor that recomputed the trace attests and is paid; a lazy one cannot attest', async () => {
  const input = handInput(70);
  const honest = honestParty(w.model, input);
  const { posted, auditor, audit } = await postAndDraw(honest);
  const { task, run } = posted;
  // Lazy: guessing any trace root other than the hidden one fails.
  await expectRevert(
    () => as(auditor).attestAudit([task, posted.result, run.outputRoot]),
    'TaskMarketAttestationMismatch',
  );
  await expectRevert(
    () => as(WATCHER).attestAudit([task, posted.result, honest.checkpointRoot]),
    'TaskMarketNotAuditor',
  );
  await receiptOf(w, as(auditor).attestAudit([task, posted.result, honest.checkpointRoot]));
  await advance(w, w.v.params.task.challengeWindow);
  await receiptOf(w, as(REQ).finalize([task, posted.result, '0x']));
  const reward = (task.fee * BigInt(w.v.params.task.auditRewardBps)) / 10_000n;
  assert.equal(await w.v.taskMarket.read.owed([NATIVE, audit.auditor]), reward);
  assert.equal(await w.v.taskMarket.read.owed([NATIVE, w.accounts[WORKER]]), task.fee - reward);
  assert.equal((await w.v.agentRegistry.read.agentInfo([audit.auditor])).locked, 0n);
  assert.equal((await w.v.agentRegistry.read.reputation([w.accounts[WORKER]])).auditsPassed, 1n);
});

test('a silent auditor blocks nothing for long: it is slashed and the task finalizes', async () => {
  const honest = honestParty(w.model, handInput(71));
  const { posted, audit } = await postAndDraw(honest);
  const { task } = posted;
  await advance(w, w.v.params.task.challengeWindow);
  await expectRevert(() => as(REQ).finalize([task, posted.result, '0x']), 'TaskMarketAuditPending');
  await expectRevert(() => as(WATCHER).slashSilentAuditor([posted.id]), 'TaskMarketAuditNotExpired');
  await advance(w, w.v.params.task.auditWindow);
  const stakeBefore = (await w.v.agentRegistry.read.agentInfo([audit.auditor])).stake;
  await receiptOf(w, as(WATCHER).slashSilentAuditor([posted.id]));
  const stake = w.v.params.task.auditStake;
  assert.equal(stakeBefore - (await w.v.agentRegistry.read.agentInfo([audit.auditor])).stake, stake);
  assert.equal(
    await w.v.agentRegistry.read.claimable([w.accounts[WATCHER]]),
    (stake * BigInt(w.v.params.task.slashBeneficiaryBps)) / 10_000n,
  );
  await receiptOf(w, as(REQ).finalize([task, posted.result, '0x']));
  assert.equal((await w.v.taskMarket.read.taskState([posted.id])).status, 4);
});

test('an auditor that finds a wrong result challenges after the window and wins', async () => {
  const input = handInput(72);
  const honest = honestParty(w.model, input);
  const cheat = corruptedParty(w.model, input, 3, 1);
  const { posted, auditor, audit } = await postAndDraw(cheat);
  await advance(w, w.v.params.task.challengeWindow);
  // The window is closed for everyone else ...
  await expectRevert(
    () =>
      as(WATCHER).challenge([posted.task, posted.result], {
        value: w.v.params.task.challengeBond,
      }),
    'TaskMarketChallengeWindowClosed',
  );
  // ... but open for the auditor until its deadline.
  const gameId = await challengeTask(w, auditor, posted);
  assert.equal((await w.v.taskMarket.read.audit([posted.id])).state, 4, 'challenged');
  const r = await play(
    w,
    gameId,
    { wallet: w.chain.wallet(WORKER), trace: cheat },
    { wallet: w.chain.wallet(auditor), trace: honest },
  );
  assert.equal(r.outcome, 1);
  assert.equal((await w.v.taskMarket.read.taskState([posted.id])).status, 6);
  assert.equal((await w.v.agentRegistry.read.agentInfo([audit.auditor])).locked, 0n, 'audit stake unlocked');
  assert.equal(await w.v.taskMarket.read.owed([NATIVE, w.accounts[REQ]]), posted.task.fee, 'fee refunded');
});

test('an auditor that attests a wrong result (copying the cheater) is slashed when a watcher convicts it', async () => {
  const input = handInput(73);
  const honest = honestParty(w.model, input);
  const cheat = corruptedParty(w.model, input, 0, 4);
  const { posted, auditor, audit } = await postAndDraw(cheat);
  await receiptOf(w, as(auditor).attestAudit([posted.task, posted.result, cheat.checkpointRoot]));
  const stakeBefore = (await w.v.agentRegistry.read.agentInfo([audit.auditor])).stake;
  const gameId = await challengeTask(w, WATCHER, posted);
  const r = await play(
    w,
    gameId,
    { wallet: w.chain.wallet(WORKER), trace: cheat },
    { wallet: w.chain.wallet(WATCHER), trace: honest },
  );
  assert.equal(r.outcome, 1);
  assert.equal(
    stakeBefore - (await w.v.agentRegistry.read.agentInfo([audit.auditor])).stake,
    w.v.params.task.auditStake,
  );
});

test('finalize draws the audit itself; an expired seed is re-armed with a future block', async () => {
  const honest = honestParty(w.model, handInput(74));
  const posted = await postTask(w, REQ, WORKER, honest);
  await advance(w, w.v.params.task.challengeWindow);
  await mine(w, 300);
  // The seed block's hash has expired: finalize re-arms and returns without paying.
  const r1 = await receiptOf(w, as(REQ).finalize([posted.task, posted.result, '0x']));
  assert.ok(r1.logs.length > 0);
  assert.equal((await w.v.taskMarket.read.audit([posted.id])).state, 0, 'still undrawn');
  await mine(w, 2);
  await receiptOf(w, as(REQ).finalize([posted.task, posted.result, '0x']));
  assert.equal((await w.v.taskMarket.read.audit([posted.id])).state, 2, 'assigned by finalize');
  assert.equal((await w.v.taskMarket.read.taskState([posted.id])).status, 3, 'not yet final');
});

// Finding 4: a game makes the worker reveal its trace (TraceRevealed lists the op roots of a model
// of up to 64 ops, the checkpoint root among them). An auditor that copies it from the logs may
// free its stake, but only an attestation made before any game was opened is paid.
test("an auditor that copies the checkpoint root from a game's logs is not paid", async () => {
  const honest = honestParty(w.model, handInput(75));
  const { posted, auditor, audit } = await postAndDraw(honest);
  const gameId = await challengeTask(w, WATCHER, posted);
  await receiptOf(
    w,
    w.v.as(w.chain.wallet(WORKER)).disputeGame.write.revealTrace([gameId, ...revealTraceArgs(honest)]),
  );
  const [revealed] = await w.chain.publicClient.getContractEvents({
    address: w.v.addresses.disputeGame,
    abi: w.v.disputeGame.abi,
    eventName: 'TraceRevealed',
    args: { gameId },
    fromBlock: 0n,
  });
  const copied = revealed.args.children![w.model.ops.length - 2];
  assert.equal(copied, honest.checkpointRoot, 'the log leaks the checkpoint root');
  const receipt = await receiptOf(w, as(auditor).attestAudit([posted.task, posted.result, copied]));
  assert.ok(receipt.logs.length > 0);
  assert.equal((await w.v.taskMarket.read.audit([posted.id])).state, 7, 'attested, unpaid');
  // The watcher's game ends (its clock runs out); the task finalizes with the whole fee to the worker.
  await advance(w, w.v.params.clockBudget + 1n);
  await receiptOf(w, w.v.disputeGame.write.timeout([gameId]));
  const auditorBefore = await w.v.taskMarket.read.owed([NATIVE, audit.auditor]);
  const lockedBefore = (await w.v.agentRegistry.read.agentInfo([audit.auditor])).locked;
  const workerBefore = await w.v.taskMarket.read.owed([NATIVE, w.accounts[WORKER]]);
  await receiptOf(w, as(REQ).finalize([posted.task, posted.result, '0x']));
  assert.equal(
    await w.v.taskMarket.read.owed([NATIVE, audit.auditor]),
    auditorBefore,
    'copying earns nothing',
  );
  assert.equal(
    (await w.v.taskMarket.read.owed([NATIVE, w.accounts[WORKER]])) - workerBefore,
    posted.task.fee,
  );
  assert.equal(
    lockedBefore - (await w.v.agentRegistry.read.agentInfo([audit.auditor])).locked,
    w.v.params.task.auditStake,
    'stake freed',
  );
});
