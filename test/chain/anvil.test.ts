// deployVerinfer against a real local anvil node over http(): deploy, register the hand model and
// a staked worker, create and post a task, let the challenge window pass, finalize, check payment.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestClient, type Hex, http, parseEther } from 'viem';
import { type AnvilNode, startAnvil } from '../../src/chain/anvil.ts';
import { taskIdOf } from '../../src/chain/bindings/commitments.ts';
import { NATIVE, type TaskArgs } from '../../src/chain/bindings/types.ts';
import { type ChainClients, connectRpc, deployVerinfer } from '../../src/chain/deployVerinfer.ts';
import { commitmentOf, handInput, hexOf, registerModel, runOf, TEST_PARAMS } from '../market/support.ts';
import { handModel } from '../support/handModel.ts';

const REQ = 1;
const WORKER = 2;

let node: AnvilNode;
const clients: ChainClients[] = [];
before(async () => {
  node = await startAnvil();
  for (const account of node.accounts.slice(0, 3))
    clients.push(await connectRpc(node.url, account.privateKey));
});
after(async () => {
  await node?.stop();
});

test('deployVerinfer deploys to anvil; an honest task finalizes and pays the worker', async () => {
  const [deployer] = clients;
  const { publicClient } = deployer;
  const wait = async (hash: Promise<Hex>) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash: await hash });
    assert.equal(receipt.status, 'success');
    return receipt;
  };
  assert.equal(await publicClient.getChainId(), 31337);
  const v = await deployVerinfer(deployer, { params: TEST_PARAMS });
  for (const address of Object.values(v.addresses)) {
    assert.ok(((await publicClient.getCode({ address })) ?? '0x').length > 2, `code at ${address}`);
  }

  const model = handModel();
  const root = await registerModel(v, model);
  const as = (i: number) => v.as(clients[i].walletClient);
  const worker = node.accounts[WORKER].address;
  await wait(
    as(WORKER).agentRegistry.write.register(['https://worker.example', [root]], { value: parseEther('5') }),
  );

  const run = runOf(model, handInput(1));
  const task: TaskArgs = {
    requester: node.accounts[REQ].address,
    modelRoot: root,
    inputRoot: run.inputRoot,
    feeToken: NATIVE,
    fee: parseEther('0.01'),
    takeDeadline: 2n ** 40n,
    consumer: NATIVE,
    callbackGasLimit: 0,
    salt: `0x${'1'.padStart(64, '0')}`,
  };
  const id = taskIdOf(publicClient.chain.id, v.addresses.taskMarket, task);
  const commitment = commitmentOf(id, run);
  const output = hexOf(run.outputBytes);
  await wait(as(REQ).taskMarket.write.createTask([task, hexOf(run.inputBytes)], { value: task.fee }));
  await wait(as(WORKER).taskMarket.write.postResult([task, commitment, run.outputRoot, output]));

  const testClient = createTestClient({ mode: 'anvil', transport: http(node.url) });
  await testClient.increaseTime({ seconds: Number(v.params.task.challengeWindow) + 1 });
  await testClient.mine({ blocks: 1 });
  await wait(
    as(REQ).taskMarket.write.finalize([task, { worker, commitment, outputRoot: run.outputRoot }, output]),
  );

  assert.equal((await v.taskMarket.read.taskState([id])).status, 4);
  assert.equal(await v.taskMarket.read.owed([NATIVE, worker]), task.fee);
});
