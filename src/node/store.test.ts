import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { decodeJson, encodeJson, NodeStore, SCHEMA_VERSION, StoreError } from './store.ts';

const dir = mkdtempSync(join(tmpdir(), 'verinfer-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('node store', () => {
  it('keeps the cursor and the jobs across a reopen', () => {
    const path = join(dir, 'a.db');
    const s = new NodeStore(path);
    assert.equal(s.cursor(), undefined);
    s.transaction(() => {
      s.setCursor(41n);
      s.putJob({
        kind: 'task',
        id: '0x01',
        state: 'open',
        done: false,
        payload: { fee: 10n ** 18n, deep: [1n] },
      });
      s.putJob({ kind: 'dispute', id: '7', state: 'done', done: true, payload: {} });
    });
    s.close();
    const t = new NodeStore(path);
    assert.equal(t.cursor(), 41n);
    const job = t.getJob<{ fee: bigint; deep: bigint[] }>('task', '0x01');
    assert.equal(job?.state, 'open');
    assert.equal(job?.payload.fee, 10n ** 18n);
    assert.deepEqual(job?.payload.deep, [1n]);
    assert.deepEqual(
      t.openJobs().map((j) => j.id),
      ['0x01'],
    );
    assert.deepEqual(t.countOpenJobs(), { task: 1, audit: 0, dispute: 0 });
    t.close();
  });

  it('rolls a transaction back whole', () => {
    const s = new NodeStore(join(dir, 'b.db'));
    s.transaction(() => s.setCursor(5n));
    assert.throws(() =>
      s.transaction(() => {
        s.setCursor(9n);
        s.putJob({ kind: 'audit', id: 'x', state: 'watching', done: false, payload: {} });
        throw new Error('crash in the middle');
      }),
    );
    assert.equal(s.cursor(), 5n);
    assert.equal(s.getJob('audit', 'x'), undefined);
    s.close();
  });

  it('refuses a database from a newer schema or bound to another chain or account', () => {
    const path = join(dir, 'c.db');
    const s = new NodeStore(path);
    s.bind({ chainId: 1, taskMarket: '0xAA', account: '0xBB' });
    s.bind({ chainId: 1, taskMarket: '0xaa', account: '0xbb' });
    assert.throws(() => s.bind({ chainId: 2, taskMarket: '0xaa', account: '0xbb' }), StoreError);
    s.close();
    const raw = new DatabaseSync(path);
    raw.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(String(SCHEMA_VERSION + 1));
    raw.close();
    assert.throws(() => new NodeStore(path), /schema version/);
  });

  it('bounds the trace cache, evicting the least recently used first', () => {
    let clock = 0;
    const s = new NodeStore(join(dir, 'd.db'), { maxCacheBytes: 100, now: () => ++clock });
    s.cachePut('a', new Uint8Array(40));
    s.cachePut('b', new Uint8Array(40));
    assert.ok(s.cacheGet('a'), 'a is used again');
    s.cachePut('c', new Uint8Array(40));
    assert.equal(s.cacheGet('b'), undefined, 'b was the least recently used');
    assert.ok(s.cacheGet('a') && s.cacheGet('c'));
    assert.ok(s.cacheBytes() <= 100);
    s.cachePut('huge', new Uint8Array(101));
    assert.equal(s.cacheGet('huge'), undefined, 'an entry above the bound is not cached');
    s.close();
  });

  it('encodes bigints in JSON without floating point', () => {
    const v = { a: 2n ** 200n, b: [1, '2', { c: 3n }] };
    assert.deepEqual(decodeJson(encodeJson(v)), v);
  });
});
