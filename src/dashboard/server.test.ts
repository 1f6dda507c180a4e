import assert from 'node:assert/strict';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Deployment } from '../chain/deploymentFile.ts';
import { DashboardError, type DashboardServer, insideDir, serveDashboard } from './server.ts';

const ROOT = `0x${'ab'.repeat(32)}` as const;
const ADDRESS = `0x${'11'.repeat(20)}` as const;

/** A raw GET, so that the path reaches the server as sent (no client-side normalising). */
function get(port: number, path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.on('data', (b) => {
        body += b;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the dashboard server', () => {
  let dir: string;
  let server: DashboardServer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verinfer-dash-'));
    await mkdir(join(dir, 'dist', 'assets'), { recursive: true });
    await mkdir(join(dir, 'model'));
    await writeFile(join(dir, 'dist', 'index.html'), '<!doctype html><title>page</title>');
    await writeFile(join(dir, 'dist', 'assets', 'app.js'), 'console.log(1)');
    await writeFile(join(dir, 'secret.txt'), 'not for the page');
    await symlink(join(dir, 'secret.txt'), join(dir, 'dist', 'leak.txt'));
    await writeFile(join(dir, 'model', 'model.vrnf'), 'MODEL');
    await writeFile(join(dir, 'model', 'notes.txt'), 'private');
    const addresses = Object.fromEntries(
      ['taskMarket', 'batchMarket', 'agentRegistry', 'modelRegistry', 'dataRegistry', 'disputeGame'].map(
        (k) => [k, ADDRESS],
      ),
    );
    const deployment = {
      version: 1,
      chainId: 31337,
      addresses,
      params: {},
      models: [{ name: 'm', root: ROOT, dir: join(dir, 'model') }],
    } as unknown as Deployment;
    server = await serveDashboard({
      rpcUrl: 'http://127.0.0.1:1',
      deployment,
      distDir: join(dir, 'dist'),
      nodes: [{ name: 'worker-1', role: 'worker', address: ADDRESS, health: 'http://127.0.0.1:1/health' }],
    });
  });
  after(() => server.close());

  it('binds to localhost and serves the page and its assets', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal((await get(server.port, '/')).body, '<!doctype html><title>page</title>');
    assert.equal((await get(server.port, '/assets/app.js')).body, 'console.log(1)');
  });

  it('never serves a file outside the build, by dot segments, encoding or a symbolic link', async () => {
    for (const path of [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/leak.txt',
      '/%00',
      '/assets/..%5c..%5csecret.txt',
    ])
      assert.equal((await get(server.port, path)).status, 404, path);
    assert.equal((await get(server.port, `/${'a'.repeat(600)}`)).status, 404);
    assert.equal((await get(server.port, '/', 'POST')).status, 405);
  });

  it('serves only the package files of registered models', async () => {
    assert.equal((await get(server.port, `/api/models/${ROOT}/model.vrnf`)).body, 'MODEL');
    assert.equal((await get(server.port, `/api/models/${ROOT}/notes.txt`)).status, 404);
    assert.equal((await get(server.port, `/api/models/0x${'cd'.repeat(32)}/model.vrnf`)).status, 404);
    assert.equal((await get(server.port, `/api/models/${ROOT}/..%2f..%2fsecret.txt`)).status, 404);
    assert.equal((await get(server.port, `/api/inputs/0x${'cd'.repeat(32)}`)).status, 404);
  });

  it('names the chain, and hands out a key only on a devnet', async () => {
    const config = JSON.parse((await get(server.port, '/api/config')).body);
    assert.equal(config.rpcUrl, 'http://127.0.0.1:1');
    assert.equal(config.contracts.taskMarket, ADDRESS);
    assert.deepEqual(config.models, [{ name: 'm', root: ROOT, served: true }]);
    assert.equal(config.devnet, null);
  });

  it('reports an unreachable node as such', async () => {
    const [node] = JSON.parse((await get(server.port, '/api/nodes')).body);
    assert.equal(node.name, 'worker-1');
    assert.equal(node.reachable, false);
  });

  it('refuses to start without a built page, saying how to build it', async () => {
    await assert.rejects(
      serveDashboard({ rpcUrl: 'http://x', deployment: {} as Deployment, distDir: join(dir, 'none') }),
      (e: unknown) => e instanceof DashboardError && /buildDashboard/.test(e.message),
    );
  });

  it('insideDir keeps names inside their folder', async () => {
    assert.equal(await insideDir(join(dir, 'dist'), '../secret.txt'), undefined);
    assert.equal(await insideDir(join(dir, 'dist'), 'leak.txt'), undefined);
    assert.equal(await insideDir(join(dir, 'dist'), 'index.html'), join(dir, 'dist', 'index.html'));
  });
});
