// End-to-end on the devnet with nodes as separate processes: an honest worker is paid, and a
// dishonest challenger against it loses its bond (scenarios 1 and 3).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getContract, type Hex, parseEther } from 'viem';
import { messageBoardAbi } from '../../src/chain/bindings/abis.ts';
import { taskIdOf } from '../../src/chain/bindings/commitments.ts';
import type { TaskArgs } from '../../src/chain/bindings/types.ts';
import { NATIVE } from '../../src/chain/bindings/types.ts';
import { toHex } from '../../src/commit/keccak.ts';
import { tensorBytes, tensorRoot } from '../../src/commit/tensorRoot.ts';
import { EXAMPLES } from '../../src/sdk/examples.ts';
import { loadInput } from '../../src/sdk/loadInput.ts';
import { startTestNetwork, type TestNetwork } from '../support/network.ts';

const FINALIZED = 4;

async function digitsInput(net: TestNetwork, file = 'digit-7.png') {
  return loadInput(net.chain.packages.get('digits')!, join(EXAMPLES[0].samples, file));
}

async function finalizedEvent(net: TestNetwork, id: Hex) {
  const pc = net.chain.chain.publicClient;
  return net.until('the task to finalize', async () => {
    const logs = await pc.getContractEvents({
      address: net.chain.deployment.addresses.taskMarket,
      abi: net.chain.contracts.taskMarket.abi,
      eventName: 'TaskFinalized',
      args: { taskId: id },
      fromBlock: 0n,
    });
    return logs[0];
  });
}

describe('scenario 1: an honest worker', { timeout: 300_000 }, () => {
  let net: TestNetwork;
  before(async () => {
    net = await startTestNetwork([
      { name: 'worker', role: 'worker' },
      { name: 'verifier', role: 'verifier' },
    ]);
  });
  after(() => net?.stop());

  it('gets its answer finalized and its fee paid', async () => {
    const { id, task } = await net.requestTask('digits', await digitsInput(net));
    const fin = await finalizedEvent(net, id);
    const worker = net.nodes.get('worker')!.address;
    assert.equal(fin.args.worker?.toLowerCase(), worker.toLowerCase());
    // The fee is split between the worker and an attesting auditor, and nothing else.
    assert.equal(fin.args.workerPay! + fin.args.auditReward!, task.fee);
    const st = await net.chain.contracts.taskMarket.read.taskState([id]);
    assert.equal(st.status, FINALIZED);
    const owed = await net.chain.contracts.taskMarket.read.owed([NATIVE, worker]);
    assert.ok(owed >= fin.args.workerPay!, 'the worker is credited its pay');
    const games = await net.chain.chain.publicClient.getContractEvents({
      address: net.chain.deployment.addresses.disputeGame,
      abi: net.chain.contracts.disputeGame.abi,
      eventName: 'GameOpened',
      fromBlock: 0n,
    });
    assert.equal(games.length, 0, 'an honest result is never challenged by an honest verifier');
  });
});

describe('the example consumer contract on the devnet', { timeout: 300_000 }, () => {
  let net: TestNetwork;
  before(async () => {
    net = await startTestNetwork([
      { name: 'worker', role: 'worker' },
      { name: 'verifier', role: 'verifier' },
    ]);
  });
  after(() => net?.stop());

  it('MessageBoard accepts a post the spam model calls ham, and rejects spam', async () => {
    const { chain } = net;
    const board = chain.deployment.apps?.messageBoard;
    assert.ok(board, 'the devnet deploys the MessageBoard');
    const pkg = chain.packages.get('spam')!;
    const spamRoot = chain.deployment.models.find((m) => m.name === 'spam')!.root;
    const wallet = chain.chain.wallet(chain.chain.accounts.length - 1);
    const boardC = getContract({
      address: board,
      abi: messageBoardAbi,
      client: { public: chain.chain.publicClient, wallet },
    });
    const outcomes: Record<string, number> = {};
    for (const [i, file] of ['ham.txt', 'spam.txt'].entries()) {
      const text = await readFile(join(EXAMPLES[1].samples, file), 'utf8');
      const input = await loadInput(pkg, join(EXAMPLES[1].samples, file));
      const bytes = tensorBytes(input.dtype, input.data);
      const task: TaskArgs = {
        requester: wallet.account.address,
        modelRoot: spamRoot,
        inputRoot: toHex(tensorRoot(bytes)),
        feeToken: NATIVE,
        fee: parseEther('0.01'),
        takeDeadline: 2n ** 40n,
        consumer: board,
        callbackGasLimit: 100_000,
        salt: `0x${(900 + i).toString(16).padStart(64, '0')}`,
      };
      const pc = chain.chain.publicClient;
      await pc.waitForTransactionReceipt({ hash: await boardC.write.submit([text, task]) });
      await pc.waitForTransactionReceipt({
        hash: await chain.contracts
          .as(wallet)
          .taskMarket.write.createTask([task, toHex(bytes)], { value: task.fee }),
      });
      const id = taskIdOf(chain.deployment.chainId, chain.deployment.addresses.taskMarket, task);
      await finalizedEvent(net, id);
      outcomes[file] = Number((await boardC.read.post([id])).status);
    }
    // MessageBoard.Status: 2 accepted, 3 rejected; the callback ran inside finalize.
    assert.deepEqual(outcomes, { 'ham.txt': 2, 'spam.txt': 3 });
    assert.equal(await boardC.read.feedLength(), 1n);
  });
});

describe('scenario 3: a dishonest challenger against an honest worker', { timeout: 300_000 }, () => {
  let net: TestNetwork;
  before(async () => {
    net = await startTestNetwork([
      { name: 'worker', role: 'worker' },
      { name: 'liar', role: 'verifier', verifier: { behaviour: 'challenge-honest' } },
    ]);
  });
  after(() => net?.stop());

  it('loses its bond, and the worker is still paid', async () => {
    const { id, task } = await net.requestTask('digits', await digitsInput(net, 'digit-2.png'));
    const pc = net.chain.chain.publicClient;
    const game = net.chain.contracts.disputeGame;
    const resolved = await net.until(
      'the liar’s game to resolve',
      async () => {
        const logs = await pc.getContractEvents({
          address: game.address,
          abi: game.abi,
          eventName: 'GameResolved',
          fromBlock: 0n,
        });
        return logs[0];
      },
      240_000,
    );
    assert.equal(resolved.args.outcome, 2, 'the worker wins the game');
    assert.equal(resolved.args.toChallenger, 0n, 'the challenger gets nothing back');
    const bond = net.chain.deployment.params.task.challengeBond;
    assert.equal(
      resolved.args.toWorker! + resolved.args.burnt!,
      bond,
      'its whole bond goes to the worker or is burnt',
    );
    assert.ok(resolved.args.toWorker! > 0n);
    const fin = await finalizedEvent(net, id);
    assert.equal(fin.args.workerPay! + fin.args.auditReward!, task.fee);
    const liar = net.nodes.get('liar')!.address;
    const rep = await net.chain.contracts.agentRegistry.read.reputation([liar]);
    assert.ok(rep.disputesLost >= 1n, 'the loss is on the challenger’s record');
  });
});
