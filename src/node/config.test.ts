import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseEther } from 'viem';
import { applyEnv, ConfigError, loadConfig, parseConfig, readDeploymentFile } from './config.ts';

const ADDR = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const addresses = {
  dataRegistry: ADDR,
  modelRegistry: ADDR,
  agentRegistry: ADDR,
  verifier: ADDR,
  disputeGame: ADDR,
  taskMarket: ADDR,
  batchMarket: ADDR,
};
const good = {
  rpcUrl: 'http://127.0.0.1:8545',
  addresses,
  roles: ['worker'],
  key: { keystore: 'keys/worker.json' },
  database: 'node.db',
  models: { examples: ['digits'] },
};

const dir = mkdtempSync(join(tmpdir(), 'verinfer-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
    return err.metaMessages ?? [err.shortMessage];
  }
  assert.fail('expected a ConfigError');
}

describe('node config', () => {
  it('accepts a minimal config, fills defaults and resolves paths against the file', () => {
    const c = parseConfig(good, '/srv/node');
    assert.equal(c.database, '/srv/node/node.db');
    assert.equal(c.key.keystore, '/srv/node/keys/worker.json');
    assert.equal(c.key.passwordEnv, 'VERINFER_KEY_PASSWORD');
    assert.equal(c.maxBlockRange, 500);
    assert.equal(c.logLevel, 'info');
    assert.equal(c.backend, 'fast');
    assert.deepEqual(c.models.examples, ['digits']);
  });

  it('reads the p2p section: defaults, and the key file resolved against the config', () => {
    const c = parseConfig(
      { ...good, p2p: { listen: ['/ip4/0.0.0.0/tcp/9000'], keyFile: 'p2p.key' } },
      '/srv/node',
    );
    assert.deepEqual(c.p2p?.listen, ['/ip4/0.0.0.0/tcp/9000']);
    assert.deepEqual(c.p2p?.bootstrap, []);
    assert.equal(c.p2p?.heartbeatSeconds, 30);
    assert.equal(c.p2p?.keyFile, '/srv/node/p2p.key');
    assert.equal(parseConfig(good).p2p, undefined);
    const env = applyEnv({ ...good }, { VERINFER_P2P_LISTEN: '/ip4/127.0.0.1/tcp/1,/ip4/127.0.0.1/tcp/2' });
    assert.equal(parseConfig(env).p2p?.listen.length, 2);
    assert.ok(problems(() => parseConfig({ ...good, p2p: { listen: [], heartbeatSeconds: -1 } })).length > 0);
  });

  it('lists every bad field with its path', () => {
    const lines = problems(() =>
      parseConfig({
        ...good,
        rpcUrl: 'ftp://x',
        roles: [],
        key: { privateKey: '0x12' },
        worker: { cheat: 0.5, stake: 'lots' },
        verifier: { watchShare: 2 },
        maxBlockRange: 5000,
        surprise: true,
      }),
    );
    const text = lines.join('\n');
    for (const path of [
      'rpcUrl',
      'roles',
      'key.privateKey',
      'worker.stake',
      'verifier.watchShare',
      'maxBlockRange',
    ])
      assert.match(text, new RegExp(`- ${path.replace('.', '\\.')}:`), `reports ${path}: ${text}`);
    assert.match(text, /surprise/, 'unknown fields are reported');
  });

  it('allows a plain key and cheat mode only on a devnet', () => {
    const devnet = { ...good, key: { privateKey: `0x${'11'.repeat(32)}` }, worker: { cheat: 0.5 } };
    const text = problems(() => parseConfig(devnet)).join('\n');
    assert.match(text, /key\.privateKey: .*devnet/);
    assert.match(text, /worker\.cheat: .*devnet/);
    const c = parseConfig({ ...devnet, devnet: true });
    assert.equal(c.worker?.cheat, 0.5);
    assert.equal(c.worker?.stake, parseEther('2'));
  });

  it('needs addresses or a deployment, a key and a model', () => {
    const { addresses: _a, ...rest } = good;
    const text = problems(() => parseConfig({ ...rest, key: {}, models: {} })).join('\n');
    assert.match(text, /deployment: give "deployment"/);
    assert.match(text, /key\.keystore: give a keystore path/);
    assert.match(text, /models: serve at least one model/);
  });

  it('lets environment variables override fields', () => {
    const raw = applyEnv(good, {
      VERINFER_RPC_URL: 'https://rpc.example:8545',
      VERINFER_ROLES: 'worker, verifier',
      VERINFER_HTTP_PORT: '9100',
      VERINFER_WATCH_SHARE: '0.25',
      VERINFER_DEVNET: 'true',
      VERINFER_PRIVATE_KEY: `0x${'22'.repeat(32)}`,
      VERINFER_KEYSTORE: undefined,
    });
    const { keystore: _k, ...key } = raw.key as Record<string, unknown>;
    const c = parseConfig({ ...raw, key });
    assert.equal(c.rpcUrl, 'https://rpc.example:8545');
    assert.deepEqual(c.roles, ['worker', 'verifier']);
    assert.equal(c.http?.port, 9100);
    assert.equal(c.verifier?.watchShare, 0.25);
    assert.equal(c.devnet, true);
    assert.equal(good.rpcUrl, 'http://127.0.0.1:8545', 'the file object is not mutated');
    assert.throws(() => applyEnv(good, { VERINFER_HTTP_PORT: 'eighty' }), ConfigError);
    assert.throws(() => applyEnv(good, { VERINFER_DEVNET: 'maybe' }), ConfigError);
  });

  it('turns a missing or broken file into a clean error', () => {
    assert.throws(
      () => loadConfig(join(dir, 'nope.json'), {}),
      (e: Error) => e instanceof ConfigError && /Cannot read/.test(e.message),
    );
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ "rpcUrl": ');
    assert.throws(
      () => loadConfig(bad, {}),
      (e: Error) => e instanceof ConfigError && /not valid JSON/.test(e.message),
    );
    writeFileSync(bad, '[1, 2]');
    assert.throws(() => loadConfig(bad, {}), /one JSON object/);
    const ok = join(dir, 'ok.json');
    writeFileSync(ok, JSON.stringify(good));
    assert.equal(loadConfig(ok, { VERINFER_LOG_LEVEL: 'debug' }).logLevel, 'debug');
  });

  it('reads a deployment file, with or without the addresses wrapper', () => {
    const a = join(dir, 'deployment.json');
    writeFileSync(a, JSON.stringify({ chainId: 31337, blockNumber: 12, addresses }));
    assert.equal(readDeploymentFile(a).blockNumber, 12);
    writeFileSync(a, JSON.stringify(addresses));
    assert.equal(readDeploymentFile(a).addresses.taskMarket, ADDR);
    writeFileSync(a, JSON.stringify({ addresses: { ...addresses, taskMarket: '0x1' } }));
    assert.throws(() => readDeploymentFile(a), /addresses\.taskMarket/);
  });
});
