// BatchMarket: deposits, one signed root for many results, and every way to challenge a single
// leaf with its inclusion proof (request query, wrong result via the dispute game, duplicate,
// overcharged total, paged leaf demand), with the named revert of every bad input. Each attack of
// the market's review is played and fails: a batch charged without the requester's consent, a
// consent revoked after the work, a batch too large to publish, a demand extended forever, empty
// batches, unlisted fee tokens. A conviction escrows the beneficiary share of the slash and splits
// it equally among the claims that prove the fault among those open at the conviction (claimBounty).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Address, encodeFunctionData, getContract, parseEther } from 'viem';
import { batchMarketAbi, testTokenAbi, testWalletAbi } from '../../src/chain/bindings/abis.ts';
import {
  type BatchHeaderArgs,
  BURN_ADDRESS,
  NATIVE,
  type RequestArgs,
} from '../../src/chain/bindings/types.ts';
import { corruptedParty, honestParty, type TraceProvider } from '../../src/dispute/party.ts';
import { gameIdFromLogs, playDispute } from '../../src/dispute/play.ts';
import { type BatchItem, headerOf, itemOf, signHeader, treeOf } from './batchSupport.ts';
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
const OTHER_WORKER = 4;
const FEE = parseEther('0.001');
let nonce = 0n;
const honestRuns = new Map<number, TraceProvider>();

before(async () => {
  w = await startWorld(undefined, { feeToken: true });
  await registerAgent(w, WORKER, [w.modelRoot], parseEther('50'));
  await registerAgent(w, WATCHER, [w.modelRoot]);
  await registerAgent(w, OTHER_WORKER, [w.modelRoot]);
  await receiptOf(w, as(REQ).deposit([NATIVE, parseEther('50')], { value: parseEther('50') }));
  token = w.feeToken as Address;
  const t = getContract({ address: token, abi: testTokenAbi, client: w.chain.wallet(REQ) });
  await t.write.mint([w.accounts[REQ], parseEther('100')]);
  await t.write.approve([w.v.addresses.batchMarket, parseEther('100')]);
});
after(async () => w?.close());

const as = (i: number) => w.v.as(w.chain.wallet(i)).batchMarket.write;
const read = () => w.v.batchMarket.read;
const market = () => w.v.addresses.batchMarket;
const available = async (who = w.accounts[REQ], feeToken: Address = NATIVE) =>
  (await read().deposits([feeToken, who])).available;
/** The beneficiary share of slashing `stake`. */
const shareOf = (stake: bigint) => (stake * BigInt(w.v.params.batch.slashBeneficiaryBps)) / 10_000n;

/** Claims i's part of a settled conviction escrow; returns what it added to i's balance. */
async function claimBounty(i: number, batchId: bigint): Promise<bigint> {
  const before = await read().owed([NATIVE, w.accounts[i]]);
  await receiptOf(w, as(i).claimBounty([batchId]));
  return (await read().owed([NATIVE, w.accounts[i]])) - before;
}

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
function items(
  n: number,
  tweak?: (i: number, item: BatchItem) => BatchItem,
  over: Partial<RequestArgs> = {},
): BatchItem[] {
  return Array.from({ length: n }, (_, i) => {
    const item = itemOf(w.chain.chain.id, market(), requestOf(i % 8, over), honest(i % 8));
    return tweak ? tweak(i, item) : item;
  });
}

/** Posts `list` for the requester REQ (or header.requester), signed by `signer`, from `worker`. */
async function post(
  list: BatchItem[],
  over: Partial<BatchHeaderArgs> = {},
  { signer = REQ, worker = WORKER }: { signer?: number; worker?: number } = {},
) {
  const header = headerOf(list, w.accounts[REQ], w.accounts[worker], over);
  const signature = await signHeader(w.chain.wallet(signer), market(), header);
  const receipt = await receiptOf(w, as(worker).postBatch([header, signature]));
  const batchId = await read().batchCount();
  return { tree: treeOf(list), header, batchId, receipt };
}

