// What the services and the job machines share: the chain, the database, logs, metrics, the
// served models and their runs, and the head block the last sync saw.
import type { Hex } from 'viem';
import { encodePacked, keccak256 } from 'viem';
import type { NodeChain } from './chain.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';
import type { ModelSet, RunCache } from './models.ts';
import type { NodeStore } from './store.ts';

export interface BlockHead {
  number: bigint;
  timestamp: bigint;
}

export interface NodeEnv {
  chain: NodeChain;
  store: NodeStore;
  log: Logger;
  metrics: Metrics;
  models: ModelSet;
  runs: RunCache;
  /** The latest block the node has synced to (its timestamp is the node's clock). */
  head(): BlockHead;
}

/** TaskMarket.Status. */
export const STATUS = {
  None: 0,
  Open: 1,
  Taken: 2,
  Posted: 3,
  Finalized: 4,
  Expired: 5,
  Convicted: 6,
} as const;
/** TaskMarket.AuditState. */
export const AUDIT = {
  Undrawn: 0,
  Skipped: 1,
  Assigned: 2,
  Attested: 3,
  Challenged: 4,
  Silenced: 5,
  Closed: 6,
  AttestedUnpaid: 7,
} as const;
/** TaskState.flags bit: a game was opened on the task. */
export const DISPUTED = 2;
/** TaskState.flags bit: the audit was drawn. */
export const AUDIT_DRAWN = 4;
/** IDisputeArena.Outcome. */
export const OUTCOME = { None: 0, ChallengerWon: 1, WorkerWon: 2, Moot: 3 } as const;

export const sameAddress = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * A deterministic draw in basis points for (task, account): the same node makes the same choice
 * after a restart, and different nodes make independent ones.
 */
export function drawBps(taskId: Hex, account: Hex, salt: string): number {
  const h = keccak256(encodePacked(['bytes32', 'address', 'string'], [taskId, account, salt]));
  return Number(BigInt(h) % 10_000n);
}

/** A share in [0, 1] as basis points (config values; off the verified path). */
export const shareToBps = (share: number) => Math.round(share * 10_000);
