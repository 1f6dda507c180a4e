// AgentRegistry (stake, unbonding, locks, slashing, reputation, verifier selection) and
// DataRegistry (duplicates linked, contributors recorded). ModelRegistry: test/registry/.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { keccak256, parseEther, toHex } from 'viem';
import { modelDescriptorOf } from '../../src/chain/bindings/commitments.ts';
import { ZERO_BYTES32 } from '../../src/chain/bindings/types.ts';
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
  await receiptOf(w, reg(5).setModels([[ZERO_BYTES32]]));
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

test('only authorized markets lock, slash and record; the owner wires them', async () => {
  await expectRevert(() => reg(5).lockStake([w.accounts[5], 1n]), 'AgentRegistryNotAuthorized');
  await expectRevert(
    () => reg(5).slash([w.accounts[5], 1n, w.accounts[5], 0n]),
    'AgentRegistryNotAuthorized',
  );
  await expectRevert(() => reg(5).setAuthorized([w.accounts[5], true]), 'AgentRegistryNotOwner');
  await expectRevert(() => reg(5).claim([w.accounts[5]]), 'AgentRegistryNothingToClaim');
});

test('verifier selection is seeded, skips the excluded agent and agents that do not serve the model', async () => {
  await registerAgent(w, 6, [w.modelRoot]);
  await registerAgent(w, 7, [ZERO_BYTES32]);
  const stake = w.v.params.task.auditStake;
  const picks = new Set<string>();
  for (let s = 0; s < 12; s++) {
    const seed = keccak256(toHex(s));
    const v = await w.v.agentRegistry.read.selectVerifier([seed, w.accounts[6], w.modelRoot, stake]);
    assert.notEqual(v.toLowerCase(), w.accounts[6].toLowerCase());
    assert.notEqual(v.toLowerCase(), w.accounts[7].toLowerCase());
    picks.add(v);
  }
  assert.ok(picks.size >= 1);
  const none = await w.v.agentRegistry.read.selectVerifier([
    ZERO_BYTES32,
    w.accounts[6],
    keccak256('0x01'),
    stake,
  ]);
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
