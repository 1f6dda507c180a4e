// A small local reputation book: each peer's score, what it did, and a ban list with expiry.
// Lying costs far more than being slow: a slow peer may be honest and overloaded, a peer whose bytes
// do not match their root is not. The book is bounded so that a flood of fresh PeerIds cannot grow it.

export type PeerOffence = 'wrong-data' | 'malformed' | 'oversized' | 'timeout' | 'closed' | 'bad-gossip';

export const OFFENCE_PENALTY: Readonly<Record<PeerOffence, number>> = {
  'wrong-data': 50,
  malformed: 25,
  oversized: 25,
  'bad-gossip': 10,
  timeout: 5,
  closed: 2,
};

export interface PeerRecord {
  score: number;
  offences: Partial<Record<PeerOffence, number>>;
  successes: number;
  bannedUntil?: number;
}

export interface PeerBookOptions {
  /** A peer is banned when its score falls to -banThreshold or below. */
  banThreshold?: number;
  banMs?: number;
  /** Good behaviour earns back at most this score. */
  maxScore?: number;
  maxPeers?: number;
  now?: () => number;
}

export interface PeerBook {
  record(peer: string, offence: PeerOffence): PeerRecord;
  success(peer: string): void;
  isBanned(peer: string): boolean;
  ban(peer: string, ms?: number): void;
  get(peer: string): PeerRecord | undefined;
  /** Counts of offences over every peer, for metrics. */
  totals(): Record<PeerOffence, number>;
}

export function createPeerBook(options: PeerBookOptions = {}): PeerBook {
  const banThreshold = options.banThreshold ?? 100;
  const banMs = options.banMs ?? 60 * 60 * 1000;
  const maxScore = options.maxScore ?? 20;
  const maxPeers = options.maxPeers ?? 10_000;
  const now = options.now ?? Date.now;
  const records = new Map<string, PeerRecord>();
  const totals: Record<PeerOffence, number> = {
    'wrong-data': 0,
    malformed: 0,
    oversized: 0,
    'bad-gossip': 0,
    timeout: 0,
    closed: 0,
  };

  const touch = (peer: string): PeerRecord => {
    let r = records.get(peer);
    if (r) {
      // Map order is insertion order; re-inserting keeps the most recently seen peers last.
      records.delete(peer);
    } else {
      r = { score: 0, offences: {}, successes: 0 };
      if (records.size >= maxPeers) evictOne();
    }
    records.set(peer, r);
    return r;
  };

  // Evicts the least recently seen peer that is not banned, so that bans survive a flood of new ids.
  const evictOne = () => {
    for (const [peer, r] of records) {
      if (!isBannedRecord(r)) {
        records.delete(peer);
        return;
      }
    }
    records.delete(records.keys().next().value!);
  };

  const isBannedRecord = (r: PeerRecord) => r.bannedUntil !== undefined && r.bannedUntil > now();

  return {
    record(peer, offence) {
      const r = touch(peer);
      r.offences[offence] = (r.offences[offence] ?? 0) + 1;
      r.score -= OFFENCE_PENALTY[offence];
      totals[offence] += 1;
      if (r.score <= -banThreshold) r.bannedUntil = now() + banMs;
      return r;
    },
    success(peer) {
      const r = touch(peer);
      r.successes += 1;
      r.score = Math.min(maxScore, r.score + 1);
    },
    isBanned(peer) {
      const r = records.get(peer);
      if (!r || r.bannedUntil === undefined) return false;
      if (isBannedRecord(r)) return true;
      // The ban has expired: the peer starts again just above the threshold, one offence from a new ban.
      r.bannedUntil = undefined;
      r.score = Math.max(r.score, -banThreshold + 1);
      return false;
    },
    ban(peer, ms = banMs) {
      touch(peer).bannedUntil = now() + ms;
    },
    get: (peer) => records.get(peer),
    totals: () => ({ ...totals }),
  };
}
