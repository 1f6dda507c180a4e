// What a batch worker and a batch verifier keep across a restart (the node implements both on its
// database: src/node/batchStore.ts). Without a store they keep everything in memory and a restart
// forgets the batches they must defend or the games they must win.
//
// Each method is one atomic write. The services order their writes so that a crash between any
// two of them is safe: state is written BEFORE the transaction that depends on it is sent (a
// posting before postBatch, a challenge before challengeResult), and a resumed service re-reads the
// chain to learn whether that transaction landed (the BatchPosted log of the header, its own
// ResultChallenged log) instead of sending it again.
import type { Hex } from 'viem';
import type { BatchHeaderArgs } from '../chain/bindings/types.ts';
import type { BatchItem, PostedBatch } from './contents.ts';

/**
 * A scan after a long downtime reads at most this many blocks per poll (providers cap the range of
 * eth_getLogs); the next polls read on from the cursor.
 */
export const MAX_SCAN_BLOCKS = 2_000n;

/** The blocks one scan reads from the cursor `next` (undefined when it is past the head). */
export function scanRange(next: bigint, head: bigint): { fromBlock: bigint; toBlock: bigint } | undefined {
  if (next > head) return undefined;
  const last = next + MAX_SCAN_BLOCKS - 1n;
  return { fromBlock: next, toBlock: last < head ? last : head };
}

/** A batch the worker is posting or has posted, keyed by its EIP-712 header hash. */
export interface PostingRecord {
  headerHash: Hex;
  header: BatchHeaderArgs;
  items: BatchItem[];
  /** Positions whose committed trace is the cheat's (tests and devnets). */
  cheated: number[];
  /** requester:nonce of every request: none is taken twice, even after a restart. */
  keys: string[];
  /** The latest request deadline: after it, no request of the batch could be posted again. */
  requestsDeadline: bigint;
  /** The head when it was saved: its BatchPosted log, if it landed, is in a later block. */
  fromBlock: bigint;
  /** Set once the BatchPosted log of this header is seen (or the receipt of postBatch). */
  batchId?: bigint;
}

/** A game the worker defends: the trace is recomputed from the posting's item `index`. */
export interface WorkerGameRecord {
  gameId: bigint;
  batchId: bigint;
  index: number;
}

export interface BatchWorkerStore {
  /** The next block to scan, or undefined on a fresh store. */
  cursor(): bigint | undefined;
  setCursor(next: bigint): void;
  /** Saved before postBatch is sent. */
  savePosting(record: PostingRecord): void;
  bindPosting(headerHash: Hex, batchId: bigint): void;
  /** The postings not yet done, bound or not, oldest first. */
  loadPostings(): PostingRecord[];
  /** The batch is settled on chain (finalized or convicted, no open game): its inputs are pruned. */
  markDone(batchId: bigint): void;
  /** A posting whose header expired without landing: it is deleted. */
  dropPosting(headerHash: Hex): void;
  /** requester:nonce of every request of every posting kept, done or not. */
  takenKeys(): string[];
  /** Deletes done postings whose every request deadline is before `now` (chain time). */
  prune(now: bigint): void;
  saveGame(record: WorkerGameRecord): void;
  endGame(gameId: bigint): void;
  loadGames(): WorkerGameRecord[];
}

/** A posted batch the verifier has seen and not finished checking. */
export interface WatchedRecord {
  batchId: bigint;
  batch: PostedBatch;
  /** The block of its BatchPosted log: its later logs are at or after it. */
  fromBlock: bigint;
  state: 'new' | 'demanded' | 'challenging';
  queryId?: bigint;
  /** For 'challenging': the wrong leaf, saved before challengeResult is sent. */
  challenge?: { index: number; item: BatchItem; proof: Hex[] };
}

/** A game the verifier plays as the challenger: the trace is recomputed from `item`. */
export interface VerifierGameRecord {
  gameId: bigint;
  batchId: bigint;
  index: number;
  item: BatchItem;
}

export interface BatchVerifierStore {
  cursor(): bigint | undefined;
  setCursor(next: bigint): void;
  saveWatched(record: WatchedRecord): void;
  /** The batch is checked (and its challenge, if any, is a saved game). */
  dropWatched(batchId: bigint): void;
  loadWatched(): WatchedRecord[];
  saveGame(record: VerifierGameRecord): void;
  endGame(gameId: bigint): void;
  loadGames(): VerifierGameRecord[];
}
