// The batch worker's book: proposals awaiting a signature, postings sent but not yet seen on
// chain, posted batches, and the requests taken, mirrored in its store (store.ts) where a restart
// needs them. Proposals are not saved: a proposal forgotten by a restart only makes the
// requester's signature call fail with `unknown-proposal`, and nothing of it is on chain.
import type { Hex } from 'viem';
import type { BatchHeaderArgs } from '../chain/bindings/types.ts';
import type { BatchItem } from './contents.ts';
import type { BatchWorkerStore } from './store.ts';

export interface Proposal {
  header: BatchHeaderArgs;
  items: BatchItem[];
  /** Positions whose committed trace is the cheat's, not the engine's. */
  cheated: Set<number>;
  /** requester:nonce of each request. */
  keys: string[];
}

export interface PostedState extends Proposal {
  batchId: bigint;
  done: boolean;
}

export interface WorkerBook {
  readonly pending: Map<Hex, Proposal>;
  readonly posted: Map<bigint, PostedState>;
  /** requester:nonce of every request proposed or posted: a request is never charged twice. */
  readonly taken: Set<string>;
  /** Saves a signed proposal as a posting, before postBatch is sent at head `fromBlock`. */
  posting(headerHash: Hex, proposal: Proposal, fromBlock: bigint): void;
  /** Binds a posting to its batch id (from the receipt or a scanned BatchPosted log, whichever comes first). */
  adopt(headerHash: Hex, batchId: bigint): void;
  /** Loads the postings and the taken requests from the store, once. */
  restore(): void;
  /** The earliest block at which an unseen posting's BatchPosted log could be, if there is one. */
  unseenFrom(): bigint | undefined;
  markDone(state: PostedState): void;
  /**
   * Drops proposals and unseen postings whose header deadline is before `now`. Call it for
   * postings only once the logs are scanned up to a block at `now` or later: a header past its
   * deadline whose BatchPosted log was not seen can then never land.
   */
  expire(now: bigint, postings: boolean): void;
  prune(now: bigint): void;
}

export function createWorkerBook(store?: BatchWorkerStore): WorkerBook {
  const pending = new Map<Hex, Proposal>();
  const unbound = new Map<Hex, Proposal & { fromBlock: bigint }>();
  const posted = new Map<bigint, PostedState>();
  const taken = new Set<string>();
  let restored = false;
  const release = (p: Proposal) => {
    for (const k of p.keys) taken.delete(k);
  };
  return {
    pending,
    posted,
    taken,
    posting(headerHash, p, fromBlock) {
      pending.delete(headerHash);
      unbound.set(headerHash, { ...p, fromBlock });
      let requestsDeadline = 0n;
      for (const x of p.items)
        if (x.request.request.deadline > requestsDeadline) requestsDeadline = x.request.request.deadline;
      store?.savePosting({
        headerHash,
        header: p.header,
        items: p.items,
        cheated: [...p.cheated],
        keys: p.keys,
        requestsDeadline,
        fromBlock,
      });
    },
    adopt(headerHash, batchId) {
      const u = unbound.get(headerHash);
      if (!u) return;
      unbound.delete(headerHash);
      store?.bindPosting(headerHash, batchId);
      const { fromBlock: _, ...p } = u;
      posted.set(batchId, { ...p, batchId, done: false });
    },
    restore() {
      if (!store || restored) return;
      restored = true;
      for (const k of store.takenKeys()) taken.add(k);
      for (const r of store.loadPostings()) {
        const p: Proposal = { header: r.header, items: r.items, cheated: new Set(r.cheated), keys: r.keys };
        if (r.batchId === undefined) unbound.set(r.headerHash, { ...p, fromBlock: r.fromBlock });
        else posted.set(r.batchId, { ...p, batchId: r.batchId, done: false });
      }
    },
    unseenFrom() {
      let from: bigint | undefined;
      for (const u of unbound.values()) if (from === undefined || u.fromBlock < from) from = u.fromBlock;
      return from;
    },
    markDone(state) {
      state.done = true;
      store?.markDone(state.batchId);
    },
    expire(now, postings) {
      for (const [key, p] of pending) {
        if (p.header.deadline >= now) continue;
        pending.delete(key);
        release(p);
      }
      if (!postings) return;
      for (const [key, p] of unbound) {
        if (p.header.deadline >= now) continue;
        unbound.delete(key);
        store?.dropPosting(key);
        release(p);
      }
    },
    prune(now) {
      store?.prune(now);
    },
  };
}
