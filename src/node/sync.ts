// The one sync path: from the cursor to the chain head, in bounded block ranges, read the task
// market's and the game's logs, decode them, hand them to the services, and advance the cursor
// in the same database transaction as the services' job updates. A crash between two ranges
// replays at most one range, and the services' ingest is idempotent (jobs are keyed by ID).
import { type Abi, type Address, type Hex, parseEventLogs } from 'viem';
import { abis } from '../chain/deployVerinfer.ts';
import type { NodeChain } from './chain.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';
import type { NodeStore } from './store.ts';

/** A decoded log of the task market or the dispute game. */
export interface ChainEvent {
  contract: 'taskMarket' | 'disputeGame';
  eventName: string;
  args: Record<string, unknown>;
  blockNumber: bigint;
  logIndex: number;
  transactionHash: Hex;
}

/** What a service does with a block range's events; runs inside the cursor's transaction. */
export interface EventSink {
  ingest(events: readonly ChainEvent[]): void;
}

export interface SyncOptions {
  chain: NodeChain;
  store: NodeStore;
  log: Logger;
  metrics: Metrics;
  sinks: readonly EventSink[];
  /** The first block to read on a fresh database. */
  fromBlock?: bigint;
  /** At most this many blocks per eth_getLogs (many providers cap the range). */
  maxBlockRange?: number;
  retry?: RetryOptions;
}

export interface RetryOptions {
  /** Tries in all; a function picks them by the error (e.g. more for a dropped connection). */
  attempts?: number | ((err: unknown) => number);
  baseDelayMs?: number;
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Stops retrying early (a stopping node). */
  aborted?: () => boolean;
}

export class SyncAbortedError extends Error {
  override readonly name = 'SyncAbortedError';
}

/** Calls `fn`, retrying failures with exponential backoff; each failure counts as an RPC error. */
export async function withRetry<T>(
  fn: () => Promise<T>,
  what: string,
  deps: { log: Logger; metrics: Metrics },
  options: RetryOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 6;
  const base = options.baseDelayMs ?? 250;
  const max = options.maxDelayMs ?? 15_000;
  const sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      deps.metrics.inc('rpc_errors_total');
      const limit = typeof attempts === 'function' ? attempts(err) : attempts;
      if (i >= limit || options.aborted?.()) throw err;
      const delay = Math.min(max, base * 2 ** (i - 1));
      deps.log.warn(`rpc ${what} failed; retrying`, { attempt: i, delayMs: delay, error: err });
      await sleep(delay);
      if (options.aborted?.()) throw new SyncAbortedError(`${what} aborted`);
    }
  }
}

/** viem's names for a request that never got an answer (the provider, not the call, failed). */
const TRANSPORT_ERRORS = new Set([
  'HttpRequestError',
  'TimeoutError',
  'WebSocketRequestError',
  'SocketClosedError',
]);

/**
 * Whether `err` (or any error in its cause chain) is a transport failure: a dropped connection, a
 * timeout or an HTTP error status. Such a call may be retried; a revert or a bad argument may not.
 */
export function isTransportError(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 16; depth++) {
    if (TRANSPORT_ERRORS.has((e as { name?: string }).name ?? '')) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

export interface SyncResult {
  head: bigint;
  cursor: bigint;
  events: number;
}

export class LogSync {
  private readonly o: SyncOptions;
  private readonly range: bigint;

  constructor(options: SyncOptions) {
    this.o = options;
    this.range = BigInt(options.maxBlockRange ?? 500);
    if (this.range < 1n || this.range > 500n) throw new RangeError('maxBlockRange must be in [1, 500].');
  }

  /** The last processed block (fromBlock - 1 on a fresh database). */
  cursor(): bigint {
    return this.o.store.cursor() ?? (this.o.fromBlock ?? 0n) - 1n;
  }

  /** Catches up from the cursor to the current head. */
  async syncOnce(): Promise<SyncResult> {
    const { chain, store, metrics } = this.o;
    const head = await withRetry(
      () => chain.publicClient.getBlockNumber({ cacheTime: 0 }),
      'getBlockNumber',
      this.o,
      this.o.retry,
    );
    let cursor = this.cursor();
    let count = 0;
    metrics.set('sync_head_block', head);
    while (cursor < head) {
      const from = cursor + 1n;
      const to = head < from + this.range - 1n ? head : from + this.range - 1n;
      const events = await this.fetch(from, to);
      store.transaction(() => {
        for (const sink of this.o.sinks) sink.ingest(events);
        store.setCursor(to);
      });
      count += events.length;
      cursor = to;
      metrics.set('sync_cursor_block', cursor);
      metrics.set('sync_lag_blocks', head - cursor);
    }
    metrics.set('sync_cursor_block', cursor < 0n ? 0n : cursor);
    metrics.set('sync_lag_blocks', head > cursor ? head - cursor : 0n);
    return { head, cursor, events: count };
  }

  private async fetch(fromBlock: bigint, toBlock: bigint): Promise<ChainEvent[]> {
    const { chain } = this.o;
    const sources: ['taskMarket' | 'disputeGame', Address, Abi][] = [
      ['taskMarket', chain.addresses.taskMarket, abis.taskMarket as Abi],
      ['disputeGame', chain.addresses.disputeGame, abis.disputeGame as Abi],
    ];
    const raw = await withRetry(
      () => chain.publicClient.getLogs({ address: sources.map((s) => s[1]), fromBlock, toBlock }),
      `getLogs ${fromBlock}-${toBlock}`,
      this.o,
      this.o.retry,
    );
    const out: ChainEvent[] = [];
    for (const [contract, address, abi] of sources) {
      const mine = raw.filter((l) => l.address.toLowerCase() === address.toLowerCase());
      // Logs that do not decode (an unknown event) are skipped, never trusted.
      for (const log of parseEventLogs({ abi, logs: mine, strict: true })) {
        const l = log as unknown as {
          eventName: string;
          args: Record<string, unknown>;
          blockNumber: bigint;
          logIndex: number;
          transactionHash: Hex;
        };
        out.push({
          contract,
          eventName: l.eventName,
          args: l.args,
          blockNumber: l.blockNumber,
          logIndex: l.logIndex,
          transactionHash: l.transactionHash,
        });
      }
    }
    out.sort((a, b) =>
      a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1,
    );
    return out;
  }
}