test('a batch of 64 results settles with one signed root: reserved at posting, paid after the window', async () => {
  const before = await available();
  const { batchId, tree } = await post(items(64));
  assert.equal(before - (await available()), tree.totalFee);
  await expectRevert(() => as(WATCHER).finalizeBatch([batchId]), 'BatchMarketWindowOpen');
  await advance(w, w.v.params.batch.challengeWindow);
  await receiptOf(w, as(WATCHER).finalizeBatch([batchId]));
  assert.equal(await read().owed([NATIVE, w.accounts[WORKER]]), tree.totalFee);
  assert.equal((await w.v.agentRegistry.read.reputation([w.accounts[WORKER]])).resultsAccepted, 64n);
  assert.equal((await w.v.agentRegistry.read.agentInfo([w.accounts[WORKER]])).locked, 0n);
  await receiptOf(w, as(WORKER).withdraw([NATIVE, w.accounts[WORKER]]));
});

test('attack: a worker charges a victim deposit with a random root: every unsigned or altered header reverts', async () => {
  const list = items(4);
  const before = await available();
  const header = headerOf(list, w.accounts[REQ], w.accounts[WORKER], {
    root: `0x${'ab'.repeat(32)}`,
    totalFee: parseEther('40'),
  });
  // No signature, the worker's own signature, a signature of another header.
  await expectRevert(() => as(WORKER).postBatch([header, '0x']), 'BatchMarketBadSignature');
  const own = await signHeader(w.chain.wallet(WORKER), market(), header);
  await expectRevert(() => as(WORKER).postBatch([header, own]), 'BatchMarketBadSignature');
  const honestHeader = headerOf(list, w.accounts[REQ], w.accounts[WORKER]);
  const signed = await signHeader(w.chain.wallet(REQ), market(), honestHeader);
  await expectRevert(
    () => as(WORKER).postBatch([{ ...honestHeader, totalFee: honestHeader.totalFee * 2n }, signed]),
    'BatchMarketBadSignature',
  );
  // The consent names its worker: another worker cannot post it, nor rename itself into it.
  await expectRevert(() => as(OTHER_WORKER).postBatch([honestHeader, signed]), 'BatchMarketNotWorker');
  await expectRevert(
    () => as(OTHER_WORKER).postBatch([{ ...honestHeader, worker: w.accounts[OTHER_WORKER] }, signed]),
    'BatchMarketBadSignature',
  );
  assert.equal(await available(), before, 'nothing was charged');
  // The signed header posts once; a replay, an expired or a cancelled header does not.
  await receiptOf(w, as(WORKER).postBatch([honestHeader, signed]));
  await expectRevert(() => as(WORKER).postBatch([honestHeader, signed]), 'BatchMarketNonceUsed');
  const expired = headerOf(list, w.accounts[REQ], w.accounts[WORKER], { deadline: 1n });
  await expectRevert(
    async () => as(WORKER).postBatch([expired, await signHeader(w.chain.wallet(REQ), market(), expired)]),
    'BatchMarketHeaderExpired',
  );
  const cancelled = headerOf(list, w.accounts[REQ], w.accounts[WORKER]);
  const cancelledSig = await signHeader(w.chain.wallet(REQ), market(), cancelled);
  await receiptOf(w, as(REQ).cancelHeader([cancelled.nonce]));
  await expectRevert(() => as(WORKER).postBatch([cancelled, cancelledSig]), 'BatchMarketNonceUsed');
});

