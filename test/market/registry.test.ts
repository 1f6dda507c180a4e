// AgentRegistry (stake, unbonding, locks, slashing, reputation, verifier selection) and
// DataRegistry (duplicates linked, contributors recorded). ModelRegistry: test/registry/.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { encodeAbiParameters, type Hex, keccak256, numberToHex, parseEther, toHex, zeroAddress } from 'viem';
import { modelDescriptorOf } from '../../src/chain/bindings/commitments.ts';
import { NATIVE, ZERO_BYTES32 } from '../../src/chain/bindings/types.ts';
import { extraWallets, send, standaloneRegistry } from './registrySupport.ts';
import {
  advance,
  balance,
  expectRevert,
  receiptOf,
  registerAgent,
  startWorld,
  type World,
} from './support.ts';

let w: World;
before(async () => {
  w = await startWorld();
});
after(async () => w?.close());

const reg = (i: number) => w.v.as(w.chain.wallet(i)).agentRegistry.write;

test('agents: register, add stake, unbond free stake only, withdraw after the delay', async () => {
  await expectRevert(
    () => reg(5).register(['https://a', [w.modelRoot]], { value: 1n }),
    'AgentRegistryStakeTooLow',
  );
  await registerAgent(w, 5, [w.modelRoot], parseEther('2'));
  await expectRevert(
    () => reg(5).register(['https://a', []], { value: parseEther('2') }),
    'AgentRegistryAlreadyRegistered',
  );
  await receiptOf(w, reg(5).addStake({ value: parseEther('1') }));
  assert.ok(await w.v.agentRegistry.read.isActive([w.accounts[5]]));
  assert.ok(await w.v.agentRegistry.read.serves([w.accounts[5], w.modelRoot]));
  // Only registered models can be served (so serving a model proves it is registered).
  await expectRevert(() => reg(5).setModels([[w.modelRoot, ZERO_BYTES32]]), 'AgentRegistryUnknownModel');
  await expectRevert(
    () => reg(6).register(['https://a', [keccak256('0x07')]], { value: parseEther('2') }),
    'AgentRegistryUnknownModel',
  );
  await receiptOf(w, reg(5).setModels([[]]));
  assert.equal(await w.v.agentRegistry.read.serves([w.accounts[5], w.modelRoot]), false);
  await receiptOf(w, reg(5).setModels([[w.modelRoot]]));
  await receiptOf(w, reg(5).setEndpoint(['https://b']));
  assert.equal((await w.v.agentRegistry.read.agentInfo([w.accounts[5]])).endpoint, 'https://b');
  await expectRevert(() => reg(5).requestUnbond([parseEther('4')]), 'AgentRegistryInsufficientFreeStake');
  await receiptOf(w, reg(5).requestUnbond([parseEther('2.5')]));
  assert.equal(await w.v.agentRegistry.read.isActive([w.accounts[5]]), false, 'below the minimum stake');
  await expectRevert(() => reg(5).withdraw([w.accounts[5]]), 'AgentRegistryStillUnbonding');
  await advance(w, w.v.params.unbondingDelay);
  const before = await balance(w, w.accounts[8]);
  await receiptOf(w, reg(5).withdraw([w.accounts[8]]));
  assert.equal((await balance(w, w.accounts[8])) - before, parseEther('2.5'));
  await expectRevert(() => reg(5).withdraw([w.accounts[8]]), 'AgentRegistryNothingToWithdraw');
  await expectRevert(() => reg(6).requestUnbond([1n]), 'AgentRegistryNotRegistered');
});

test('only authorized markets lock, slash and record', async () => {
  await expectRevert(() => reg(5).lockStake([w.accounts[5], 1n]), 'AgentRegistryNotAuthorized');
  await expectRevert(
    () => reg(5).slash([w.accounts[5], 1n, w.accounts[5], 0n]),
    'AgentRegistryNotAuthorized',
  );
  await expectRevert(() => reg(5).release([w.accounts[5], 0n, 0, 256n]), 'AgentRegistryNotAuthorized');
  await expectRevert(() => reg(5).setAuthorized([w.accounts[5], true]), 'AgentRegistryNotOwner');
  await expectRevert(() => reg(5).claim([w.accounts[5]]), 'AgentRegistryNothingToClaim');
});

test('attack: after deployment no key, the deployer included, can authorize a market or an arena', async () => {
  assert.equal(await w.v.agentRegistry.read.owner(), zeroAddress);
  assert.equal(await w.v.disputeGame.read.owner(), zeroAddress);
  for (const i of [0, 5]) {
    await expectRevert(() => reg(i).setAuthorized([w.accounts[i], true]), 'AgentRegistryNotOwner');
    await expectRevert(() => reg(i).renounceOwnership(), 'AgentRegistryNotOwner');
    await expectRevert(
      () => w.v.as(w.chain.wallet(i)).disputeGame.write.setArena([w.accounts[i], true]),
      'DisputeGameNotOwner',
    );
    await expectRevert(() => reg(i).lockStake([w.accounts[5], 1n]), 'AgentRegistryNotAuthorized');
  }
  assert.equal(await w.v.agentRegistry.read.authorized([w.accounts[0]]), false);
});

