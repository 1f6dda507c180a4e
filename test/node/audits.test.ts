// The audit path through the services: with every result audited, the verifier draws the audit
// (drawAudit is permissionless), is named auditor, re-executes and attests with the checkpoint
// root; the worker's finalize then pays the audit reward out of the fee.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Hex, parseEther } from 'viem';
import { NATIVE } from '../../src/chain/bindings/types.ts';
import { referenceBackend } from '../../src/engine/interpreter.ts';
import { connectNodeChain } from '../../src/node/chain.ts';
import { silentLogger } from '../../src/node/log.ts';
import type { AuditJob } from '../../src/node/machines/audit.ts';
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

interface Nodes {
  w: World;
  dir: string;
  stores: NodeStore[];
}

async function nodeFor(
  n: Nodes,
  account: number,
  role: 'worker' | 'verifier',
  devnet: { cheat?: number; watchShare?: number; behaviour?: 'collude' } = {},
): Promise<VerinferNode> {
  const chain = await connectNodeChain({
    publicClient: n.w.chain.publicClient,
    walletClient: n.w.chain.wallet(account),
    addresses: n.w.v.addresses,
  });
  const store = new NodeStore(join(n.dir, `${role}-${account}.db`));
  n.stores.push(store);
  const common = { stake: parseEther('2'), withdrawThreshold: parseEther('1000') };
  const node = new VerinferNode({
    chain,
    store,
    log: silentLogger(),
    models: new ModelSet([n.w.model]),
    backend: referenceBackend,
    ...(role === 'worker'
      ? { worker: { ...common, cheat: devnet.cheat } }
      : {
          verifier: { ...common, watchShare: devnet.watchShare ?? 0, behaviour: devnet.behaviour },
        }),
  });
  await node.setup();
  return node;
}

async function createTask(w: World, run: ReturnType<typeof runOf>) {
  const task = taskOf(w, w.accounts[3], run);
  await w.chain.publicClient.waitForTransactionReceipt({
    hash: await w.v
      .as(w.chain.wallet(3))
      .taskMarket.write.createTask([task, `0x${Buffer.from(run.inputBytes).toString('hex')}`], {
        value: task.fee,
      }),
  });
  return { task, id: idOf(w, task) };
}

describe('audits through the services', () => {
  let w: World;
  let dir: string;
  const stores: NodeStore[] = [];
  const n = {} as Nodes;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verinfer-audits-'));
    w = await startWorld({ ...TEST_PARAMS, task: { ...TEST_PARAMS.task, auditBps: 10_000 } });
    Object.assign(n, { w, dir, stores });
  });

  after(async () => {
    for (const s of stores) s.close();
    await w?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the verifier draws, is assigned, attests, and is paid its reward at finalization', async () => {
    const worker = await nodeFor(n, 1, 'worker');
    const verifier = await nodeFor(n, 2, 'verifier');
    const { task, id } = await createTask(w, runOf(w.model, handInput(9)));
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

describe('a colluding verifier (devnet behaviour)', () => {
  const n = { stores: [] as NodeStore[] } as Nodes;

  before(async () => {
    n.dir = mkdtempSync(join(tmpdir(), 'verinfer-collude-'));
    n.w = await startWorld({ ...TEST_PARAMS, task: { ...TEST_PARAMS.task, auditBps: 10_000 } });
  });

  after(async () => {
    for (const s of n.stores) s.close();
    await n.w?.close();
    rmSync(n.dir, { recursive: true, force: true });
  });

  it('draws the audit of a wrong result it will not challenge, and vouches for it once named', async () => {
    const { w } = n;
    const cheater = await nodeFor(n, 1, 'worker', { cheat: 1 });
    const colluder = await nodeFor(n, 2, 'verifier', { watchShare: 1, behaviour: 'collude' });
    const { id } = await createTask(w, runOf(w.model, handInput(4)));
    await cheater.tick();
    await colluder.tick();
    // Nobody else draws the audit here: a colluder waiting to be named would wait forever.
    await mine(w, 2);
    for (let round = 0; round < 6 && (await w.v.taskMarket.read.audit([id])).state !== 3; round++)
      await colluder.tick();
    const st = await w.v.taskMarket.read.taskState([id]);
    assert.equal(st.flags & 4, 4, 'the audit is drawn');
    const audit = await w.v.taskMarket.read.audit([id]);
    assert.equal(audit.auditor.toLowerCase(), w.accounts[2].toLowerCase());
    assert.equal(audit.state, 3, 'the colluder attests the corrupted result');
    assert.equal(st.flags & 2, 0, 'and opens no game');
  });
});

describe('an audit answered while the node did not see its answer', () => {
  const n = { stores: [] as NodeStore[] } as Nodes;

  before(async () => {
    n.dir = mkdtempSync(join(tmpdir(), 'verinfer-lost-'));
    n.w = await startWorld({ ...TEST_PARAMS, task: { ...TEST_PARAMS.task, auditBps: 10_000 } });
  });

  after(async () => {
    for (const s of n.stores) s.close();
    await n.w?.close();
    rmSync(n.dir, { recursive: true, force: true });
  });

  it('an attestation that landed unseen (a lost answer, a crash) is adopted, not sent again', async () => {
    const { w } = n;
    const worker = await nodeFor(n, 1, 'worker');
    const verifier = await nodeFor(n, 2, 'verifier');
    const { id } = await createTask(w, runOf(w.model, handInput(6)));
    await worker.tick();
    await verifier.tick();
    await mine(w, 2);
    for (let round = 0; round < 6; round++) {
      const job = verifier.env.store.getJob<AuditJob>('audit', id);
      if (job?.state === 'assigned' && job.payload.verdict) break;
      await verifier.tick();
    }
    const job = verifier.env.store.getJob<AuditJob>('audit', id)!;
    assert.equal(job.state, 'assigned');
    assert.equal((await w.v.taskMarket.read.audit([id])).auditor.toLowerCase(), w.accounts[2].toLowerCase());
    // The node's own attestation, sent by its key but never recorded in its database.
    const p = job.payload;
    await w.chain.publicClient.waitForTransactionReceipt({
      hash: await w.v
        .as(w.chain.wallet(2))
        .taskMarket.write.attestAudit([p.task, p.result!, p.checkpointRoot as Hex]),
    });
    const reverted = verifier.metrics.get('txs_reverted_total');
    await verifier.tick();
    assert.equal(verifier.env.store.getJob<AuditJob>('audit', id)?.state, 'attested');
    assert.equal(verifier.metrics.get('txs_reverted_total'), reverted, 'no second attestation was sent');
  });
});