test('request query: the worker reveals the request and keeps the bond share; one query per leaf', async () => {
  const list = items(16);
  const { batchId, tree } = await post(list);
  const i = 5;
  const bond = w.v.params.batch.queryBond;
  await expectRevert(
    () => as(WATCHER).queryRequest([batchId, list[i].leaf, BigInt(i), tree.proof(i + 1)], { value: bond }),
    'BatchMarketBadProof',
  );
  await expectRevert(
    () => as(WATCHER).queryRequest([batchId, list[i].leaf, BigInt(i), tree.proof(i)], { value: 1n }),
    'BatchMarketValueMismatch',
  );
  await expectRevert(
    () => as(WORKER).queryRequest([batchId, list[i].leaf, BigInt(i), tree.proof(i)], { value: bond }),
    'BatchMarketSelfChallenge',
  );
  await receiptOf(
    w,
    as(WATCHER).queryRequest([batchId, list[i].leaf, BigInt(i), tree.proof(i)], { value: bond }),
  );
  const queryId = await read().queryCount();
  await expectRevert(
    () => as(WATCHER).queryRequest([batchId, list[i].leaf, BigInt(i), tree.proof(i)], { value: bond }),
    'BatchMarketLeafQueried',
  );
  await expectRevert(
    () => as(WORKER).revealRequest([queryId, list[i + 1].request]),
    'BatchMarketRequestMismatch',
  );
  await expectRevert(() => as(WORKER).finalizeBatch([batchId]), 'BatchMarketWindowOpen');
  const burnBefore = await balance(w, BURN_ADDRESS);
  await receiptOf(w, as(WORKER).revealRequest([queryId, list[i].request]));
  assert.equal((await balance(w, BURN_ADDRESS)) - burnBefore, bond / 2n);
  await expectRevert(() => as(WORKER).revealRequest([queryId, list[i].request]), 'BatchMarketQueryClosed');
  await advance(w, w.v.params.batch.challengeWindow);
  await receiptOf(w, as(WORKER).finalizeBatch([batchId]));
  assert.equal((await read().batch([batchId])).status, 2);
});

test('an overcharged leaf cannot be answered: the query expires, the batch is void and the stake slashed', async () => {
  const list = items(16, (i, item) =>
    i === 9 ? itemOf(w.chain.chain.id, market(), item.request, item.trace, item.request.fee * 3n) : item,
  );
  const depositBefore = await available();
  const { batchId, tree } = await post(list);
  const bond = w.v.params.batch.queryBond;
  await receiptOf(w, as(WATCHER).queryRequest([batchId, list[9].leaf, 9n, tree.proof(9)], { value: bond }));
  const queryId = await read().queryCount();
  await expectRevert(() => as(WORKER).revealRequest([queryId, list[9].request]), 'BatchMarketOvercharged');
  await expectRevert(() => as(WATCHER).expireQuery([queryId]), 'BatchMarketQueryNotExpired');
  await advance(w, w.v.params.batch.responseWindow + 1n);
  await expectRevert(() => as(WORKER).revealRequest([queryId, list[9].request]), 'BatchMarketQueryExpired');
  const stake = (await read().batch([batchId])).stake;
  const stakeBefore = (await w.v.agentRegistry.read.agentInfo([w.accounts[WORKER]])).stake;
  const marketBefore = await balance(w, market());
  await expectRevert(() => as(WATCHER).claimBounty([batchId]), 'BatchMarketBountyNotSettled');
  await receiptOf(w, as(WATCHER).expireQuery([queryId]));
  const b = await read().batch([batchId]);
  assert.equal(b.status, 3, 'convicted');
  assert.equal(await available(), depositBefore);
  assert.equal(stakeBefore - (await w.v.agentRegistry.read.agentInfo([w.accounts[WORKER]])).stake, stake);
  // The beneficiary share is escrowed by the market (its registry proceeds collected at once) and,
  // with no other claim open, settled on the spot: one win.
  assert.equal(await w.v.agentRegistry.read.claimable([market()]), 0n);
  assert.equal(
    (await balance(w, market())) - marketBefore,
    shareOf(stake),
    'the bond is owed, the share held',
  );
  assert.deepEqual(await read().disputes([batchId]), { open: 0n, winners: 1n, escrow: shareOf(stake) });
  assert.equal(await read().owed([NATIVE, w.accounts[WATCHER]]), bond, 'bond returned');
  assert.equal(await claimBounty(WATCHER, batchId), shareOf(stake));
  await expectRevert(() => as(WATCHER).claimBounty([batchId]), 'BatchMarketNoBounty');
  await receiptOf(w, as(WATCHER).withdraw([NATIVE, w.accounts[WATCHER]]));
});

