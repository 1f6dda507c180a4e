// The audit path through the services: with every result audited, the verifier draws the audit
// (drawAudit is permissionless), is named auditor, re-executes and attests with the checkpoint
// root; the worker's finalize then pays the audit reward out of the fee.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseEther } from 'viem';
import { NATIVE } from '../../src/chain/bindings/types.ts';
import { referenceBackend } from '../../src/engine/interpreter.ts';
import { connectNodeChain } from '../../src/node/chain.ts';
import { silentLogger } from '../../src/node/log.ts';
import { ModelSet } from '../../src/node/models.ts';
import { VerinferNode } from '../../src/node/service.ts';
import { NodeStore } from '../../src/node/store.ts';
import {
  advance,
  handInput,
  idOf,
  mine,
  runOf,
  startWorld,
  TEST_PARAMS,
  taskOf,
  type World,
} from '../market/support.ts';

describe('audits through the services', () => {
  let w: World;
  let dir: string;
  const stores: NodeStore[] = [];

  async function nodeFor(account: number, role: 'worker' | 'verifier'): Promise<VerinferNode> {
    const chain = await connectNodeChain({
      publicClient: w.chain.publicClient,
      walletClient: w.chain.wallet(account),
      addresses: w.v.addresses,
    });
    const store = new NodeStore(join(dir, `${role}.db`));
    stores.push(store);
    const common = { stake: parseEther('2'), withdrawThreshold: parseEther('1000') };
    const node = new VerinferNode({
      chain,
      store,
      log: silentLogger(),
      models: new ModelSet([w.model]),
      backend: referenceBackend,
      ...(role === 'worker' ? { worker: common } : { verifier: { ...common, watchShare: 0 } }),
    });
    await node.setup();
    return node;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verinfer-audits-'));
    w = await startWorld({ ...TEST_PARAMS, task: { ...TEST_PARAMS.task, auditBps: 10_000 } });
  });

  after(async () => {
    for (const s of stores) s.close();
    await w?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the verifier draws, is assigned, attests, and is paid its reward at finalization', async () => {
    const worker = await nodeFor(1, 'worker');
    const verifier = await nodeFor(2, 'verifier');
    const run = runOf(w.model, handInput(9));
    const task = taskOf(w, w.accounts[3], run);
    await w.chain.publicClient.waitForTransactionReceipt({
      hash: await w.v
        .as(w.chain.wallet(3))
        .taskMarket.write.createTask([task, `0x${Buffer.from(run.inputBytes).toString('hex')}`], {
          value: task.fee,
        }),
    });
    const id = idOf(w, task);
    await worker.tick();
    await verifier.tick();
    assert.equal(
      verifier.metrics.get('results_checked_total'),
      0n,
      'not watched, not yet assigned: no re-execution',
    );
    await mine(w, 2);
    for (let round = 0; round < 6 && verifier.metrics.get('audits_attested_total') === 0n; round++)
      await verifier.tick();
    const audit = await w.v.taskMarket.read.audit([id]);
    assert.equal(audit.auditor.toLowerCase(), w.accounts[2].toLowerCase());
    assert.equal(audit.state, 3, 'attested');
    assert.equal(verifier.metrics.get('results_checked_total'), 1n);
    await advance(w, Number(w.v.params.task.challengeWindow) + 1);
    await worker.tick();
    assert.equal((await w.v.taskMarket.read.taskState([id])).status, 4, 'finalized');
    const reward = (task.fee * BigInt(w.v.params.task.auditRewardBps)) / 10_000n;
    assert.equal(await w.v.taskMarket.read.owed([NATIVE, w.accounts[2]]), reward);
    assert.equal(await w.v.taskMarket.read.owed([NATIVE, w.accounts[1]]), task.fee - reward);
    await verifier.tick();
    assert.equal(verifier.env.store.countOpenJobs().audit, 0, 'the audit job is done');
  });
});
