import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import type { Address, Hex } from 'viem';
import type { BatchItem } from '../batch/contents.ts';
import type { PostingRecord } from '../batch/store.ts';
import type { BatchHeaderArgs } from '../chain/bindings/types.ts';
import { nodeBatchVerifierStore, nodeBatchWorkerStore } from './batchStore.ts';
import { NodeStore, SCHEMA_VERSION } from './store.ts';

const dir = mkdtempSync(join(tmpdir(), 'verinfer-batch-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const word = (b: number) => `0x${b.toString(16).padStart(2, '0').repeat(32)}` as Hex;
const requester = '0x1111111111111111111111111111111111111111' as Address;
const worker = '0x2222222222222222222222222222222222222222' as Address;
const feeToken = '0x0000000000000000000000000000000000000000' as Address;

function item(i: number, deadline: bigint): BatchItem {
  return {
    leaf: { requestHash: word(i), resultCommitment: word(i + 1), outputRoot: word(i + 2), fee: 10n ** 15n },
    request: {
      request: {
        requester,
        worker,
        modelRoot: word(0xaa),
        inputRoot: word(i + 3),
        feeToken,
        fee: 10n ** 15n,
        nonce: 2n ** 200n + BigInt(i),
        deadline,
      },
      signature: `0x${'ab'.repeat(65)}` as Hex,
      input: Uint8Array.from({ length: 64 + i }, (_, k) => (k * 7 + i) & 0xff),
    },
  };
}

function posting(tag: number, deadline: bigint, n = 3): PostingRecord {
  const items = Array.from({ length: n }, (_, i) => item(tag * 16 + i, deadline));
  const header: BatchHeaderArgs = {
    requester,
    worker,
    feeToken,
    root: word(tag),
    count: n,
    totalFee: 10n ** 15n * BigInt(n),
    nonce: 2n ** 255n + BigInt(tag),
    deadline: 1_000n,
  };
  return {
    headerHash: word(0x40 + tag),
    header,
    items,
    cheated: [1],
    keys: items.map((x) => `${requester}:${x.request.request.nonce}`),
    requestsDeadline: deadline,
    fromBlock: 30n + BigInt(tag),
  };
}

describe('batch stores on the node database', () => {
  it('keeps a posting from before postBatch to done, across a reopen, and prunes its inputs', () => {
    const path = join(dir, 'worker.db');
    let db = new NodeStore(path);
    let s = nodeBatchWorkerStore(db);
    assert.equal(s.cursor(), undefined);
    const a = posting(1, 5_000n);
    const b = posting(2, 2n ** 64n - 1n);
    s.savePosting(a);
    s.savePosting(b);
    s.savePosting({ ...a, items: [] }); // a second save of one header changes nothing
    s.bindPosting(a.headerHash, 7n);
    s.setCursor(123n);
    s.saveGame({ gameId: 2n ** 70n, batchId: 7n, index: 1 });
    db.close();

    // A restart (the process was killed): everything comes back, bigints and bytes exact.
    db = new NodeStore(path);
    s = nodeBatchWorkerStore(db);
    assert.equal(s.cursor(), 123n);
    const loaded = s.loadPostings();
    assert.deepEqual(loaded, [{ ...a, batchId: 7n }, b]);
    assert.deepEqual(s.loadGames(), [{ gameId: 2n ** 70n, batchId: 7n, index: 1 }]);
    assert.equal(nodeBatchVerifierStore(db).cursor(), undefined, 'each role has its own cursor');

    // Done: the inputs go at once, the request keys stay until every request's deadline passed.
    s.markDone(7n);
    s.endGame(2n ** 70n);
    assert.deepEqual(
      s.loadPostings().map((p) => p.headerHash),
      [b.headerHash],
    );
    const raw = db.prepare('SELECT items FROM batch_postings WHERE batch_id = ?').get('7') as {
      items: Uint8Array | null;
    };
    assert.equal(raw.items, null, 'the inputs of a finished batch are pruned');
    assert.deepEqual(s.takenKeys().sort(), [...a.keys, ...b.keys].sort());
    s.prune(4_999n);
    assert.equal(s.takenKeys().length, 6, 'a request not yet expired could still be posted again');
    s.prune(5_001n);
    assert.deepEqual(s.takenKeys().sort(), [...b.keys].sort());
    s.dropPosting(b.headerHash);
    assert.deepEqual(s.loadPostings(), []);
    assert.deepEqual(s.takenKeys(), []);
    assert.deepEqual(s.loadGames(), []);
    db.close();
  });

  it('keeps the verifier’s watched batches with a saved challenge, and its games', () => {
    const path = join(dir, 'verifier.db');
    let db = new NodeStore(path);
    let s = nodeBatchVerifierStore(db);
    const batch = { requester, worker, feeToken, root: word(9), count: 3 };
    const challengeItem = item(5, 9_000n);
    s.saveWatched({ batchId: 1n, batch, fromBlock: 40n, state: 'new' });
    s.saveWatched({ batchId: 2n, batch, fromBlock: 41n, state: 'demanded', queryId: 3n });
    s.saveWatched({
      batchId: 4n,
      batch,
      fromBlock: 42n,
      state: 'challenging',
      challenge: { index: 2, item: challengeItem, proof: [word(1), word(2)] },
    });
    s.saveGame({ gameId: 11n, batchId: 4n, index: 2, item: challengeItem });
    s.setCursor(50n);
    db.close();

    db = new NodeStore(path);
    s = nodeBatchVerifierStore(db);
    assert.equal(s.cursor(), 50n);
    assert.equal(nodeBatchWorkerStore(db).cursor(), undefined);
    assert.deepEqual(s.loadWatched(), [
      { batchId: 1n, batch, fromBlock: 40n, state: 'new' },
      { batchId: 2n, batch, fromBlock: 41n, state: 'demanded', queryId: 3n },
      {
        batchId: 4n,
        batch,
        fromBlock: 42n,
        state: 'challenging',
        challenge: { index: 2, item: challengeItem, proof: [word(1), word(2)] },
      },
    ]);
    assert.deepEqual(s.loadGames(), [{ gameId: 11n, batchId: 4n, index: 2, item: challengeItem }]);
    assert.deepEqual(nodeBatchWorkerStore(db).loadGames(), [], 'games are kept per role');
    s.dropWatched(4n);
    s.saveWatched({ batchId: 1n, batch, fromBlock: 40n, state: 'demanded', queryId: 8n });
    assert.deepEqual(
      s.loadWatched().map((w) => [w.batchId, w.state]),
      [
        [1n, 'demanded'],
        [2n, 'demanded'],
      ],
    );
    s.endGame(11n);
    assert.deepEqual(s.loadGames(), []);
    db.close();
  });

  it('migrates a version 1 database, keeping its jobs and cursor', () => {
    const path = join(dir, 'v1.db');
    const raw = new DatabaseSync(path);
    raw.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO meta VALUES ('schema_version', '1'), ('cursor', '77');
      CREATE TABLE jobs (
        kind TEXT NOT NULL, id TEXT NOT NULL, state TEXT NOT NULL, payload TEXT NOT NULL,
        done INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL, PRIMARY KEY (kind, id));
      CREATE INDEX jobs_open ON jobs (done, kind);
      CREATE TABLE trace_cache (
        key TEXT PRIMARY KEY, value BLOB NOT NULL, size INTEGER NOT NULL, used_at INTEGER NOT NULL);
      INSERT INTO jobs VALUES ('task', '0x01', 'posted', '{}', 0, 1);
    `);
    raw.close();
    const db = new NodeStore(path);
    assert.equal(db.getMeta('schema_version'), String(SCHEMA_VERSION));
    assert.equal(SCHEMA_VERSION, 2);
    assert.equal(db.cursor(), 77n);
    assert.equal(db.getJob('task', '0x01')?.state, 'posted');
    const s = nodeBatchWorkerStore(db);
    s.savePosting(posting(3, 10n));
    assert.equal(s.loadPostings().length, 1);
    db.close();
  });
});
