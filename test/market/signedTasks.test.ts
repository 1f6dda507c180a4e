// TaskMarket.postSigned: a requester-signed task created, taken and posted by the worker in one
// transaction, its fee drawn from the requester's balance; every bad input reverts with its named
// error and changes nothing. And the audit seed: letting it expire never helps the worker.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Address, type Hex, parseEther } from 'viem';
import {
  SIGNED_TASK_TYPES,
  signedTaskDigestOf,
  signedTaskDomain,
} from '../../src/chain/bindings/commitments.ts';
import { NATIVE, type TaskArgs } from '../../src/chain/bindings/types.ts';
import {
  advance,
  commitmentOf,
  expectRevert,
  handInput,
  hexOf,
  idOf,
  mine,
  receiptOf,
  registerAgent,
  resultOf,
  runOf,
  startWorld,
  TEST_PARAMS,
  taskOf,
  type World,
} from './support.ts';

let w: World;
const REQ = 3;
const WORKER = 1;
const OTHER = 2;
const VERIFIERS = [4, 5, 6, 7];

before(async () => {
  w = await startWorld({ ...TEST_PARAMS, task: { ...TEST_PARAMS.task, auditBps: 3_000 } });
  await registerAgent(w, WORKER, [w.modelRoot], parseEther('50'));
  await registerAgent(w, OTHER, [w.modelRoot]);
  for (const i of VERIFIERS) await registerAgent(w, i, [w.modelRoot]);
  await receiptOf(
    w,
    w.v
      .as(w.chain.wallet(REQ))
      .taskMarket.write.deposit([NATIVE, parseEther('1')], { value: parseEther('1') }),
  );
});
after(async () => w?.close());

const as = (i: number) => w.v.as(w.chain.wallet(i)).taskMarket.write;
const owed = (i: number) => w.v.taskMarket.read.owed([NATIVE, w.accounts[i]]);

async function sign(signer: number, task: TaskArgs, worker: Address): Promise<Hex> {
  return w.chain.wallet(signer).signTypedData({
    domain: signedTaskDomain(w.chain.chain.id, w.v.addresses.taskMarket),
    types: SIGNED_TASK_TYPES,
    primaryType: 'SignedTask',
    message: { ...task, worker },
  });
}

function signedTask(seed: number, over: Partial<TaskArgs> = {}) {
  const run = runOf(w.model, handInput(seed));
  const task = taskOf(w, w.accounts[REQ], run, over);
  const commitment = commitmentOf(idOf(w, task), run);
  return { run, task, id: idOf(w, task), commitment, result: resultOf(w.accounts[WORKER], commitment, run) };
}

test("the digest of the bindings is the contract's", async () => {
  const { task } = signedTask(1);
  assert.equal(
    await w.v.taskMarket.read.signedTaskDigest([task, w.accounts[WORKER]]),
    signedTaskDigestOf(w.chain.chain.id, w.v.addresses.taskMarket, task, w.accounts[WORKER]),
  );
});

test('a signed task: one transaction by the worker, the fee out of the deposit, paid at finalization', async () => {
  const { run, task, id, commitment, result } = signedTask(2);
  const deposit = await owed(REQ);
  const signature = await sign(REQ, task, w.accounts[WORKER]);
  const out = hexOf(run.outputBytes);
  await receiptOf(w, as(WORKER).postSigned([task, signature, commitment, run.outputRoot, out]));
  assert.equal(deposit - (await owed(REQ)), task.fee);
  assert.equal((await w.v.taskMarket.read.taskState([id])).status, 3, 'posted');
  // Replaying the signature cannot charge the requester twice.
  await expectRevert(
    () => as(WORKER).postSigned([task, signature, commitment, run.outputRoot, out]),
    'TaskMarketTaskExists',
  );
  await expectRevert(() => as(REQ).createTask([task, '0x'], { value: task.fee }), 'TaskMarketTaskExists');
  await advance(w, w.v.params.task.challengeWindow);
  await mine(w, 2);
  const workerBefore = await owed(WORKER);
  // p = 30% here: finalize may assign an auditor first; then the auditor attests and it finalizes.
  await receiptOf(w, as(REQ).finalize([task, result, '0x']));
  const audit = await w.v.taskMarket.read.audit([id]);
  if (audit.state === 2) {
    const i = w.accounts.findIndex((a) => a.toLowerCase() === audit.auditor.toLowerCase());
    await receiptOf(w, as(i).attestAudit([task, result, run.checkpointRoot]));
    await receiptOf(w, as(REQ).finalize([task, result, '0x']));
  }
  assert.equal((await w.v.taskMarket.read.taskState([id])).status, 4, 'finalized');
  assert.ok((await owed(WORKER)) - workerBefore > 0n);
});

