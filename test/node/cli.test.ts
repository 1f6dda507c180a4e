// `verinfer key` and `verinfer node` as separate OS processes: keys are created and opened from
// files and environment variables, a bad config is a clean error, and a node started against an
// HTTP JSON-RPC chain (anvil) serves a task, reports its health (its libp2p multiaddr included),
// and stops on SIGTERM.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseEther } from 'viem';
import { startAnvil } from '../../src/chain/anvil.ts';
import { taskIdOf } from '../../src/chain/bindings/commitments.ts';
import { NATIVE, ZERO_BYTES32 } from '../../src/chain/bindings/types.ts';
import { connectRpc, deployVerinfer } from '../../src/chain/deployVerinfer.ts';
import { toHex } from '../../src/commit/keccak.ts';
import { modelRoot } from '../../src/commit/modelRoot.ts';
import { importKey } from '../../src/node/keystore.ts';
import { saveModelDir } from '../../src/store/modelDir.ts';
import { handInput, registerModel, runOf, TEST_PARAMS } from '../market/support.ts';
import { handModel } from '../support/handModel.ts';

const bin = new URL('../../bin/verinfer.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'verinfer-node-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('verinfer key', () => {
  it('creates, exports and refuses a wrong password without echoing it', () => {
    const file = join(dir, 'k.json');
    const pw = join(dir, 'pw.txt');
    writeFileSync(pw, 's3cret-pass\n');
    const made = cli(['key', 'new', '--out', file, '--password-file', pw, '--json']);
    assert.equal(made.code, 0, made.stderr);
    const { address } = JSON.parse(made.stdout);
    const out = cli(['key', 'export', '--keystore', file, '--json'], {
      VERINFER_KEY_PASSWORD: 's3cret-pass',
    });
    assert.equal(out.code, 0, out.stderr);
    assert.equal(JSON.parse(out.stdout).address, address);
    assert.match(JSON.parse(out.stdout).privateKey, /^0x[0-9a-f]{64}$/);
    const wrong = cli(['key', 'export', '--keystore', file], { VERINFER_KEY_PASSWORD: 'not-it-at-all' });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /password does not open/);
    assert.ok(!wrong.stderr.includes('not-it-at-all') && wrong.stdout === '');
    const again = cli(['key', 'new', '--out', file, '--password-file', pw]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists/);
  });
});

