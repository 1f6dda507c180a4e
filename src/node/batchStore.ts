// The batch worker's and batch verifier's stores (src/batch/store.ts) on the node's database.
// Items (leaf, signed request, input) are kept as the binary records of the contents protocol
// (src/batch/wire.ts); everything else as bigint-safe JSON. A posting's items are pruned when its
// batch is done; its request keys stay until every request's deadline has passed.
import type { Address, Hex } from 'viem';
import type { BatchItem } from '../batch/contents.ts';
import { MAX_BATCH_INPUT_BYTES, MAX_BUNDLE_INPUT_BYTES } from '../batch/protocol.ts';
import type {
  BatchVerifierStore,
  BatchWorkerStore,
  PostingRecord,
  VerifierGameRecord,
  WatchedRecord,
  WorkerGameRecord,
} from '../batch/store.ts';
import { decodeContents, encodeContents } from '../batch/wire.ts';
import { decodeJson, encodeJson, type NodeStore } from './store.ts';

type Parties = { requester: Address; worker: Address; feeToken: Address };

/** SQLite integers are signed 64-bit; the pruning column saturates (a later deadline only keeps a row longer). */
const I64_MAX = (1n << 63n) - 1n;

function decodeItems(blob: Uint8Array, count: number, parties: Parties): BatchItem[] {
  // The database is this node's own, but its bounds are still the protocol's.
  return decodeContents(new Uint8Array(blob), count, parties, {
    maxInputBytes: MAX_BATCH_INPUT_BYTES,
    maxTotalInputBytes: MAX_BUNDLE_INPUT_BYTES,
  });
}

function cursorOf(store: NodeStore, role: string) {
  return {
    cursor(): bigint | undefined {
      const v = store.getMeta(`batch_cursor:${role}`);
      return v === undefined ? undefined : BigInt(v);
    },
    setCursor(next: bigint): void {
      store.transaction(() => store.setMeta(`batch_cursor:${role}`, next.toString()));
    },
  };
}

export function nodeBatchWorkerStore(store: NodeStore): BatchWorkerStore {
  type Payload = Omit<PostingRecord, 'headerHash' | 'items' | 'batchId'>;
  interface Row {
    header_hash: Hex;
    batch_id: string | null;
    payload: string;
    items: Uint8Array | null;
  }
  const games = gamesOf(store, 'worker');
  return {
    ...cursorOf(store, 'worker'),
    savePosting(r) {
      const payload: Payload = {
        header: r.header,
        cheated: r.cheated,
        keys: r.keys,
        requestsDeadline: r.requestsDeadline,
        fromBlock: r.fromBlock,
      };
      const deadline = r.requestsDeadline > I64_MAX ? I64_MAX : r.requestsDeadline;
      store.transaction(() =>
        store
          .prepare(
            `INSERT INTO batch_postings (header_hash, batch_id, payload, items, requests_deadline, done)
             VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT(header_hash) DO NOTHING`,
          )
          .run(
            r.headerHash.toLowerCase(),
            r.batchId?.toString() ?? null,
            encodeJson(payload),
            encodeContents(r.items),
            deadline,
          ),
      );
    },
    bindPosting(headerHash, batchId) {
      store.transaction(() =>
        store
          .prepare('UPDATE batch_postings SET batch_id = ? WHERE header_hash = ?')
          .run(batchId.toString(), headerHash.toLowerCase()),
      );
    },
    loadPostings() {
      const rows = store
        .prepare(
          'SELECT header_hash, batch_id, payload, items FROM batch_postings WHERE done = 0 ORDER BY rowid',
        )
        .all() as unknown as Row[];
      return rows.map((row) => {
        const p = decodeJson<Payload>(row.payload);
        return {
          headerHash: row.header_hash,
          header: p.header,
          cheated: p.cheated,
          keys: p.keys,
          requestsDeadline: p.requestsDeadline,
          fromBlock: p.fromBlock,
          items: row.items ? decodeItems(row.items, p.header.count, p.header) : [],
          ...(row.batch_id === null ? {} : { batchId: BigInt(row.batch_id) }),
        };
      });
    },
    markDone(batchId) {
      store.transaction(() =>
        store
          .prepare('UPDATE batch_postings SET done = 1, items = NULL WHERE batch_id = ?')
          .run(batchId.toString()),
      );
    },
    dropPosting(headerHash) {
      store.transaction(() =>
        store.prepare('DELETE FROM batch_postings WHERE header_hash = ?').run(headerHash.toLowerCase()),
      );
    },
    takenKeys() {
      const rows = store.prepare('SELECT payload FROM batch_postings').all() as unknown as {
        payload: string;
      }[];
      return rows.flatMap((r) => decodeJson<Payload>(r.payload).keys);
    },
    prune(now) {
      store.transaction(() =>
        store
          .prepare('DELETE FROM batch_postings WHERE done = 1 AND requests_deadline < ?')
          .run(now > I64_MAX ? I64_MAX : now),
      );
    },
    saveGame: (r: WorkerGameRecord) => games.save(r.gameId, { batchId: r.batchId, index: r.index }),
    endGame: (gameId) => games.end(gameId),
    loadGames: () =>
      games.load<{ batchId: bigint; index: number }>().map(({ gameId, payload }) => ({ gameId, ...payload })),
  };
}