test('every bad input of postSigned reverts with its named error and changes nothing', async () => {
  const { run, task, id, commitment } = signedTask(3);
  const out = hexOf(run.outputBytes);
  const good = await sign(REQ, task, w.accounts[WORKER]);
  const post = (i: number, t: TaskArgs, sig: Hex, c = commitment, root = run.outputRoot, o = out) =>
    as(i).postSigned([t, sig, c, root, o]);
  const deposit = await owed(REQ);
  const locked = (await w.v.agentRegistry.read.agentInfo([w.accounts[WORKER]])).locked;
  await expectRevert(async () => post(OTHER, task, good), 'TaskMarketBadSignature');
  await expectRevert(
    async () => post(WORKER, task, await sign(OTHER, task, w.accounts[WORKER])),
    'TaskMarketBadSignature',
  );
  await expectRevert(
    async () => post(WORKER, { ...task, fee: task.fee + 1n }, good),
    'TaskMarketBadSignature',
  );
  await expectRevert(async () => post(WORKER, task, '0x1234'), 'TaskMarketBadSignature');
  await expectRevert(
    async () => post(WORKER, task, good, '0x'.padEnd(66, '0') as Hex),
    'TaskMarketZeroCommitment',
  );
  await expectRevert(
    async () => post(WORKER, task, good, commitment, run.inputRoot),
    'TaskMarketOutputRootMismatch',
  );
  const rich = { ...task, fee: parseEther('5') };
  await expectRevert(
    async () => post(WORKER, rich, await sign(REQ, rich, w.accounts[WORKER])),
    'TaskMarketBalanceTooLow',
  );
  const late = { ...task, takeDeadline: 1n };
  await expectRevert(
    async () => post(WORKER, late, await sign(REQ, late, w.accounts[WORKER])),
    'TaskMarketBadDeadline',
  );
  const cheap = { ...task, fee: 1n };
  await expectRevert(
    async () => post(WORKER, cheap, await sign(REQ, cheap, w.accounts[WORKER])),
    'TaskMarketFeeTooLow',
  );
  // Account 9 is not a registered agent.
  await expectRevert(
    async () => post(9, task, await sign(REQ, task, w.accounts[9])),
    'AgentRegistryNotEligible',
  );
  assert.equal(await owed(REQ), deposit);
  assert.equal((await w.v.agentRegistry.read.agentInfo([w.accounts[WORKER]])).locked, locked);
  assert.equal((await w.v.taskMarket.read.taskState([id])).status, 0);
  // A requester revokes a signature by withdrawing its balance.
  await receiptOf(w, as(REQ).withdraw([NATIVE, w.accounts[REQ]]));
  await expectRevert(async () => post(WORKER, task, good), 'TaskMarketBalanceTooLow');
  await receiptOf(w, as(REQ).deposit([NATIVE, parseEther('1')], { value: parseEther('1') }));
});

// Finding 3: the worker can simulate the draw (the seed is public once its block is mined). If
// letting the seed expire re-rolled the draw, a worker drawn for audit would wait 256 blocks. Now
// an expired seed makes the audit certain: expiry is never better for the worker.
test('letting the audit seed expire never helps the worker: the re-armed draw selects with certainty', async () => {
  let selectedNow = 0;
  const rounds = 6;
  for (let i = 0; i < rounds; i++) {
    const { run, task, id, commitment, result } = signedTask(40 + i);
    await receiptOf(
      w,
      as(WORKER).postSigned([
        task,
        await sign(REQ, task, w.accounts[WORKER]),
        commitment,
        run.outputRoot,
        hexOf(run.outputBytes),
      ]),
    );
    await advance(w, w.v.params.task.challengeWindow);
    // The worker lets the seed expire instead of drawing.
    await mine(w, 300);
    await receiptOf(w, as(WORKER).finalize([task, result, '0x']));
    assert.equal((await w.v.taskMarket.read.taskState([id])).status, 3, 're-armed, not paid');
    assert.equal((await w.v.taskMarket.read.taskState([id])).flags & 8, 8, 'audit now certain');
    await mine(w, 2);
    await receiptOf(w, as(WORKER).finalize([task, result, '0x']));
    const audit = await w.v.taskMarket.read.audit([id]);
    assert.equal(audit.state, 2, 'an auditor is assigned whatever the new seed');
    assert.notEqual(audit.auditor.toLowerCase(), w.accounts[WORKER].toLowerCase());
    // Even an expiry after the certain re-arm keeps it certain.
    selectedNow += 1;
  }
  assert.equal(selectedNow, rounds, 'P(audit | expiry) = 1 >= p = 30%');
});
