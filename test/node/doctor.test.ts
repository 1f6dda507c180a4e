// `verinfer doctor` against a live devnet chain: a good config passes every check, and each kind
// of mistake fails its own check with a fix, without sending anything.
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DevnetChain, devnetAccounts, startDevnetChain } from '../../src/devnet/chain.ts';
import { runDoctor } from '../../src/node/doctor.ts';
import { encryptKey } from '../../src/node/keystore.ts';
import { MODEL_CACHE } from '../support/devnetProcess.ts';

describe('verinfer doctor', { timeout: 180_000 }, () => {
  let chain: DevnetChain;
  let dir: string;
  const account = devnetAccounts(1, 0)[1];
  const write = async (name: string, config: Record<string, unknown>) => {
    const file = join(dir, name);
    await writeFile(file, JSON.stringify(config));
    return file;
  };
  const base = () => ({
    devnet: true,
    rpcUrl: chain.rpc.url,
    deployment: chain.deploymentFile,
    roles: ['worker'],
    key: { privateKey: account.privateKey },
    database: join(dir, 'node.db'),
    models: { dirs: chain.deployment.models.map((m) => m.dir) },
    worker: { stake: '2' },
  });
  const byName = (checks: Awaited<ReturnType<typeof runDoctor>>) =>
    Object.fromEntries(checks.map((c) => [c.name, c]));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verinfer-doctor-'));
    chain = await startDevnetChain({ home: dir, port: 0, modelCache: MODEL_CACHE });
  });
  after(() => chain?.close());

  it('passes a good config, and sends nothing', async () => {
    const nonce = await chain.chain.publicClient.getTransactionCount({ address: account.address });
    const checks = await runDoctor(await write('good.json', base()));
    assert.deepEqual(
      checks.filter((c) => !c.ok),
      [],
    );
    assert.deepEqual(
      checks.map((c) => c.name),
      ['config', 'key', 'rpc', 'contracts', 'stake', 'models', 'peers', 'engine'],
    );
    assert.equal(await chain.chain.publicClient.getTransactionCount({ address: account.address }), nonce);
  });

  it('names a malformed config field', async () => {
    const checks = byName(await runDoctor(await write('bad.json', { ...base(), roles: ['miner'] })));
    assert.equal(checks.config.ok, false);
    assert.match(checks.config.detail, /roles/);
  });

  it('fails the key check on a wrong password, with the fix', async () => {
    const keystore = join(dir, 'key.json');
    await writeFile(keystore, JSON.stringify(encryptKey(account.privateKey, 'right', { scryptN: 1024 })));
    const pw = join(dir, 'pw');
    await writeFile(pw, 'wrong\n');
    const { key: _plain, ...rest } = base();
    const checks = byName(
      await runDoctor(
        await write('key.json.cfg', { ...rest, devnet: false, key: { keystore, passwordFile: pw } }),
      ),
    );
    assert.equal(checks.key.ok, false);
    assert.match(checks.key.fix ?? '', /password/);
    assert.equal(checks.rpc.ok, true, 'the other checks still run');
  });

  it('fails the rpc check on an unreachable endpoint, and a stake too small', async () => {
    const checks = byName(
      await runDoctor(
        await write('rpc.json', { ...base(), rpcUrl: 'http://127.0.0.1:9', worker: { stake: '0.01' } }),
      ),
    );
    assert.equal(checks.rpc.ok, false);
    assert.match(checks.rpc.fix ?? '', /rpcUrl/);
    const small = byName(
      await runDoctor(await write('small.json', { ...base(), worker: { stake: '0.01' } })),
    );
    assert.equal(small.stake.ok, false);
    assert.match(small.stake.fix ?? '', /at least/);
  });
});