test('attack: consent revoked after the work (EIP-7702 code, a rotated 1271 signer): the honest batch still settles', async () => {
  // An EOA requester that later installs a delegation whose isValidSignature rejects everything.
  const eoa = 6;
  await receiptOf(w, as(eoa).deposit([NATIVE, parseEther('1')], { value: parseEther('1') }));
  const rejecting = await deployMock(w, 'TestWallet', [NATIVE]);
  const list = items(8, undefined, { requester: w.accounts[eoa] });
  const header = headerOf(list, w.accounts[eoa], w.accounts[WORKER]);
  const signature = await signHeader(w.chain.wallet(eoa), market(), header);
  await receiptOf(w, as(WORKER).postBatch([header, signature]));
  const batchId = await read().batchCount();
  await w.chain.testClient.setCode({ address: w.accounts[eoa], bytecode: `0xef0100${rejecting.slice(2)}` });
  const tree = treeOf(list);
  await receiptOf(
    w,
    as(WATCHER).queryRequest([batchId, list[3].leaf, 3n, tree.proof(3)], {
      value: w.v.params.batch.queryBond,
    }),
  );
  await receiptOf(w, as(WORKER).revealRequest([await read().queryCount(), list[3].request]));
  // A requester with code is still bound by its key: ECDSA is checked before EIP-1271.
  const next = items(2, undefined, { requester: w.accounts[eoa] });
  const nextHeader = headerOf(next, w.accounts[eoa], w.accounts[WORKER]);
  await receiptOf(
    w,
    as(WORKER).postBatch([nextHeader, await signHeader(w.chain.wallet(eoa), market(), nextHeader)]),
  );
  await advance(w, w.v.params.batch.challengeWindow);
  await receiptOf(w, as(WORKER).finalizeBatch([batchId]));
  assert.equal((await read().batch([batchId])).status, 2, 'finalized');
  await w.chain.testClient.setCode({ address: w.accounts[eoa], bytecode: '0x' });

  // A contract requester (EIP-1271) that rotates its signer after posting.
  const key = 7;
  const walletAddr = await deployMock(w, 'TestWallet', [w.accounts[key]]);
  const wallet = getContract({ address: walletAddr, abi: testWalletAbi, client: w.chain.wallet(0) });
  const depositCall = encodeFunctionData({
    abi: batchMarketAbi,
    functionName: 'deposit',
    args: [NATIVE, parseEther('1')],
  });
  await receiptOf(
    w,
    wallet.write.execute([market(), parseEther('1'), depositCall], { value: parseEther('1') }),
  );
  const wlist = items(4, undefined, { requester: walletAddr });
  const wheader = headerOf(wlist, walletAddr, w.accounts[WORKER]);
  const bad = await signHeader(w.chain.wallet(WATCHER), market(), wheader);
  await expectRevert(() => as(WORKER).postBatch([wheader, bad]), 'BatchMarketBadSignature');
  await receiptOf(
    w,
    as(WORKER).postBatch([wheader, await signHeader(w.chain.wallet(key), market(), wheader)]),
  );
  const wbatch = await read().batchCount();
  await receiptOf(w, wallet.write.setSigner([NATIVE]));
  const wtree = treeOf(wlist);
  await receiptOf(
    w,
    as(WATCHER).queryRequest([wbatch, wlist[1].leaf, 1n, wtree.proof(1)], {
      value: w.v.params.batch.queryBond,
    }),
  );
  await receiptOf(w, as(WORKER).revealRequest([await read().queryCount(), wlist[1].request]));
  await advance(w, w.v.params.batch.challengeWindow);
  await receiptOf(w, as(WORKER).finalizeBatch([wbatch]));
  assert.equal((await read().batch([wbatch])).status, 2, 'finalized');
});

