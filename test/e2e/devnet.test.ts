// `verinfer devnet --json --tour-only` as a newcomer runs it (`npm start` is the same with the
// tour and then keeps serving): the ready line names the RPC, the contracts and the nodes, the
// tour's three steps happen on the chain, and every process it started is gone afterwards.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startDevnetProcess } from '../support/devnetProcess.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('verinfer devnet', { timeout: 420_000 }, () => {
  it('starts, plays the tour (honest task, batch, cheater slashed), and stops everything', async () => {
    const devnet = await startDevnetProcess(['--tour-only']);
    try {
      const { ready } = devnet;
      assert.match(ready.rpcUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(Object.keys(ready.contracts).length, 7);
      assert.deepEqual(
        ready.nodes.map((n) => n.role),
        ['worker', 'worker', 'worker', 'verifier', 'verifier'],
      );
      assert.equal(ready.nodes.filter((n) => n.cheater).length, 1);
      assert.equal(new Set(ready.nodes.map((n) => n.pid)).size, 5, 'each node is its own process');
      const step = (name: string) => devnet.waitFor((e) => e.event === 'tour' && e.step === name, 360_000);
      const honest = await step('honest');
      assert.equal(honest.label, '2', 'digit-2.png is read as a 2, verified on chain');
      const batch = await step('batch');
      assert.equal(batch.results, 16);
      const cheater = await step('cheater');
      assert.equal(
        String(cheater.worker).toLowerCase(),
        ready.nodes.find((n) => n.cheater)!.address.toLowerCase(),
        'the convicted worker is the cheater',
      );
      await devnet.waitFor((e) => e.event === 'stopped', 60_000);
      await new Promise((r) => setTimeout(r, 500));
      for (const n of ready.nodes) assert.equal(alive(n.pid), false, `${n.name} was stopped`);
    } finally {
      await devnet.stop();
    }
  });
});
