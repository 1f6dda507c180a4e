// TaskMarket: the honest path end to end (native and ERC-20 fees, consumer callbacks), expiry and
// refunds, and the named revert of every bad input (a reverted call changes no state).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Address, encodeFunctionData, getContract, parseEther, toFunctionSelector } from 'viem';
import {
  recordingConsumerAbi,
  reentrantConsumerAbi,
  taskMarketAbi,
  testTokenAbi,
} from '../../src/chain/bindings/abis.ts';
import { BURN_ADDRESS, NATIVE, type TaskArgs, ZERO_BYTES32 } from '../../src/chain/bindings/types.ts';
import {
  advance,
  balance,
  commitmentOf,
  deployMock,
  expectRevert,
  handInput,
  hexOf,
  idOf,
  mine,
  now,
  type Run,
  receiptOf,
  registerAgent,
  resultOf,
  runOf,
  startWorld,
  taskOf,
  type World,
} from './support.ts';

let w: World;
let token: Address;
let feeOnTransfer: Address;
const REQ = 3;
const WORKER = 1;
const OTHER = 2;

before(async () => {
  w = await startWorld(undefined, [
    { name: 'TST', feeBps: 0n },
    { name: 'FEE', feeBps: 100n },
  ]);
  await registerAgent(w, WORKER, [w.modelRoot]);
  await registerAgent(w, OTHER, [w.modelRoot]);
  [token, feeOnTransfer] = w.tokens;
  const t = getContract({ address: token, abi: testTokenAbi, client: w.chain.wallet(REQ) });
  await t.write.mint([w.accounts[REQ], parseEther('100')]);
  await t.write.approve([w.v.addresses.taskMarket, 2n ** 256n - 1n]);
});
after(async () => w?.close());

const as = (i: number) => w.v.as(w.chain.wallet(i));

/** Creates, takes and posts a task; returns the pieces later steps need. */
async function posted(over: Partial<TaskArgs> = {}, seed = 1) {
  const run = runOf(w.model, handInput(seed));
  const task = taskOf(w, w.accounts[REQ], run, over);
  const id = idOf(w, task);
  const value = task.feeToken === NATIVE ? task.fee : 0n;
  await receiptOf(w, as(REQ).taskMarket.write.createTask([task, hexOf(run.inputBytes)], { value }));
  const commitment = commitmentOf(id, run);
  await receiptOf(
    w,
    as(WORKER).taskMarket.write.postResult([task, commitment, run.outputRoot, hexOf(run.outputBytes)]),
  );
  return { run, task, id, commitment };
}

async function finalizeAfterWindow(task: TaskArgs, commitment: `0x${string}`, run: Run) {
  await advance(w, w.v.params.task.challengeWindow);
  return receiptOf(
    w,
    as(REQ).taskMarket.write.finalize([
      task,
      resultOf(w.accounts[WORKER], commitment, run),
      hexOf(run.outputBytes),
    ]),
  );
}

test('honest native task with a consumer: the callback receives the output, the worker is paid once', async () => {
  const consumer = await deployMock(w, 'RecordingConsumer');
  const run = runOf(w.model, handInput(1));
  const task = taskOf(w, w.accounts[REQ], run, { consumer, callbackGasLimit: 200_000 });
  const id = idOf(w, task);
  await receiptOf(w, as(REQ).taskMarket.write.createTask([task, hexOf(run.inputBytes)], { value: task.fee }));
  await receiptOf(w, as(WORKER).taskMarket.write.takeTask([task]));
  const info = await w.v.agentRegistry.read.agentInfo([w.accounts[WORKER]]);
  assert.equal(info.locked, w.v.params.task.workerStake);
  const commitment = commitmentOf(id, run);
  await receiptOf(
    w,
    as(WORKER).taskMarket.write.postResult([task, commitment, run.outputRoot, hexOf(run.outputBytes)]),
  );
  await finalizeAfterWindow(task, commitment, run);
  const c = getContract({ address: consumer, abi: recordingConsumerAbi, client: w.chain.publicClient });
  assert.equal(await c.read.lastTaskId(), id);
  assert.equal(await c.read.lastOutputRoot(), run.outputRoot);
  assert.equal(await c.read.lastOutput(), hexOf(run.outputBytes));
  assert.equal(await w.v.taskMarket.read.owed([NATIVE, w.accounts[WORKER]]), task.fee);
  assert.equal((await w.v.agentRegistry.read.agentInfo([w.accounts[WORKER]])).locked, 0n);
  assert.equal((await w.v.agentRegistry.read.reputation([w.accounts[WORKER]])).resultsAccepted, 1n);
  await expectRevert(
    () =>
      as(REQ).taskMarket.write.finalize([
        task,
        resultOf(w.accounts[WORKER], commitment, run),
        hexOf(run.outputBytes),
      ]),
    'TaskMarketWrongStatus',
  );
  const before = await balance(w, w.accounts[9]);
  await receiptOf(w, as(WORKER).taskMarket.write.withdraw([NATIVE, w.accounts[9]]));
  assert.equal((await balance(w, w.accounts[9])) - before, task.fee);
  await expectRevert(
    () => as(WORKER).taskMarket.write.withdraw([NATIVE, w.accounts[9]]),
    'TaskMarketNothingOwed',
  );
});