test('a wrong result in one leaf of 32: a dispute game on that leaf alone convicts the batch', async () => {
  const bad = 17;
  const cheat = corruptedParty(w.model, handInput(bad % 8), 0, 3);
  const list = items(32, (i, item) =>
    i === bad ? itemOf(w.chain.chain.id, market(), item.request, cheat) : item,
  );
  const { batchId, tree } = await post(list);
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
  assert.equal((await w.v.disputeGame.read.game([gameId])).subject, await read().subjectOf([batchId, 1n]));
  const r = await playDispute(
    w.v,
    w.chain.publicClient,
    gameId,
    { wallet: w.chain.wallet(WORKER), trace: cheat },
    { wallet: w.chain.wallet(WATCHER), trace: honest(bad % 8) },
  );
  assert.equal(r.outcome, 1);
  const b = await read().batch([batchId]);
  assert.equal(b.status, 3);
  assert.equal((await read().disputes([batchId])).open, 0n);
  assert.equal(await read().bountyWins([batchId, w.accounts[WATCHER]]), 1n);
  assert.equal(await claimBounty(WATCHER, batchId), shareOf(b.stake));
  // The game was never moot, and it resolves once.
  assert.equal(await read().isMoot([await read().subjectOf([batchId, 1n]), gameId]), false);
  assert.equal(await read().isConvicted([await read().subjectOf([batchId, 1n])]), true);
});

test('a request charged twice is a duplicate: the later leaf convicts its batch', async () => {
  const list = items(8);
  list[6] = { ...list[2] };
  const { batchId, tree } = await post(list);
  const dup = (j: number) =>
    [batchId, list[2].leaf, 2n, tree.proof(2), batchId, list[j].leaf, BigInt(j), tree.proof(j)] as const;
  await expectRevert(() => as(WATCHER).challengeDuplicate([...dup(3)]), 'BatchMarketNotDuplicate');
  await receiptOf(w, as(WATCHER).challengeDuplicate([...dup(6)]));
  assert.equal((await read().batch([batchId])).status, 3);
  await expectRevert(() => as(WATCHER).challengeDuplicate([...dup(6)]), 'BatchMarketWrongStatus');
  assert.equal(await claimBounty(WATCHER, batchId), shareOf((await read().batch([batchId])).stake));
});

test('a batch of the maximum size answers a leaf demand in pages, each well under 4M gas', async () => {
  const max = w.v.params.batch.maxBatchSize;
  assert.equal(max, 4096);
  assert.equal(await read().MAX_BATCH_SIZE(), 4096n);
  const list = items(max);
  const { batchId, tree } = await post(list);
  const bond = w.v.params.batch.queryBond;
  // Only during a demand, and only the requester demands.
  const page0 = tree.page(0);
  await expectRevert(
    () => as(WATCHER).publishLeaves([batchId, 0n, page0.leaves, page0.proof]),
    'BatchMarketNoDemand',
  );
  await expectRevert(() => as(WATCHER).demandLeaves([batchId], { value: bond }), 'BatchMarketNotRequester');
  await receiptOf(w, as(REQ).demandLeaves([batchId], { value: bond }));
  const deadline = (await read().batch([batchId])).deadline;
  assert.equal(tree.pageCount, 16);
  await expectRevert(
    () => as(WORKER).publishLeaves([batchId, 0n, page0.leaves.slice(1), page0.proof]),
    'BatchMarketLeafCount',
  );
  await expectRevert(
    () => as(WORKER).publishLeaves([batchId, 1n, page0.leaves, page0.proof]),
    'BatchMarketLeavesMismatch',
  );
  await expectRevert(
    () => as(WORKER).publishLeaves([batchId, 16n, page0.leaves, page0.proof]),
    'BatchMarketBadPage',
  );
  let maxGas = 0n;
  for (let p = 0; p < tree.pageCount; p++) {
    const { leaves, proof } = tree.page(p);
    const r = await receiptOf(
      w,
      as(p % 2 ? WATCHER : WORKER).publishLeaves([batchId, BigInt(p), leaves, proof]),
    );
    if (r.gasUsed > maxGas) maxGas = r.gasUsed;
    if (p === 0) {
      await expectRevert(
        () => as(WORKER).publishLeaves([batchId, 0n, leaves, proof]),
        'BatchMarketPagePublished',
      );
    }
    if (p < tree.pageCount - 1) assert.notEqual(await read().openDemand([batchId]), 0n, 'demand open');
  }
  assert.ok(maxGas < 2_000_000n, `largest page used ${maxGas} gas`);
  assert.equal(await read().openDemand([batchId]), 0n, 'answered');
  const b = await read().batch([batchId]);
  assert.equal(b.status, 1, 'still posted');
  assert.ok(b.deadline > deadline, 'the window reopened for the published data');
  // The demand was the only one: nothing can push the deadline again.
  await expectRevert(() => as(REQ).demandLeaves([batchId], { value: bond }), 'BatchMarketAlreadyDemanded');
  await expectRevert(
    () => as(WATCHER).publishLeaves([batchId, 0n, page0.leaves, page0.proof]),
    'BatchMarketNoDemand',
  );
  await advance(w, w.v.params.batch.challengeWindow);
  await receiptOf(w, as(WORKER).finalizeBatch([batchId]));
  console.log(`# largest page of ${max} leaves: ${maxGas} gas`);
});

