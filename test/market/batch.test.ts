// BatchMarket: deposits, one root for many results, and every way to challenge a single leaf with
// its inclusion proof (signature query, wrong result via the dispute game, duplicate, overcharged
// total, data demand), with the named revert of every bad input.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Address, getContract, type Hex, parseEther } from 'viem';
import { testTokenAbi } from '../../src/chain/bindings/abis.ts';
import { BURN_ADDRESS, NATIVE, type RequestArgs } from '../../src/chain/bindings/types.ts';
import { corruptedParty, honestParty, type TraceProvider } from '../../src/dispute/party.ts';
import { gameIdFromLogs, playDispute } from '../../src/dispute/play.ts';
import { type BatchItem, itemOf, signRequest, treeOf } from './batchSupport.ts';
import {
  advance,
  balance,
  deployMock,
  expectRevert,
  handInput,
  receiptOf,
  registerAgent,
  startWorld,
  type World,
} from './support.ts';

let w: World;
let token: Address;
const REQ = 3;
const WORKER = 1;
const WATCHER = 2;
const FEE = parseEther('0.001');
let nonce = 0n;
const honestRuns = new Map<number, TraceProvider>();

before(async () => {
  w = await startWorld();
  await registerAgent(w, WORKER, [w.modelRoot], parseEther('50'));
  await registerAgent(w, WATCHER, [w.modelRoot]);
  await receiptOf(w, as(REQ).deposit([NATIVE, parseEther('10')], { value: parseEther('10') }));
  token = await deployMock(w, 'TestToken', ['Fee', 'FEE', 100n]);
  const t = getContract({ address: token, abi: testTokenAbi, client: w.chain.wallet(REQ) });
  await t.write.mint([w.accounts[REQ], parseEther('100')]);
  await t.write.approve([w.v.addresses.batchMarket, parseEther('100')]);
});
after(async () => w?.close());

const as = (i: number) => w.v.as(w.chain.wallet(i)).batchMarket.write;
const market = () => w.v.addresses.batchMarket;

function requestOf(seed: number, over: Partial<RequestArgs> = {}): RequestArgs {
  nonce += 1n;
  const trace = honest(seed);
  return {
    requester: w.accounts[REQ],
    worker: w.accounts[WORKER],
    modelRoot: w.modelRoot,
    inputRoot: trace.inputRoot,
    feeToken: NATIVE,
    fee: FEE,
    nonce,
    deadline: 2n ** 40n,
    ...over,
  };
}

function honest(seed: number): TraceProvider {
  let t = honestRuns.get(seed);
  if (!t) {
    t = honestParty(w.model, handInput(seed));
    honestRuns.set(seed, t);
  }
  return t;
}

/** n honest items; `tweak` may replace item i. */
function items(n: number, tweak?: (i: number, item: BatchItem) => BatchItem): BatchItem[] {
  return Array.from({ length: n }, (_, i) => {
    const item = itemOf(w.chain.chain.id, market(), requestOf(i % 8), honest(i % 8));
    return tweak ? tweak(i, item) : item;
  });
}

async function post(list: BatchItem[], totalFee?: bigint, feeToken: Address = NATIVE) {
  const tree = treeOf(list);
  const header = {
    requester: w.accounts[REQ],
    feeToken,
    root: tree.root,
    count: list.length,
    totalFee: totalFee ?? tree.totalFee,
  };
  await receiptOf(w, as(WORKER).postBatch([header]));
  const batchId = await w.v.batchMarket.read.batchCount();
  return { tree, header, batchId };
}

test('a batch of 64 results settles with one root: reserved at posting, paid after the window', async () => {
  const before = (await w.v.batchMarket.read.deposits([NATIVE, w.accounts[REQ]])).available;
  const { batchId, tree } = await post(items(64));
  assert.equal(
    before - (await w.v.batchMarket.read.deposits([NATIVE, w.accounts[REQ]])).available,
    tree.totalFee,
  );
  await expectRevert(() => as(WATCHER).finalizeBatch([batchId]), 'BatchMarketWindowOpen');
  await advance(w, w.v.params.batch.challengeWindow);
  await receiptOf(w, as(WATCHER).finalizeBatch([batchId]));
  assert.equal(await w.v.batchMarket.read.owed([NATIVE, w.accounts[WORKER]]), tree.totalFee);
  assert.equal((await w.v.agentRegistry.read.reputation([w.accounts[WORKER]])).resultsAccepted, 64n);
  assert.equal((await w.v.agentRegistry.read.agentInfo([w.accounts[WORKER]])).locked, 0n);
});

