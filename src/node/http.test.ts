import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startHttp } from './http.ts';
import { Metrics } from './metrics.ts';
import type { VerinferNode } from './service.ts';

describe('health and metrics endpoints', () => {
  it('serves /health as JSON and /metrics as Prometheus text on loopback', async () => {
    const metrics = new Metrics();
    metrics.inc('tasks_posted_total', 3);
    metrics.set('sync_lag_blocks', 2);
    metrics.set('open_jobs', 1, { kind: 'dispute' });
    let ok = true;
    const node = {
      metrics,
      health: () => ({
        ok,
        account: '0x1',
        roles: ['worker'],
        head: '10',
        cursor: '8',
        lag: '2',
        openJobs: { task: 0, audit: 0, dispute: 1 },
      }),
    } as unknown as VerinferNode;
    const server = await startHttp(node, 0);
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const health = await fetch(`${base}/health`);
      assert.equal(health.status, 200);
      assert.deepEqual((await health.json()).openJobs, { task: 0, audit: 0, dispute: 1 });
      const text = await (await fetch(`${base}/metrics`)).text();
      assert.match(text, /^# TYPE verinfer_tasks_posted_total counter$/m);
      assert.match(text, /^verinfer_tasks_posted_total 3$/m);
      assert.match(text, /^verinfer_sync_lag_blocks 2$/m);
      assert.match(text, /^verinfer_open_jobs\{kind="dispute"\} 1$/m);
      assert.match(text, /^verinfer_results_challenged_total 0$/m);
      assert.match(text, /^verinfer_rpc_errors_total 0$/m);
      ok = false;
      assert.equal((await fetch(`${base}/health`)).status, 503, 'an unhealthy node says so');
      assert.equal((await fetch(`${base}/nope`)).status, 404);
      assert.equal((await fetch(`${base}/health`, { method: 'POST' })).status, 405);
    } finally {
      await server.close();
    }
  });
});