test('attack: a market cannot unlock or slash stake another market locked; a slash pays at most half', async () => {
  const r = await standaloneRegistry(w.chain);
  const [agent] = await extraWallets(w.chain, 1, 10);
  const who = agent.account.address;
  await send(w.chain, r.as(agent).write.register(['', [w.modelRoot]], { value: parseEther('4') }));
  await send(w.chain, r.market.write.lockStake([who, parseEther('1')]));
  assert.equal(await r.market.read.lockedBy([who, w.accounts[1]]), parseEther('1'));
  // The other market (authorized, but it locked nothing for this agent) gets nothing of it.
  await expectRevert(
    () => r.otherMarket.write.unlockStake([who, 1n]),
    'AgentRegistryInsufficientLockedStake',
  );
  await expectRevert(
    () => r.otherMarket.write.slash([who, 1n, w.accounts[2], 5_000n]),
    'AgentRegistryInsufficientLockedStake',
  );
  await expectRevert(
    () => r.otherMarket.write.release([who, 1n, 0, 1n]),
    'AgentRegistryInsufficientLockedStake',
  );
  // A key that authorizes itself as a market (here the owner, before renouncing) can lock only
  // free stake, and slashing it to itself burns at least half, whatever share it asks for.
  await send(w.chain, r.owner.write.setAuthorized([w.accounts[0], true]));
  await expectRevert(
    () => r.owner.write.lockStake([who, parseEther('3.5')]),
    'AgentRegistryInsufficientFreeStake',
  );
  await expectRevert(
    () => r.owner.write.slash([who, 1n, w.accounts[0], 5_000n]),
    'AgentRegistryInsufficientLockedStake',
  );
  await send(w.chain, r.owner.write.lockStake([who, parseEther('3')]));
  const burnAddress = '0x000000000000000000000000000000000000dEaD';
  const burntBefore = await balance(w, burnAddress);
  await send(w.chain, r.owner.write.slash([who, parseEther('3'), w.accounts[0], 10_000n]));
  assert.equal(await r.owner.read.claimable([w.accounts[0]]), parseEther('1.5'));
  assert.equal((await balance(w, burnAddress)) - burntBefore, parseEther('1.5'));
  await expectRevert(() => r.owner.write.slash([who, 1n, w.accounts[0], 10_001n]), 'AgentRegistryBadShare');
  // Market 1's lock is untouched and still its own to release.
  const info = await r.market.read.agentInfo([who]);
  assert.equal(info.locked, parseEther('1'));
  assert.equal(info.stake, parseEther('1'));
  // A market that is no longer authorized locks nothing new but still settles what it locked.
  await send(w.chain, r.owner.write.setAuthorized([w.accounts[1], false]));
  await expectRevert(() => r.market.write.lockStake([who, 0n]), 'AgentRegistryNotAuthorized');
  await send(w.chain, r.market.write.unlockStake([who, parseEther('1')]));
  assert.equal((await r.market.read.agentInfo([who])).locked, 0n);
  await expectRevert(() => r.market.write.unlockStake([who, 1n]), 'AgentRegistryNotAuthorized');
  // Renounced: nobody can authorize again.
  await send(w.chain, r.owner.write.renounceOwnership());
  await expectRevert(() => r.owner.write.setAuthorized([w.accounts[3], true]), 'AgentRegistryNotOwner');
});

test('attack: unpaid or bulk results do not inflate reputation', async () => {
  const r = await standaloneRegistry(w.chain);
  const [agent] = await extraWallets(w.chain, 1, 11);
  const who = agent.account.address;
  await send(w.chain, r.as(agent).write.register(['', [w.modelRoot]], { value: parseEther('2') }));
  await send(w.chain, r.market.write.lockStake([who, parseEther('1')]));
  await send(w.chain, r.market.write.release([who, parseEther('1'), 0, 0n]));
  assert.equal((await r.market.read.reputation([who])).resultsAccepted, 0n, 'unpaid: count 0');
  await send(w.chain, r.market.write.recordOutcome([who, 0, 100_000n]));
  assert.equal((await r.market.read.reputation([who])).resultsAccepted, 256n, 'capped per call');
  // Through the BatchMarket: a batch with no fee cannot even be posted.
  const worker = 5;
  const batches = w.v.as(w.chain.wallet(worker)).batchMarket;
  const header = {
    requester: w.accounts[worker],
    worker: w.accounts[worker],
    feeToken: NATIVE,
    root: keccak256('0x02'),
    count: 100,
    totalFee: 0n,
    nonce: 1n,
    deadline: 2n ** 40n,
  };
  await expectRevert(() => batches.write.postBatch([header, '0x']), 'BatchMarketZeroFee');
});