test('signature query: the worker shows the signed request and keeps the bond share', async () => {
  const list = items(16);
  const { batchId, tree } = await post(list);
  const i = 5;
  const bond = w.v.params.batch.queryBond;
  await expectRevert(
    () => as(WATCHER).querySignature([batchId, list[i].leaf, BigInt(i), tree.proof(i + 1)], { value: bond }),
    'BatchMarketBadProof',
  );
  await expectRevert(
    () => as(WATCHER).querySignature([batchId, list[i].leaf, BigInt(i), tree.proof(i)], { value: 1n }),
    'BatchMarketValueMismatch',
  );
  await receiptOf(
    w,
    as(WATCHER).querySignature([batchId, list[i].leaf, BigInt(i), tree.proof(i)], { value: bond }),
  );
  const queryId = await w.v.batchMarket.read.queryCount();
  const sig = await signRequest(w.chain.wallet(REQ), market(), list[i].request);
  const badSig = await signRequest(w.chain.wallet(WATCHER), market(), list[i].request);
  await expectRevert(
    () => as(WORKER).answerSignature([queryId, list[i].request, badSig]),
    'BatchMarketBadSignature',
  );
  await expectRevert(
    () => as(WORKER).answerSignature([queryId, list[i + 1].request, sig]),
    'BatchMarketRequestMismatch',
  );
  await expectRevert(() => as(WORKER).finalizeBatch([batchId]), 'BatchMarketWindowOpen');
  const burnBefore = await balance(w, BURN_ADDRESS);
  await receiptOf(w, as(WORKER).answerSignature([queryId, list[i].request, sig]));
  assert.equal((await balance(w, BURN_ADDRESS)) - burnBefore, bond / 2n);
  await expectRevert(
    () => as(WORKER).answerSignature([queryId, list[i].request, sig]),
    'BatchMarketQueryClosed',
  );
  await advance(w, w.v.params.batch.challengeWindow);
  await receiptOf(w, as(WORKER).finalizeBatch([batchId]));
  assert.equal((await w.v.batchMarket.read.batch([batchId])).status, 2);
  void tree;
});

test('an overcharged leaf cannot be answered: the query expires, the batch is void and the stake slashed', async () => {
  const list = items(16, (i, item) =>
    i === 9 ? itemOf(w.chain.chain.id, market(), item.request, item.trace, item.request.fee * 3n) : item,
  );
  const depositBefore = (await w.v.batchMarket.read.deposits([NATIVE, w.accounts[REQ]])).available;
  const { batchId, tree } = await post(list);
  const bond = w.v.params.batch.queryBond;
  await receiptOf(w, as(WATCHER).querySignature([batchId, list[9].leaf, 9n, tree.proof(9)], { value: bond }));
  const queryId = await w.v.batchMarket.read.queryCount();
  const sig = await signRequest(w.chain.wallet(REQ), market(), list[9].request);
  await expectRevert(
    () => as(WORKER).answerSignature([queryId, list[9].request, sig]),
    'BatchMarketOvercharged',
  );
  await expectRevert(() => as(WATCHER).expireQuery([queryId]), 'BatchMarketQueryNotExpired');
  await advance(w, w.v.params.batch.responseWindow + 1n);
  const stake = (await w.v.batchMarket.read.batch([batchId])).stake;
  const stakeBefore = (await w.v.agentRegistry.read.agentInfo([w.accounts[WORKER]])).stake;
  await receiptOf(w, as(WATCHER).expireQuery([queryId]));
  assert.equal((await w.v.batchMarket.read.batch([batchId])).status, 3, 'convicted');
  assert.equal((await w.v.batchMarket.read.deposits([NATIVE, w.accounts[REQ]])).available, depositBefore);
  assert.equal(stakeBefore - (await w.v.agentRegistry.read.agentInfo([w.accounts[WORKER]])).stake, stake);
  assert.equal(await w.v.batchMarket.read.owed([NATIVE, w.accounts[WATCHER]]), bond, 'bond returned');
  await receiptOf(w, as(WATCHER).withdraw([NATIVE, w.accounts[WATCHER]]));
});

test('a wrong result in one leaf of 32: a dispute game on that leaf alone convicts the batch', async () => {
  const bad = 17;
  const cheat = corruptedParty(w.model, handInput(bad % 8), 0, 3);
  const list = items(32, (i, item) =>
    i === bad ? itemOf(w.chain.chain.id, market(), item.request, cheat) : item,
  );
  const { batchId, tree } = await post(list);
  const honestTrace = honest(bad % 8);
  const bond = w.v.params.batch.challengeBond;
  const args = [batchId, list[bad].leaf, BigInt(bad), tree.proof(bad), list[bad].request] as const;
  await expectRevert(
    () => as(WATCHER).challengeResult([...args], { value: bond + 1n }),
    'BatchMarketValueMismatch',
  );
  await expectRevert(
    () =>
      as(WATCHER).challengeResult([args[0], args[1], args[2], args[3], list[0].request], {
        value: bond,
      }),
    'BatchMarketRequestMismatch',
  );
  const receipt = await receiptOf(w, as(WATCHER).challengeResult([...args], { value: bond }));
  const gameId = gameIdFromLogs(receipt.logs, w.v.addresses.disputeGame);
  const r = await playDispute(
    w.v,
    w.chain.publicClient,
    gameId,
    { wallet: w.chain.wallet(WORKER), trace: cheat },
    { wallet: w.chain.wallet(WATCHER), trace: honestTrace },
  );
  assert.equal(r.outcome, 1);
  assert.equal((await w.v.batchMarket.read.batch([batchId])).status, 3);
  assert.equal((await w.v.batchMarket.read.batch([batchId])).openDisputes, 0);
});

