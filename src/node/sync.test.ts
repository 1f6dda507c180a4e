import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpRequestError } from 'viem';
import type { NodeChain } from './chain.ts';
import { TxError } from './chain.ts';
import { silentLogger } from './log.ts';
import { Metrics } from './metrics.ts';
import { NodeStore } from './store.ts';
import { type ChainEvent, isTransportError, LogSync, withRetry } from './sync.ts';

const A = '0x00000000000000000000000000000000000000a1';
const B = '0x00000000000000000000000000000000000000b2';

/** A chain whose getLogs records its ranges and fails on the calls listed in `failures`. */
function fakeChain(head: bigint, failures: Set<number> = new Set()) {
  const ranges: [bigint, bigint][] = [];
  let calls = 0;
  const chain = {
    addresses: { taskMarket: A, disputeGame: B },
    publicClient: {
      getBlockNumber: async () => head,
      getLogs: async ({ fromBlock, toBlock }: { fromBlock: bigint; toBlock: bigint }) => {
        calls += 1;
        if (failures.has(calls)) throw new Error(`rpc down (call ${calls})`);
        ranges.push([fromBlock, toBlock]);
        return [];
      },
    },
  } as unknown as NodeChain;
  return { chain, ranges };
}

const noSleep = { sleep: async () => {}, baseDelayMs: 1 };

describe('log sync', () => {
  it('reads from the cursor to the head in bounded ranges and advances the cursor', async () => {
    const { chain, ranges } = fakeChain(1_234n);
    const store = new NodeStore(':memory:');
    const seen: number[] = [];
    const sink = { ingest: (e: readonly ChainEvent[]) => void seen.push(e.length) };
    const metrics = new Metrics();
    const sync = new LogSync({
      chain,
      store,
      log: silentLogger(),
      metrics,
      sinks: [sink],
      fromBlock: 10n,
      maxBlockRange: 500,
      retry: noSleep,
    });
    const r = await sync.syncOnce();
    assert.equal(r.cursor, 1_234n);
    assert.deepEqual(ranges, [
      [10n, 509n],
      [510n, 1_009n],
      [1_010n, 1_234n],
    ]);
    assert.equal(seen.length, 3, 'each range is handed to the sinks');
    assert.equal(store.cursor(), 1_234n);
    assert.equal(metrics.get('sync_lag_blocks'), 0n);
    await sync.syncOnce();
    assert.equal(ranges.length, 3, 'nothing new to read');
    assert.throws(
      () => new LogSync({ chain, store, log: silentLogger(), metrics, sinks: [], maxBlockRange: 501 }),
      RangeError,
    );
  });

  it('retries failed RPC calls with backoff and counts them', async () => {
    const { chain, ranges } = fakeChain(99n, new Set([1, 2]));
    const store = new NodeStore(':memory:');
    const metrics = new Metrics();
    const delays: number[] = [];
    const sync = new LogSync({
      chain,
      store,
      log: silentLogger(),
      metrics,
      sinks: [],
      retry: { baseDelayMs: 100, sleep: async (ms) => void delays.push(ms) },
    });
    await sync.syncOnce();
    assert.deepEqual(delays, [100, 200]);
    assert.equal(metrics.get('rpc_errors_total'), 2n);
    assert.deepEqual(ranges, [[0n, 99n]]);
  });

  it('keeps the cursor at the last complete range when the RPC stays down', async () => {
    const { chain } = fakeChain(1_000n, new Set([2, 3, 4]));
    const store = new NodeStore(':memory:');
    const sync = new LogSync({
      chain,
      store,
      log: silentLogger(),
      metrics: new Metrics(),
      sinks: [],
      maxBlockRange: 500,
      retry: { ...noSleep, attempts: 3 },
    });
    await assert.rejects(sync.syncOnce(), /rpc down/);
    assert.equal(store.cursor(), 499n);
  });

  it('rolls the cursor back with the sinks when a sink throws', async () => {
    const { chain } = fakeChain(10n);
    const store = new NodeStore(':memory:');
    const sink = {
      ingest: () => {
        store.putJob({ kind: 'task', id: 'half', state: 'open', done: false, payload: {} });
        throw new Error('bad event');
      },
    };
    const sync = new LogSync({
      chain,
      store,
      log: silentLogger(),
      metrics: new Metrics(),
      sinks: [sink],
      retry: noSleep,
    });
    await assert.rejects(sync.syncOnce(), /bad event/);
    assert.equal(store.cursor(), undefined);
    assert.equal(store.getJob('task', 'half'), undefined);
  });

  it('withRetry gives up after its attempts', async () => {
    let n = 0;
    const deps = { log: silentLogger(), metrics: new Metrics() };
    await assert.rejects(
      withRetry(
        async () => {
          n += 1;
          throw new Error('no');
        },
        'x',
        deps,
        { ...noSleep, attempts: 4 },
      ),
      /no/,
    );
    assert.equal(n, 4);
  });

  it('withRetry retries dropped calls longer than failing ones when attempts depend on the error', async () => {
    const deps = { log: silentLogger(), metrics: new Metrics() };
    const dropped = new HttpRequestError({ url: 'http://127.0.0.1:1', details: 'fetch failed' });
    const attempts = (err: unknown) => (isTransportError(err) ? 5 : 1);
    let n = 0;
    const value = await withRetry(
      async () => {
        n += 1;
        // A lost answer of a sent transaction arrives wrapped, as sendTx wraps it.
        if (n < 5) throw new TxError('register', undefined, dropped);
        return 'up';
      },
      'x',
      deps,
      { ...noSleep, attempts },
    );
    assert.equal(value, 'up');
    assert.equal(n, 5);
    n = 0;
    await assert.rejects(
      withRetry(
        async () => {
          n += 1;
          throw new TxError('register', 'AgentRegistryStakeTooLow', undefined);
        },
        'x',
        deps,
        { ...noSleep, attempts },
      ),
      /AgentRegistryStakeTooLow/,
    );
    assert.equal(n, 1, 'a revert is not retried');
    assert.equal(deps.metrics.get('rpc_errors_total'), 5n);
  });

  it('isTransportError looks through causes and tells dropped calls from the rest', () => {
    const dropped = new HttpRequestError({ url: 'http://127.0.0.1:1', status: 503 });
    assert.ok(isTransportError(dropped));
    assert.ok(isTransportError(new Error('outer', { cause: new TxError('x', undefined, dropped) })));
    assert.ok(!isTransportError(new TxError('x', 'reverted', undefined)));
    assert.ok(!isTransportError(new Error('no')));
    assert.ok(!isTransportError(undefined));
  });
});