test('an overcharged total is convicted by the last page, for the requester, whoever publishes it', async () => {
  const over = items(6);
  const { batchId, tree } = await post(over, { totalFee: treeOf(over).totalFee * 2n });
  const stake = (await read().batch([batchId])).stake;
  await receiptOf(w, as(REQ).demandLeaves([batchId], { value: w.v.params.batch.queryBond }));
  const { leaves, proof } = tree.page(0);
  await receiptOf(w, as(WATCHER).publishLeaves([batchId, 0n, leaves, proof]));
  const b = await read().batch([batchId]);
  assert.equal(b.status, 3);
  // The demand is the claim that proved the overcharge: the requester wins it, like any claimant.
  assert.equal(await read().bountyWins([batchId, w.accounts[REQ]]), 1n);
  assert.equal(await claimBounty(REQ, batchId), shareOf(stake), 'the wronged requester is paid');
  await expectRevert(() => as(WATCHER).claimBounty([batchId]), 'BatchMarketNoBounty');
});

test('an unanswered demand convicts; a demand overtaken by another conviction is moot', async () => {
  const list = items(300);
  const { batchId, tree } = await post(list);
  const bond = w.v.params.batch.queryBond;
  await receiptOf(w, as(REQ).demandLeaves([batchId], { value: bond }));
  const { leaves, proof } = tree.page(0);
  await receiptOf(w, as(WORKER).publishLeaves([batchId, 0n, leaves, proof]));
  await advance(w, w.v.params.batch.responseWindow + 1n);
  const page1 = tree.page(1);
  await expectRevert(
    () => as(WORKER).publishLeaves([batchId, 1n, page1.leaves, page1.proof]),
    'BatchMarketQueryExpired',
  );
  await receiptOf(w, as(WATCHER).expireQuery([await read().openDemand([batchId])]));
  assert.equal((await read().batch([batchId])).status, 3);
  assert.equal(await claimBounty(REQ, batchId), shareOf((await read().batch([batchId])).stake));

  const dup = items(4);
  dup[3] = { ...dup[0] };
  const second = await post(dup);
  await receiptOf(w, as(REQ).demandLeaves([second.batchId], { value: bond }));
  const demand = await read().openDemand([second.batchId]);
  const owedBefore = await read().owed([NATIVE, w.accounts[REQ]]);
  await receiptOf(
    w,
    as(WATCHER).challengeDuplicate([
      second.batchId,
      dup[0].leaf,
      0n,
      second.tree.proof(0),
      second.batchId,
      dup[3].leaf,
      3n,
      second.tree.proof(3),
    ]),
  );
  assert.equal((await read().query([demand])).status, 4, 'moot');
  assert.equal((await read().owed([NATIVE, w.accounts[REQ]])) - owedBefore, bond);
  await expectRevert(() => as(REQ).expireQuery([demand]), 'BatchMarketQueryClosed');
  assert.equal(await read().bountyWins([second.batchId, w.accounts[REQ]]), 0n, 'a moot demand wins nothing');
});