test('a request charged twice is a duplicate: the later leaf convicts its batch', async () => {
  const list = items(8);
  list[6] = { ...list[2] };
  const { batchId, tree } = await post(list);
  await expectRevert(
    () =>
      as(WATCHER).challengeDuplicate([
        batchId,
        list[2].leaf,
        2n,
        tree.proof(2),
        batchId,
        list[3].leaf,
        3n,
        tree.proof(3),
      ]),
    'BatchMarketNotDuplicate',
  );
  await receiptOf(
    w,
    as(WATCHER).challengeDuplicate([
      batchId,
      list[2].leaf,
      2n,
      tree.proof(2),
      batchId,
      list[6].leaf,
      6n,
      tree.proof(6),
    ]),
  );
  assert.equal((await w.v.batchMarket.read.batch([batchId])).status, 3);
});

test('a demand forces the leaves on chain; a total above the leaves fees convicts the batch', async () => {
  const list = items(12);
  const { batchId, tree } = await post(list);
  const leaves = list.map((i) => i.leaf);
  const bond = w.v.params.batch.queryBond;
  await expectRevert(() => as(WATCHER).demandLeaves([batchId], { value: bond }), 'BatchMarketNotRequester');
  await receiptOf(w, as(REQ).demandLeaves([batchId], { value: bond }));
  await expectRevert(() => as(REQ).demandLeaves([batchId], { value: bond }), 'BatchMarketDemandOpen');
  await expectRevert(() => as(WORKER).publishLeaves([batchId, leaves.slice(1)]), 'BatchMarketLeafCount');
  await expectRevert(
    () => as(WORKER).publishLeaves([batchId, [...leaves].reverse()]),
    'BatchMarketLeavesMismatch',
  );
  await receiptOf(w, as(WORKER).publishLeaves([batchId, leaves]));
  assert.equal(await w.v.batchMarket.read.openDemand([batchId]), 0n);
  assert.equal((await w.v.batchMarket.read.batch([batchId])).status, 1, 'still posted');
  // Overcharged total: declared 2x the leaves' fees.
  const over = items(6);
  const posted = await post(over, treeOf(over).totalFee * 2n);
  await receiptOf(w, as(WATCHER).publishLeaves([posted.batchId, over.map((i) => i.leaf)]));
  assert.equal((await w.v.batchMarket.read.batch([posted.batchId])).status, 3);
  void tree;
});

test('deposits: fee-on-transfer tokens are credited what arrived; withdrawals wait out the delay', async () => {
  await receiptOf(w, as(REQ).deposit([token, parseEther('10')]));
  assert.equal((await w.v.batchMarket.read.deposits([token, w.accounts[REQ]])).available, parseEther('9.9'));
  await expectRevert(() => as(REQ).deposit([NATIVE, 5n], { value: 4n }), 'BatchMarketValueMismatch');
  await expectRevert(() => as(REQ).deposit([NATIVE, 0n]), 'BatchMarketZeroAmount');
  await expectRevert(() => as(REQ).withdrawDeposit([token, w.accounts[REQ]]), 'BatchMarketNoWithdrawal');
  await receiptOf(w, as(REQ).requestWithdrawal([token, parseEther('100')]));
  await expectRevert(
    () => as(REQ).withdrawDeposit([token, w.accounts[REQ]]),
    'BatchMarketWithdrawalNotReady',
  );
  // During the notice a worker can still be paid from the deposit.
  const list = items(4).map((it) =>
    itemOf(w.chain.chain.id, market(), { ...it.request, feeToken: token }, it.trace),
  );
  const { batchId } = await post(list, undefined, token);
  await advance(w, w.v.params.batch.withdrawalDelay);
  await receiptOf(w, as(REQ).withdrawDeposit([token, w.accounts[REQ]]));
  assert.equal((await w.v.batchMarket.read.deposits([token, w.accounts[REQ]])).available, 0n);
  await receiptOf(w, as(WORKER).finalizeBatch([batchId]));
  await expectRevert(
    () =>
      as(WORKER).postBatch([
        {
          requester: w.accounts[REQ],
          feeToken: token,
          root: list[0].leaf.requestHash,
          count: 1,
          totalFee: 1n,
        },
      ]),
    'BatchMarketDepositTooLow',
  );
  await expectRevert(
    () =>
      as(9).postBatch([
        {
          requester: w.accounts[REQ],
          feeToken: NATIVE,
          root: list[0].leaf.requestHash,
          count: 1,
          totalFee: 1n,
        },
      ]),
    'BatchMarketWorkerNotActive',
  );
  await expectRevert(
    () =>
      as(WORKER).postBatch([
        {
          requester: w.accounts[REQ],
          feeToken: NATIVE,
          root: list[0].leaf.requestHash,
          count: 0,
          totalFee: 1n,
        },
      ]),
    'BatchMarketBadCount',
  );
  void (null as unknown as Hex);
});
