// Choosing the auditor of a selected result, under both selection rules of src/economics/rules.ts.
import type { Rules } from './rules.ts';

/** An agent as the registry sees it when it picks a verifier. */
export interface Candidate {
  id: number;
  eligible: boolean;
  /** Bonded stake (locked part included): the sampler's key and weight. */
  stake: bigint;
  /** Registration order: the registry's agent id breaks ties of stake. */
  order: number;
}

/** AgentRegistry.MAX_SCAN. */
export const MAX_SCAN = 64;

/**
 * The auditor for `seed` (a 256-bit word), or -1 if none. `candidates` is the registry's agent
 * list in registration order; `eligible` already includes "not the worker" and, for
 * `stakeWeighted`, "at least the registry's auditThreshold free".
 */
export function selectAuditor(
  rule: Rules['auditorSelection'],
  seed: bigint,
  candidates: readonly Candidate[],
) {
  const n = candidates.length;
  if (n === 0) return -1;
  if (rule === 'firstEligibleScan') {
    const start = Number(seed % BigInt(n));
    const scan = Math.min(n, MAX_SCAN);
    for (let i = 0; i < scan; i++) {
      const c = candidates[(start + i) % n];
      if (c.eligible) return c.id;
    }
    return -1;
  }
  // AgentRegistry's VerifierIndex: the eligible agents in (bonded stake, id) order, each weighing
  // stake + 1 wei, and the unit seed mod total.
  const eligible = candidates
    .filter((c) => c.eligible)
    .sort((x, y) => (x.stake === y.stake ? x.order - y.order : x.stake < y.stake ? -1 : 1));
  let total = 0n;
  for (const c of eligible) total += c.stake + 1n;
  if (total === 0n) return -1;
  let u = seed % total;
  for (const c of eligible) {
    if (u < c.stake + 1n) return c.id;
    u -= c.stake + 1n;
  }
  return -1;
}