test('honest ERC-20 task, taken and posted in one transaction', async () => {
  const { run, task, commitment } = await posted({ feeToken: token, fee: parseEther('3') });
  await finalizeAfterWindow(task, commitment, run);
  const t = getContract({ address: token, abi: testTokenAbi, client: w.chain.publicClient });
  assert.equal(await t.read.balanceOf([w.v.addresses.taskMarket]), parseEther('3'));
  await receiptOf(w, as(WORKER).taskMarket.write.withdraw([token, w.accounts[WORKER]]));
  assert.equal(await t.read.balanceOf([w.v.addresses.taskMarket]), 0n);
  assert.equal(await t.read.balanceOf([w.accounts[WORKER]]), parseEther('3'));
});

test('a fee-on-transfer token is rejected with the amount that arrived', async () => {
  const fot = feeOnTransfer;
  const t = getContract({ address: fot, abi: testTokenAbi, client: w.chain.wallet(REQ) });
  await t.write.mint([w.accounts[REQ], parseEther('10')]);
  await t.write.approve([w.v.addresses.taskMarket, parseEther('10')]);
  const run = runOf(w.model, handInput(2));
  const task = taskOf(w, w.accounts[REQ], run, { feeToken: fot, fee: parseEther('1') });
  await expectRevert(() => as(REQ).taskMarket.write.createTask([task, '0x']), 'TaskMarketFeeOnTransfer');
});

test('reverting and gas-burning consumers cannot block finalization', async () => {
  for (const name of ['RevertingConsumer', 'GasBurningConsumer']) {
    const consumer = await deployMock(w, name);
    const { run, task, id, commitment } = await posted({ consumer, callbackGasLimit: 100_000 });
    const receipt = await finalizeAfterWindow(task, commitment, run);
    assert.equal((await w.v.taskMarket.read.taskState([id])).status, 4, name);
    assert.ok(receipt.gasUsed < 300_000n, `${name} used ${receipt.gasUsed}`);
  }
});

test('a consumer that re-enters the market during its callback is stopped and steals nothing', async () => {
  const consumer = await deployMock(w, 'ReentrantConsumer');
  const { run, task, id, commitment } = await posted({ consumer, callbackGasLimit: 300_000 });
  const c = getContract({ address: consumer, abi: reentrantConsumerAbi, client: w.chain.walletClient });
  // Re-enter finalize for the same task (a double payout if it worked).
  const data = encodeFunctionData({
    abi: taskMarketAbi,
    functionName: 'finalize',
    args: [task, resultOf(w.accounts[WORKER], commitment, run), hexOf(run.outputBytes)],
  });
  await c.write.arm([w.v.addresses.taskMarket, data]);
  const owedBefore = await w.v.taskMarket.read.owed([NATIVE, w.accounts[WORKER]]);
  await finalizeAfterWindow(task, commitment, run);
  assert.equal(await c.read.reentered(), false);
  assert.equal(
    (await c.read.reentryError()).slice(0, 10),
    toFunctionSelector('ReentrancyGuardReentered(address)'),
  );
  assert.equal((await w.v.taskMarket.read.owed([NATIVE, w.accounts[WORKER]])) - owedBefore, task.fee);
  assert.equal((await w.v.taskMarket.read.taskState([id])).status, 4);
});

test('a finalizer cannot starve the callback of gas', async () => {
  const consumer = await deployMock(w, 'RecordingConsumer');
  const { run, task, commitment } = await posted({ consumer, callbackGasLimit: 400_000 });
  await advance(w, w.v.params.task.challengeWindow);
  await expectRevert(
    () =>
      as(REQ).taskMarket.write.finalize(
        [task, resultOf(w.accounts[WORKER], commitment, run), hexOf(run.outputBytes)],
        {
          gas: 300_000n,
        },
      ),
    'TaskMarketCallbackGasTooLow',
  );
});