describe('verinfer node', () => {
  it('reports every bad config field and exits 1', () => {
    const cfg = join(dir, 'bad.json');
    writeFileSync(cfg, JSON.stringify({ rpcUrl: 'nope', roles: ['miner'], database: 'x.db' }));
    const r = cli(['node', '--config', cfg]);
    assert.equal(r.code, 1);
    for (const field of ['rpcUrl', 'roles.0', 'key'])
      assert.match(r.stderr, new RegExp(`- ${field.replace('.', '\\.')}`));
    const missing = cli(['node', '--config', join(dir, 'absent.json')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Cannot read the config file/);
  });

  it('runs as a process against an HTTP JSON-RPC chain and stops cleanly on SIGTERM', async () => {
    const anvil = await startAnvil();
    let child: ChildProcess | undefined;
    try {
      const deployer = await connectRpc(anvil.url, anvil.accounts[0].privateKey);
      const v = await deployVerinfer(deployer, { params: TEST_PARAMS });
      const model = handModel();
      await registerModel(v, model);
      const modelDir = join(dir, 'models', 'hand');
      await saveModelDir(modelDir, model);
      const block = await deployer.publicClient.getBlockNumber();
      writeFileSync(
        join(dir, 'deployment.json'),
        JSON.stringify({ addresses: v.addresses, blockNumber: Number(block) }),
      );
      const keyFile = join(dir, 'worker-key.json');
      importKey(keyFile, anvil.accounts[1].privateKey, 'pw-worker', { scryptN: 1024 });
      const cfg = join(dir, 'worker.json');
      writeFileSync(
        cfg,
        JSON.stringify({
          rpcUrl: anvil.url,
          deployment: 'deployment.json',
          roles: ['worker'],
          key: { keystore: 'worker-key.json', passwordEnv: 'WORKER_PW' },
          database: 'worker.db',
          models: { dirs: ['models/hand'] },
          backend: 'reference',
          http: { port: 0 },
          p2p: { listen: ['/ip4/127.0.0.1/tcp/0'] },
          pollIntervalMs: 100,
        }),
      );
      child = spawn(process.execPath, [bin, 'node', '--config', cfg], {
        env: { ...process.env, WORKER_PW: 'pw-worker' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const lines: string[] = [];
      let stderr = '';
      child.stdout?.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
      child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
      const waitFor = async (what: string, ok: () => boolean | Promise<boolean>) => {
        for (let i = 0; i < 600; i++) {
          if (await ok()) return;
          if (child?.exitCode !== null) assert.fail(`the node exited while waiting for ${what}: ${stderr}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.fail(`gave up waiting for ${what}: ${stderr}`);
      };
      const parsed = () => lines.map((l) => JSON.parse(l));
      await waitFor('start-up', () => parsed().some((l) => l.msg === 'node started'));
      const port = parsed().find((l) => l.msg === 'http listening')?.fields.port;
      assert.ok(port > 0);

      const requester = await connectRpc(anvil.url, anvil.accounts[3].privateKey);
      const run = runOf(model, handInput(5));
      const task = {
        requester: anvil.accounts[3].address,
        modelRoot: toHex(modelRoot(model)),
        inputRoot: run.inputRoot,
        feeToken: NATIVE,
        fee: parseEther('0.01'),
        takeDeadline: 2n ** 40n,
        consumer: NATIVE,
        callbackGasLimit: 0,
        salt: ZERO_BYTES32,
      };
      const hash = await v
        .as(requester.walletClient)
        .taskMarket.write.createTask([task, toHex(run.inputBytes)], { value: task.fee });
      await requester.publicClient.waitForTransactionReceipt({ hash });
      const id = taskIdOf(requester.publicClient.chain.id, v.addresses.taskMarket, task);
      await waitFor('the result', async () => (await v.taskMarket.read.taskState([id])).status === 3);

      const health = await (await fetch(`http://127.0.0.1:${port}/health`)).json();
      assert.equal(health.ok, true);
      assert.equal(health.roles[0], 'worker');
      assert.equal(health.account.toLowerCase(), anvil.accounts[1].address.toLowerCase());
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /^verinfer_tasks_posted_total 1$/m);
      assert.match(metrics, /^verinfer_p2p_peers_connected 0$/m);
      // With p2p.listen, the node listens on libp2p, publishes its multiaddr as its registry
      // endpoint, and keeps its key next to its database.
      const { p2p } = health;
      assert.match(p2p.endpoint, new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${p2p.peerId}$`));
      assert.ok(p2p.multiaddrs.includes(p2p.endpoint));
      assert.equal(
        (await v.agentRegistry.read.agentInfo([anvil.accounts[1].address])).endpoint,
        p2p.endpoint,
      );
      assert.ok(existsSync(join(dir, 'worker.db.peer-key')));
      assert.ok(parsed().some((l) => l.msg === 'p2p listening' && l.fields.endpoint === p2p.endpoint));

      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      assert.ok(parsed().some((l) => l.msg === 'node stopped'));
      const all = lines.join('\n').toLowerCase();
      assert.ok(
        !all.includes(anvil.accounts[1].privateKey.slice(2).toLowerCase()),
        'the key never reaches the logs',
      );
      assert.ok(!all.includes('pw-worker'), 'nor the password');
    } finally {
      if (child && child.exitCode === null) child.kill('SIGKILL');
      await anvil.stop();
    }
  });
});