test('the accepted-results counter moves from the agent word to the reputation record without losing a count', async () => {
  const r = await standaloneRegistry(w.chain);
  const [agent] = await extraWallets(w.chain, 1, 12);
  const who = agent.account.address;
  await send(w.chain, r.as(agent).write.register(['', [w.modelRoot]], { value: parseEther('2') }));
  await send(w.chain, r.market.write.recordOutcome([who, 0, 3n]));
  // The agent's first word (mapping slot 2: owner, authorized, _agents): stake | locked << 96 |
  // id << 192 | inIndex << 216 | resultsAccepted << 224. Put its counter just below 2^32.
  const slot = keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'uint256' }], [who, 2n]));
  const word = BigInt((await w.chain.publicClient.getStorageAt({ address: r.address, slot })) as Hex);
  assert.equal(word & ((1n << 96n) - 1n), parseEther('2'), 'the slot is the agent word');
  assert.equal(word >> 224n, 3n);
  const nearFull = 2n ** 32n - 2n;
  const moved = (word & ((1n << 224n) - 1n)) | (nearFull << 224n);
  await w.chain.testClient.setStorageAt({
    address: r.address,
    index: slot,
    value: numberToHex(moved, { size: 32 }),
  });
  assert.equal((await r.market.read.reputation([who])).resultsAccepted, nearFull);
  await send(w.chain, r.market.write.recordOutcome([who, 0, 5n]));
  assert.equal((await r.market.read.reputation([who])).resultsAccepted, nearFull + 5n);
  await send(w.chain, r.market.write.lockStake([who, parseEther('1')]));
  await send(w.chain, r.market.write.release([who, parseEther('1'), 0, 1n]));
  assert.equal((await r.market.read.reputation([who])).resultsAccepted, nearFull + 6n);
  const after = BigInt((await w.chain.publicClient.getStorageAt({ address: r.address, slot })) as Hex);
  assert.equal(after >> 224n, 1n, 'the counter restarted after moving its count');
});

test('verifier selection is seeded, skips the excluded agent and agents that do not serve the model', async () => {
  await registerAgent(w, 6, [w.modelRoot]);
  await registerAgent(w, 7, []);
  const picks = new Set<string>();
  for (let s = 0; s < 12; s++) {
    const seed = keccak256(toHex(s));
    const v = await w.v.agentRegistry.read.selectVerifier([seed, w.accounts[6], w.modelRoot]);
    assert.notEqual(v.toLowerCase(), w.accounts[6].toLowerCase());
    assert.notEqual(v.toLowerCase(), w.accounts[7].toLowerCase());
    picks.add(v);
  }
  assert.ok(picks.size >= 1);
  const none = await w.v.agentRegistry.read.selectVerifier([ZERO_BYTES32, w.accounts[6], keccak256('0x01')]);
  assert.equal(none, '0x0000000000000000000000000000000000000000');
});

test('datasets: the same content registered twice is linked to the first and counted once', async () => {
  const id = keccak256(toHex('mnist-10k'));
  const d = (i: number) => w.v.as(w.chain.wallet(i)).dataRegistry.write;
  await receiptOf(w, d(1).register([id, 'ipfs://a', [w.accounts[1], w.accounts[2]]]));
  await receiptOf(w, d(2).register([id, 'ipfs://b', [w.accounts[2], w.accounts[3]]]));
  assert.equal(await w.v.dataRegistry.read.datasetCount(), 1n);
  const ds = await w.v.dataRegistry.read.dataset([id]);
  assert.equal(ds.registrant.toLowerCase(), w.accounts[1].toLowerCase());
  assert.equal(ds.duplicates, 1);
  assert.equal(ds.uri, 'ipfs://a');
  assert.deepEqual(
    (await w.v.dataRegistry.read.contributors([id])).map((a) => a.toLowerCase()),
    [w.accounts[1], w.accounts[2], w.accounts[3]].map((a) => a.toLowerCase()),
  );
  const second = await w.v.dataRegistry.read.registration([1n]);
  assert.equal(second.duplicate, true);
  await expectRevert(() => d(1).register([ZERO_BYTES32, '', []]), 'DataRegistryZeroContentId');
  // A model can name the dataset as its training data.
  const v9 = { ...w.model, meta: { ...w.model.meta, version: '9' } };
  const { modelRoot } = await import('../../src/commit/modelRoot.ts');
  const root = toHex(modelRoot(v9));
  await receiptOf(
    w,
    w.v.modelRegistry.write.register([
      modelDescriptorOf(v9),
      { name: 'hand', version: '9', parent: ZERO_BYTES32, dataId: id, uri: '' },
    ]),
  );
  assert.equal((await w.v.modelRegistry.read.publication([root, w.accounts[0]])).dataId, id);
  await expectRevert(
    () =>
      w.v.modelRegistry.write.register([
        modelDescriptorOf({ ...v9, meta: { ...v9.meta, version: '10' } }),
        { name: 'hand', version: '10', parent: ZERO_BYTES32, dataId: keccak256('0x05'), uri: '' },
      ]),
    'ModelRegistryUnknownDataset',
  );
});