test('expiry: an untaken task refunds the requester', async () => {
  const run = runOf(w.model, handInput(5));
  const deadline = (await now(w)) + 100n;
  const task = taskOf(w, w.accounts[REQ], run, { takeDeadline: deadline });
  const id = idOf(w, task);
  await receiptOf(w, as(REQ).taskMarket.write.createTask([task, '0x'], { value: task.fee }));
  await expectRevert(() => as(OTHER).taskMarket.write.expire([task]), 'TaskMarketNotExpired');
  await advance(w, 200);
  await expectRevert(() => as(WORKER).taskMarket.write.takeTask([task]), 'TaskMarketTakeDeadlinePassed');
  const owedBefore = await w.v.taskMarket.read.owed([NATIVE, w.accounts[REQ]]);
  await receiptOf(w, as(OTHER).taskMarket.write.expire([task]));
  assert.equal((await w.v.taskMarket.read.owed([NATIVE, w.accounts[REQ]])) - owedBefore, task.fee);
  assert.equal((await w.v.taskMarket.read.taskState([id])).status, 5);
});

test('expiry: a taken task with an inline input and no result refunds the fee and slashes the worker', async () => {
  const run = runOf(w.model, handInput(6));
  const task = taskOf(w, w.accounts[REQ], run);
  await receiptOf(w, as(REQ).taskMarket.write.createTask([task, hexOf(run.inputBytes)], { value: task.fee }));
  await receiptOf(w, as(WORKER).taskMarket.write.takeTask([task]));
  const stakeBefore = (await w.v.agentRegistry.read.agentInfo([w.accounts[WORKER]])).stake;
  const burnBefore = await balance(w, BURN_ADDRESS);
  await expectRevert(() => as(OTHER).taskMarket.write.expire([task]), 'TaskMarketNotExpired');
  await advance(w, w.v.params.task.resultWindow + 1n);
  const commitment = commitmentOf(idOf(w, task), run);
  await expectRevert(
    () => as(WORKER).taskMarket.write.postResult([task, commitment, run.outputRoot, hexOf(run.outputBytes)]),
    'TaskMarketResultDeadlinePassed',
  );
  const claimBefore = await w.v.agentRegistry.read.claimable([w.accounts[REQ]]);
  await receiptOf(w, as(OTHER).taskMarket.write.expire([task]));
  const stake = w.v.params.task.workerStake;
  const share = (stake * BigInt(w.v.params.task.slashBeneficiaryBps)) / 10_000n;
  assert.equal(stakeBefore - (await w.v.agentRegistry.read.agentInfo([w.accounts[WORKER]])).stake, stake);
  assert.equal((await w.v.agentRegistry.read.claimable([w.accounts[REQ]])) - claimBefore, share);
  assert.equal((await balance(w, BURN_ADDRESS)) - burnBefore, stake - share);
  assert.equal((await w.v.agentRegistry.read.reputation([w.accounts[WORKER]])).slashes, 1n);
});

test('expiry: a requester that withholds its (non-inline) input gains nothing from the non-delivery', async () => {
  const run = runOf(w.model, handInput(16));
  const task = taskOf(w, w.accounts[REQ], run);
  await receiptOf(w, as(REQ).taskMarket.write.createTask([task, '0x'], { value: task.fee }));
  await receiptOf(w, as(WORKER).taskMarket.write.takeTask([task]));
  const infoBefore = await w.v.agentRegistry.read.agentInfo([w.accounts[WORKER]]);
  const claimBefore = await w.v.agentRegistry.read.claimable([w.accounts[REQ]]);
  const owedBefore = await w.v.taskMarket.read.owed([NATIVE, w.accounts[REQ]]);
  await advance(w, w.v.params.task.resultWindow + 1n);
  await receiptOf(w, as(REQ).taskMarket.write.expire([task]));
  const info = await w.v.agentRegistry.read.agentInfo([w.accounts[WORKER]]);
  assert.equal(info.stake, infoBefore.stake, 'no slash: the worker may never have seen the input');
  assert.equal(infoBefore.locked - info.locked, w.v.params.task.workerStake, 'stake unlocked');
  assert.equal(
    await w.v.agentRegistry.read.claimable([w.accounts[REQ]]),
    claimBefore,
    'no share for the requester',
  );
  assert.equal(
    (await w.v.taskMarket.read.owed([NATIVE, w.accounts[REQ]])) - owedBefore,
    task.fee,
    'fee only',
  );
});