function gamesOf(store: NodeStore, role: 'worker' | 'verifier') {
  return {
    save(gameId: bigint, payload: unknown, item?: Uint8Array) {
      store.transaction(() =>
        store
          .prepare(
            `INSERT INTO batch_games (role, game_id, payload, item) VALUES (?, ?, ?, ?)
             ON CONFLICT(role, game_id) DO UPDATE SET payload = excluded.payload, item = excluded.item`,
          )
          .run(role, gameId.toString(), encodeJson(payload), item ?? null),
      );
    },
    end(gameId: bigint) {
      store.transaction(() =>
        store.prepare('DELETE FROM batch_games WHERE role = ? AND game_id = ?').run(role, gameId.toString()),
      );
    },
    load<P>(): { gameId: bigint; payload: P; item: Uint8Array | null }[] {
      const rows = store
        .prepare('SELECT game_id, payload, item FROM batch_games WHERE role = ? ORDER BY rowid')
        .all(role) as unknown as { game_id: string; payload: string; item: Uint8Array | null }[];
      return rows.map((r) => ({
        gameId: BigInt(r.game_id),
        payload: decodeJson<P>(r.payload),
        item: r.item,
      }));
    },
  };
}

export function nodeBatchVerifierStore(store: NodeStore): BatchVerifierStore {
  type WatchedPayload = Omit<WatchedRecord, 'challenge'> & {
    challenge?: { index: number; proof: Hex[] };
  };
  type GamePayload = Omit<VerifierGameRecord, 'gameId' | 'item'> & { parties: Parties };
  const games = gamesOf(store, 'verifier');
  return {
    ...cursorOf(store, 'verifier'),
    saveWatched(r) {
      const { challenge, ...rest } = r;
      const payload: WatchedPayload = {
        ...rest,
        ...(challenge ? { challenge: { index: challenge.index, proof: challenge.proof } } : {}),
      };
      store.transaction(() =>
        store
          .prepare(
            `INSERT INTO batch_watched (batch_id, payload, item) VALUES (?, ?, ?)
             ON CONFLICT(batch_id) DO UPDATE SET payload = excluded.payload, item = excluded.item`,
          )
          .run(
            r.batchId.toString(),
            encodeJson(payload),
            challenge ? encodeContents([challenge.item]) : null,
          ),
      );
    },
    dropWatched(batchId) {
      store.transaction(() =>
        store.prepare('DELETE FROM batch_watched WHERE batch_id = ?').run(batchId.toString()),
      );
    },
    loadWatched() {
      const rows = store
        .prepare('SELECT payload, item FROM batch_watched ORDER BY rowid')
        .all() as unknown as {
        payload: string;
        item: Uint8Array | null;
      }[];
      return rows.map((row) => {
        const { challenge, ...rest } = decodeJson<WatchedPayload>(row.payload);
        if (!challenge || !row.item) return rest;
        const [item] = decodeItems(row.item, 1, rest.batch);
        return { ...rest, challenge: { ...challenge, item } };
      });
    },
    saveGame(r) {
      const { gameId, item, ...rest } = r;
      const payload: GamePayload = { ...rest, parties: partiesOf(item) };
      games.save(gameId, payload, encodeContents([item]));
    },
    endGame: (gameId) => games.end(gameId),
    loadGames: () =>
      games.load<GamePayload>().map(({ gameId, payload, item }) => {
        const { parties, ...rest } = payload;
        return { gameId, ...rest, item: decodeItems(item!, 1, parties)[0] };
      }),
  };
}

/** The parties a request's record leaves out (they travel once per batch). */
function partiesOf(item: BatchItem): Parties {
  const { requester, worker, feeToken } = item.request.request;
  return { requester, worker, feeToken };
}