test('claims open at a conviction play on: an expired query and a won game each take an equal part, an answered query and a lost game none', async () => {
  const bad = 5;
  const cheat = corruptedParty(w.model, handInput(bad % 8), 0, 3);
  // Leaves 5 and 6 both carry the same wrong result for input 5 (two requests for it).
  const list = items(8, (i, item) =>
    i === bad || i === bad + 1 ? itemOf(w.chain.chain.id, market(), requestOf(bad), cheat) : item,
  );
  const { batchId, tree } = await post(list);
  const stake = (await read().batch([batchId])).stake;
  const qBond = w.v.params.batch.queryBond;
  const gBond = w.v.params.batch.challengeBond;
  const game = async (who: number, i: number) =>
    gameIdFromLogs(
      (
        await receiptOf(
          w,
          as(who).challengeResult([batchId, list[i].leaf, BigInt(i), tree.proof(i), list[i].request], {
            value: gBond,
          }),
        )
      ).logs,
      w.v.addresses.disputeGame,
    );
  const query = async (who: number, i: number) => {
    await receiptOf(
      w,
      as(who).queryRequest([batchId, list[i].leaf, BigInt(i), tree.proof(i)], { value: qBond }),
    );
    return read().queryCount();
  };
  // Four claims, then the conviction by a fifth: OTHER_WORKER's game on the wrong leaf 5.
  const wonGame = await game(WATCHER, bad + 1);
  const lostGame = await game(REQ, 0);
  const expiring = await query(REQ, 2);
  const answered = await query(WATCHER, 3);
  const convicting = await game(OTHER_WORKER, bad);
  assert.equal((await read().disputes([batchId])).open, 5n);
  await expectRevert(() => as(WORKER).finalizeBatch([batchId]), 'BatchMarketWindowOpen');
  const played = (id: bigint, trace: TraceProvider) =>
    playDispute(
      w.v,
      w.chain.publicClient,
      id,
      { wallet: w.chain.wallet(WORKER), trace: cheat },
      { wallet: w.chain.wallet(WATCHER), trace },
    );
  const truth = honest(bad % 8);
  const r = await playDispute(
    w.v,
    w.chain.publicClient,
    convicting,
    { wallet: w.chain.wallet(WORKER), trace: cheat },
    { wallet: w.chain.wallet(OTHER_WORKER), trace: truth },
  );
  assert.equal(r.outcome, 1);
  assert.equal((await read().batch([batchId])).status, 3, 'convicted');
  assert.deepEqual(await read().disputes([batchId]), { open: 4n, winners: 1n, escrow: shareOf(stake) });
  // No claim opens on a convicted batch, no game is moot, and the escrow waits.
  await expectRevert(() => query(WATCHER, 4), 'BatchMarketWrongStatus');
  await expectRevert(() => w.v.disputeGame.write.resolveMoot([wonGame]), 'DisputeGameNotMoot');
  await expectRevert(() => as(OTHER_WORKER).claimBounty([batchId]), 'BatchMarketBountyNotSettled');
  // The claims play on.
  await receiptOf(w, as(WORKER).revealRequest([answered, list[3].request]));
  assert.equal((await played(wonGame, truth)).outcome, 1, 'a second win');
  const honestWorker = honest(0);
  const lost = await playDispute(
    w.v,
    w.chain.publicClient,
    lostGame,
    { wallet: w.chain.wallet(WORKER), trace: honestWorker },
    { wallet: w.chain.wallet(REQ), trace: corruptedParty(w.model, handInput(0), 0, 3) },
  );
  assert.equal(lost.outcome, 2, 'a challenge of a right leaf still loses');
  await expectRevert(() => as(REQ).expireQuery([expiring]), 'BatchMarketQueryNotExpired');
  await advance(w, w.v.params.batch.responseWindow + 1n);
  const burnBefore = await balance(w, BURN_ADDRESS);
  await receiptOf(w, as(WATCHER).expireQuery([expiring]));
  // Three wins: the remainder of the division (< 3 wei) is burnt.
  const share = shareOf(stake) / 3n;
  assert.deepEqual(await read().disputes([batchId]), { open: 0n, winners: 3n, escrow: share });
  assert.equal((await balance(w, BURN_ADDRESS)) - burnBefore, shareOf(stake) - share * 3n);
  assert.equal(await claimBounty(OTHER_WORKER, batchId), share);
  assert.equal(await claimBounty(WATCHER, batchId), share, 'the game won after the conviction');
  assert.equal(await claimBounty(REQ, batchId), share, 'the query that expired after it');
  for (const who of [OTHER_WORKER, WATCHER, REQ])
    await expectRevert(() => as(who).claimBounty([batchId]), 'BatchMarketNoBounty');
  await expectRevert(() => as(WORKER).claimBounty([batchId]), 'BatchMarketNoBounty');
  await expectRevert(() => as(WORKER).claimBounty([10_000n]), 'BatchMarketBountyNotSettled');
  // Only the registry's slash proceeds arrive without a call.
  await assert.rejects(
    () => w.chain.wallet(REQ).sendTransaction({ to: market(), value: 1n }),
    /BatchMarketUnexpectedValue/,
  );
});