test('fee tokens: only the deployment allowlist, each above its minimum fee (no unpaid audits)', async () => {
  const run = runOf(w.model, handInput(17));
  const other = await deployMock(w, 'TestToken', ['Other', 'OTH', 0n]);
  const min = await w.v.taskMarket.read.minFee([NATIVE]);
  assert.ok(min > 0n);
  assert.equal(await w.v.taskMarket.read.minFee([other]), 0n);
  const c = as(REQ).taskMarket.write;
  await expectRevert(
    () => c.createTask([taskOf(w, w.accounts[REQ], run, { feeToken: other, fee: 5n }), '0x']),
    'TaskMarketTokenNotAllowed',
  );
  await expectRevert(
    () => c.createTask([taskOf(w, w.accounts[REQ], run, { fee: 0n }), '0x'], { value: 0n }),
    'TaskMarketFeeTooLow',
  );
  await expectRevert(
    () => c.createTask([taskOf(w, w.accounts[REQ], run, { fee: min - 1n }), '0x'], { value: min - 1n }),
    'TaskMarketFeeTooLow',
  );
  await expectRevert(() => c.deposit([other, 5n]), 'TaskMarketTokenNotAllowed');
  await expectRevert(() => c.deposit([NATIVE, 0n]), 'TaskMarketZeroAmount');
  await expectRevert(() => c.deposit([NATIVE, 5n], { value: 4n }), 'TaskMarketFeeMismatch');
  // A plain transfer is refused (only the registry's slash proceeds arrive without a call).
  await assert.rejects(
    () => w.chain.wallet(REQ).sendTransaction({ to: w.v.addresses.taskMarket, value: 1n }),
    /TaskMarketUnexpectedValue/,
  );
});

test('every bad input of create, take, post, finalize and challenge reverts with its named error', async () => {
  const run = runOf(w.model, handInput(7));
  const good = taskOf(w, w.accounts[REQ], run);
  const c = as(REQ).taskMarket.write;
  await expectRevert(() => c.createTask([good, '0x'], { value: 1n }), 'TaskMarketFeeMismatch');
  await expectRevert(
    () => c.createTask([{ ...good, modelRoot: ZERO_BYTES32 }, '0x'], { value: good.fee }),
    'TaskMarketUnknownModel',
  );
  await expectRevert(
    () => c.createTask([good, hexOf(run.outputBytes)], { value: good.fee }),
    'TaskMarketInputRootMismatch',
  );
  await expectRevert(
    () => c.createTask([{ ...good, takeDeadline: 1n }, '0x'], { value: good.fee }),
    'TaskMarketBadDeadline',
  );
  await expectRevert(
    () => c.createTask([{ ...good, callbackGasLimit: 10_000_000 }, '0x'], { value: good.fee }),
    'TaskMarketCallbackGasTooHigh',
  );
  await expectRevert(
    () => as(OTHER).taskMarket.write.createTask([good, '0x'], { value: good.fee }),
    'TaskMarketNotRequester',
  );
  await receiptOf(w, as(REQ).taskMarket.write.createTask([good, '0x'], { value: good.fee }));
  await expectRevert(() => c.createTask([good, '0x'], { value: good.fee }), 'TaskMarketTaskExists');
  // Account 4 is not registered.
  await expectRevert(() => as(4).taskMarket.write.takeTask([good]), 'AgentRegistryNotEligible');
  const id = idOf(w, good);
  const commitment = commitmentOf(id, run);
  await receiptOf(w, as(WORKER).taskMarket.write.takeTask([good]));
  const post = (i: number, args: Parameters<typeof w.v.taskMarket.simulate.postResult>[0]) =>
    as(i).taskMarket.write.postResult(args);
  await expectRevert(() => as(OTHER).taskMarket.write.takeTask([good]), 'TaskMarketWrongStatus');
  await expectRevert(
    () => post(OTHER, [good, commitment, run.outputRoot, hexOf(run.outputBytes)]),
    'TaskMarketNotWorker',
  );
  await expectRevert(
    () => post(WORKER, [good, commitment, run.inputRoot, hexOf(run.outputBytes)]),
    'TaskMarketOutputRootMismatch',
  );
  await expectRevert(
    () => post(WORKER, [good, ZERO_BYTES32, run.outputRoot, hexOf(run.outputBytes)]),
    'TaskMarketZeroCommitment',
  );
  await receiptOf(
    w,
    as(WORKER).taskMarket.write.postResult([good, commitment, run.outputRoot, hexOf(run.outputBytes)]),
  );
  const stateBefore = await w.v.taskMarket.read.taskState([id]);
  const fin = (args: Parameters<typeof w.v.taskMarket.simulate.finalize>[0]) =>
    as(REQ).taskMarket.write.finalize(args);
  await expectRevert(
    () => fin([good, resultOf(w.accounts[WORKER], commitment, run), '0x']),
    'TaskMarketChallengeWindowOpen',
  );
  const bond = w.v.params.task.challengeBond;
  const ch = (args: Parameters<typeof w.v.taskMarket.simulate.challenge>[0], o: { value: bigint }) =>
    as(OTHER).taskMarket.write.challenge(args, o);
  await expectRevert(
    () => ch([good, resultOf(w.accounts[WORKER], commitment, run)], { value: bond - 1n }),
    'TaskMarketBondMismatch',
  );
  await expectRevert(
    () =>
      ch([good, { ...resultOf(w.accounts[WORKER], commitment, run), commitment: run.traceRoot }], {
        value: bond,
      }),
    'TaskMarketResultMismatch',
  );
  await expectRevert(
    () =>
      as(WORKER).taskMarket.write.challenge([good, resultOf(w.accounts[WORKER], commitment, run)], {
        value: bond,
      }),
    'TaskMarketSelfChallenge',
  );
  await expectRevert(
    () => as(OTHER).taskMarket.write.onDisputeResolved([1n, id, 1, w.accounts[WORKER], w.accounts[OTHER]]),
    'TaskMarketNotGame',
  );
  // The transaction form of a revert leaves the state untouched.
  await expectRevert(
    () =>
      as(OTHER).taskMarket.write.challenge([good, resultOf(w.accounts[WORKER], commitment, run)], {
        value: 1n,
      }),
    'TaskMarketBondMismatch',
  );
  assert.deepEqual(await w.v.taskMarket.read.taskState([id]), stateBefore);
  await advance(w, w.v.params.task.challengeWindow);
  await expectRevert(
    () => ch([good, resultOf(w.accounts[WORKER], commitment, run)], { value: bond }),
    'TaskMarketChallengeWindowClosed',
  );
  await expectRevert(
    () => fin([good, { ...resultOf(w.accounts[WORKER], commitment, run), outputRoot: run.traceRoot }, '0x']),
    'TaskMarketResultMismatch',
  );
  await receiptOf(
    w,
    as(REQ).taskMarket.write.finalize([good, resultOf(w.accounts[WORKER], commitment, run), '0x']),
  );
  await expectRevert(() => as(REQ).taskMarket.write.expire([good]), 'TaskMarketWrongStatus');
  await expectRevert(() => as(REQ).taskMarket.write.withdraw([NATIVE, NATIVE]), 'TaskMarketZeroAddress');
  void mine;
});

