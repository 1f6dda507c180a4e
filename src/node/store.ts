// The node's database (node:sqlite): the sync cursor, the open jobs and a bounded trace cache.
// It holds only what the chain can confirm or what can be recomputed: a job row says what the
// node is doing and carries what it needs to resume (the task, the result, the inline input);
// every machine re-reads the chain before it acts, so a stale row can never cause a wrong send.
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { VerinferError } from '../errors/base.ts';

export class StoreError extends VerinferError {
  override name = 'StoreError' as const;
}

export const SCHEMA_VERSION = 2;

export type JobKind = 'task' | 'audit' | 'dispute';

export interface Job<P = unknown> {
  kind: JobKind;
  id: string;
  state: string;
  payload: P;
  /** Terminal jobs are kept (for health and restarts) but never woken. */
  done: boolean;
  updatedAt: number;
}

/** JSON that keeps bigints (as { "$n": "123" }) and byte arrays out of floating point. */
export function encodeJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? { $n: v.toString() } : v));
}

export function decodeJson<T>(text: string): T {
  return JSON.parse(text, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v) && typeof v.$n === 'string' && Object.keys(v).length === 1
      ? BigInt(v.$n)
      : v,
  ) as T;
}

export interface NodeStoreOptions {
  /** Upper bound of the trace cache in bytes (least recently used entries go first). */
  maxCacheBytes?: number;
  now?: () => number;
}

export class NodeStore {
  readonly path: string;
  private readonly db: DatabaseSync;
  private depth = 0;
  private readonly maxCacheBytes: number;
  private readonly now: () => number;

  constructor(path: string, options: NodeStoreOptions = {}) {
    this.path = path;
    this.maxCacheBytes = options.maxCacheBytes ?? 256 * 1024 * 1024;
    this.now = options.now ?? Date.now;
    try {
      this.db = new DatabaseSync(path);
    } catch (cause) {
      throw new StoreError(`Cannot open the node database "${path}". Check the "database" path.`, { cause });
    }
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;');
    this.migrate();
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as
      | { value: string }
      | undefined;
    const version = row ? Number(row.value) : 0;
    if (version > SCHEMA_VERSION)
      throw new StoreError(
        `The node database "${this.path}" has schema version ${version}; this build knows ${SCHEMA_VERSION}. Upgrade Verinfer or use another database.`,
      );
    if (version === SCHEMA_VERSION) return;
    // One step per version, all in one transaction: a database is at one version or the next.
    this.transaction(() => {
      if (version < 1)
        this.db.exec(`
          CREATE TABLE jobs (
            kind TEXT NOT NULL, id TEXT NOT NULL, state TEXT NOT NULL, payload TEXT NOT NULL,
            done INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL, PRIMARY KEY (kind, id));
          CREATE INDEX jobs_open ON jobs (done, kind);
          CREATE TABLE trace_cache (
            key TEXT PRIMARY KEY, value BLOB NOT NULL, size INTEGER NOT NULL, used_at INTEGER NOT NULL);
        `);
      if (version < 2)
        // Batch settlement (batchStore.ts): the worker's postings (items pruned once done) and
        // the games of both roles, and the verifier's unfinished batch checks.
        this.db.exec(`
          CREATE TABLE batch_postings (
            header_hash TEXT PRIMARY KEY, batch_id TEXT UNIQUE, payload TEXT NOT NULL, items BLOB,
            requests_deadline INTEGER NOT NULL, done INTEGER NOT NULL DEFAULT 0);
          CREATE TABLE batch_games (
            role TEXT NOT NULL, game_id TEXT NOT NULL, payload TEXT NOT NULL, item BLOB,
            PRIMARY KEY (role, game_id));
          CREATE TABLE batch_watched (batch_id TEXT PRIMARY KEY, payload TEXT NOT NULL, item BLOB);
        `);
      this.setMeta('schema_version', String(SCHEMA_VERSION));
    });
  }

  /** A statement on the node's own tables (batchStore.ts); run it inside transaction() when it is one of several writes. */
  prepare(sql: string): StatementSync {
    return this.db.prepare(sql);
  }

  /** Runs `fn` in one transaction (nested calls join the outer one); a throw rolls it all back. */
  transaction<T>(fn: () => T): T {
    if (this.depth > 0) return fn();
    this.db.exec('BEGIN IMMEDIATE');
    this.depth += 1;
    try {
      const out = fn();
      if (out instanceof Promise) throw new StoreError('A store transaction must be synchronous.');
      this.db.exec('COMMIT');
      return out;
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    } finally {
      this.depth -= 1;
    }
  }

  getMeta(key: string): string | undefined {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as
      | { value: string }
      | undefined;
    return row?.value;
  }