test('empty batches and unlisted fee tokens are refused', async () => {
  const list = items(3);
  const header = headerOf(list, w.accounts[REQ], w.accounts[WORKER], { totalFee: 0n });
  await expectRevert(
    async () => as(WORKER).postBatch([header, await signHeader(w.chain.wallet(REQ), market(), header)]),
    'BatchMarketZeroFee',
  );
  const unlisted = await deployMock(w, 'TestToken', ['Other', 'OTH', 0n]);
  await expectRevert(() => as(REQ).deposit([unlisted, 1n]), 'BatchMarketTokenNotAllowed');
  const h2 = headerOf(list, w.accounts[REQ], w.accounts[WORKER], { feeToken: unlisted });
  await expectRevert(
    async () => as(WORKER).postBatch([h2, await signHeader(w.chain.wallet(REQ), market(), h2)]),
    'BatchMarketTokenNotAllowed',
  );
  assert.equal(await read().feeTokenAllowed([token]), true);
  assert.equal(await read().feeTokenAllowed([NATIVE]), true);
  assert.equal(await read().feeTokenAllowed([unlisted]), false);
});

test('deposits: fee-on-transfer tokens are credited what arrived; withdrawals wait out the delay', async () => {
  await receiptOf(w, as(REQ).deposit([token, parseEther('10')]));
  assert.equal(await available(w.accounts[REQ], token), parseEther('9.9'));
  await expectRevert(() => as(REQ).deposit([NATIVE, 5n], { value: 4n }), 'BatchMarketValueMismatch');
  await expectRevert(() => as(REQ).deposit([NATIVE, 0n]), 'BatchMarketZeroAmount');
  await expectRevert(() => as(REQ).withdrawDeposit([token, w.accounts[REQ]]), 'BatchMarketNoWithdrawal');
  await receiptOf(w, as(REQ).requestWithdrawal([token, parseEther('100')]));
  await expectRevert(
    () => as(REQ).withdrawDeposit([token, w.accounts[REQ]]),
    'BatchMarketWithdrawalNotReady',
  );
  // During the notice a worker can still be paid from the deposit.
  const list = items(4, undefined, { feeToken: token });
  const { batchId } = await post(list);
  await advance(w, w.v.params.batch.withdrawalDelay);
  await receiptOf(w, as(REQ).withdrawDeposit([token, w.accounts[REQ]]));
  assert.equal(await available(w.accounts[REQ], token), 0n);
  await receiptOf(w, as(WORKER).finalizeBatch([batchId]));
  const one = items(1, undefined, { feeToken: token });
  const header = headerOf(one, w.accounts[REQ], w.accounts[WORKER]);
  await expectRevert(
    async () => as(WORKER).postBatch([header, await signHeader(w.chain.wallet(REQ), market(), header)]),
    'BatchMarketDepositTooLow',
  );
  const idle = headerOf(one, w.accounts[REQ], w.accounts[9], { feeToken: NATIVE });
  await expectRevert(
    async () => as(9).postBatch([idle, await signHeader(w.chain.wallet(REQ), market(), idle)]),
    'BatchMarketWorkerNotActive',
  );
  const empty = headerOf(one, w.accounts[REQ], w.accounts[WORKER], { count: 0 });
  await expectRevert(
    async () => as(WORKER).postBatch([empty, await signHeader(w.chain.wallet(REQ), market(), empty)]),
    'BatchMarketBadCount',
  );
});