test('a market refuses a beneficiary share above the registry cap of 50%', async () => {
  const { startEmbeddedChain } = await import('../../src/chain/embedded.ts');
  const { deployVerinfer } = await import('../../src/chain/deployVerinfer.ts');
  const chain = await startEmbeddedChain();
  try {
    await assert.rejects(
      () => deployVerinfer(chain, { params: { task: { slashBeneficiaryBps: 5_001 } } }),
      /MarketParamsBadShare/,
    );
    await assert.rejects(
      () => deployVerinfer(chain, { params: { batch: { slashBeneficiaryBps: 10_000 } } }),
      /MarketParamsBadShare/,
    );
  } finally {
    await chain.close();
  }
});

test('a market refuses an audit stake above the registry threshold, and another registry of models', async () => {
  const { startEmbeddedChain } = await import('../../src/chain/embedded.ts');
  const { deployVerinfer } = await import('../../src/chain/deployVerinfer.ts');
  const { deployArtifact } = await import('../../src/chain/deploy.ts');
  const chain = await startEmbeddedChain();
  try {
    // Every drawn auditor has the threshold free, so a larger audit lock could fail on it.
    await assert.rejects(
      () => deployVerinfer(chain, { params: { auditThreshold: parseEther('0.1') } }),
      /MarketParamsAuditStakeAboveThreshold/,
    );
    // postSigned relies on the agent registry admitting only the market's registered models.
    const v = await deployVerinfer(chain);
    const p = v.params;
    await assert.rejects(
      () =>
        deployArtifact(chain, 'TaskMarket', [
          v.addresses.agentRegistry,
          v.addresses.dataRegistry,
          v.addresses.disputeGame,
          p.task,
          p.feeTokens,
        ]),
      /TaskMarketModelRegistryMismatch/,
    );
  } finally {
    await chain.close();
  }
});