  setMeta(key: string, value: string): void {
    this.db
      .prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      )
      .run(key, value);
  }

  /**
   * Binds the database to one chain, deployment and account: a database synced for another would
   * make the node skip or replay the wrong logs.
   */
  bind(identity: { chainId: number; taskMarket: string; account: string }): void {
    const want = `${identity.chainId}:${identity.taskMarket.toLowerCase()}:${identity.account.toLowerCase()}`;
    const have = this.getMeta('identity');
    if (have === undefined) {
      this.transaction(() => this.setMeta('identity', want));
      return;
    }
    if (have !== want)
      throw new StoreError(
        `The node database "${this.path}" belongs to chain:market:account ${have}, not ${want}. Use a fresh "database" path for this node.`,
      );
  }

  /** The last block whose logs were fully processed, or undefined on a fresh database. */
  cursor(): bigint | undefined {
    const v = this.getMeta('cursor');
    return v === undefined ? undefined : BigInt(v);
  }

  setCursor(block: bigint): void {
    this.setMeta('cursor', block.toString());
  }

  getJob<P = unknown>(kind: JobKind, id: string): Job<P> | undefined {
    const row = this.db.prepare('SELECT * FROM jobs WHERE kind = ? AND id = ?').get(kind, id) as
      | JobRow
      | undefined;
    return row && jobOf<P>(row);
  }

  putJob(job: Omit<Job, 'updatedAt'>): void {
    this.db
      .prepare(
        `INSERT INTO jobs (kind, id, state, payload, done, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(kind, id) DO UPDATE SET state = excluded.state, payload = excluded.payload,
           done = excluded.done, updated_at = excluded.updated_at`,
      )
      .run(job.kind, job.id, job.state, encodeJson(job.payload), job.done ? 1 : 0, this.now());
  }

  /** Jobs that are not done, oldest first. */
  openJobs<P = unknown>(kind?: JobKind): Job<P>[] {
    const rows = (kind
      ? this.db.prepare('SELECT * FROM jobs WHERE done = 0 AND kind = ? ORDER BY rowid').all(kind)
      : this.db.prepare('SELECT * FROM jobs WHERE done = 0 ORDER BY rowid').all()) as unknown as JobRow[];
    return rows.map((r) => jobOf<P>(r));
  }

  countOpenJobs(): Record<JobKind, number> {
    const out: Record<JobKind, number> = { task: 0, audit: 0, dispute: 0 };
    const rows = this.db
      .prepare('SELECT kind, COUNT(*) AS n FROM jobs WHERE done = 0 GROUP BY kind')
      .all() as unknown as { kind: JobKind; n: number }[];
    for (const r of rows) out[r.kind] = Number(r.n);
    return out;
  }

  cacheGet(key: string): Uint8Array | undefined {
    const row = this.db.prepare('SELECT value FROM trace_cache WHERE key = ?').get(key) as
      | { value: Uint8Array }
      | undefined;
    if (!row) return undefined;
    this.db.prepare('UPDATE trace_cache SET used_at = ? WHERE key = ?').run(this.now(), key);
    return new Uint8Array(row.value);
  }

  /** Caches `value`, then evicts the least recently used entries beyond the byte bound. */
  cachePut(key: string, value: Uint8Array): void {
    if (value.length > this.maxCacheBytes) return;
    this.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO trace_cache (key, value, size, used_at) VALUES (?, ?, ?, ?)
           ON CONFLICT(key) DO UPDATE SET value = excluded.value, size = excluded.size, used_at = excluded.used_at`,
        )
        .run(key, value, value.length, this.now());
      let total = Number(
        (this.db.prepare('SELECT COALESCE(SUM(size), 0) AS s FROM trace_cache').get() as { s: number }).s,
      );
      const victims = this.db
        .prepare('SELECT key, size FROM trace_cache WHERE key != ? ORDER BY used_at, rowid')
        .all(key) as unknown as { key: string; size: number }[];
      for (const v of victims) {
        if (total <= this.maxCacheBytes) break;
        this.db.prepare('DELETE FROM trace_cache WHERE key = ?').run(v.key);
        total -= Number(v.size);
      }
    });
  }

  cacheBytes(): number {
    return Number(
      (this.db.prepare('SELECT COALESCE(SUM(size), 0) AS s FROM trace_cache').get() as { s: number }).s,
    );
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

interface JobRow {
  kind: JobKind;
  id: string;
  state: string;
  payload: string;
  done: number;
  updated_at: number;
}

function jobOf<P>(r: JobRow): Job<P> {
  return {
    kind: r.kind,
    id: r.id,
    state: r.state,
    payload: decodeJson<P>(r.payload),
    done: Number(r.done) === 1,
    updatedAt: Number(r.updated_at),
  };
}
