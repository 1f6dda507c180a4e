// Who plays: worker strategies (honest and several kinds of cheater), auditors (honest, lazy,
// silent, and the cheaters' own colluding auditors) and independent watchers.
import { parseEther } from 'viem';

export interface WorkerStrategy {
  name: string;
  /** Share of its results that are wrong (the compute skipped). */
  cheatRate: number;
  /** When an honest party challenges a wrong result, open the worker's own challenges and lose them. */
  sybils: boolean;
  /** Auditor agents the worker controls: they attest its results with the leaked checkpoint root. */
  colluders: { count: number; stake: bigint } | null;
  /** Let a seed that selects a wrong result expire when nobody else draws in time (re-roll). */
  rerolls: boolean;
}

export type AuditorKind = 'honest' | 'lazy' | 'silent';

export interface AuditorGroup {
  /** honest: recompute, attest a right result, challenge a wrong one; lazy: try to attest without
   * computing (a guessed root reverts) and get slashed; silent: do nothing and get slashed. */
  kind: AuditorKind;
  count: number;
  stake: bigint;
}

export interface Population {
  workers: WorkerStrategy[];
  /** Bonded stake of each worker agent (it also audits others' results, honestly, when drawn). */
  workerBond: bigint;
  auditors: AuditorGroup[];
  watchers: number;
}

const plain = (name: string, cheatRate: number): WorkerStrategy => ({
  name,
  cheatRate,
  sybils: false,
  colluders: null,
  rerolls: false,
});

export const HONEST_WORKER = 'honest worker';

/**
 * The default population: 220 ETH of verifier stake, of which the 8 workers hold 80 ETH (they audit
 * others' results honestly), honest auditors 60, lazy and silent auditors 60, and the two colluding
 * cheaters 10 ETH each. Seen from a plain cheater, 150 of the 210 ETH it may draw recompute
 * (h = 0.714); seen from a colluding one, 140 (h = 2/3, as the doc's estimate). Lazy and silent
 * agents top their stake back up after every slash, so they never leave (pessimistic: they lose
 * 0.2 ETH per audit and would not last).
 */
export const DEFAULT_POPULATION: Readonly<Population> = Object.freeze<Population>({
  workers: [
    plain(HONEST_WORKER, 0),
    plain('cheat 1%', 0.01),
    plain('cheat 10%', 0.1),
    plain('cheat 100%', 1),
    { ...plain('cheat 10% + sybil challengers', 0.1), sybils: true },
    { ...plain('cheat 10% + colluding auditor', 0.1), colluders: { count: 1, stake: parseEther('10') } },
    { ...plain('cheat 10% + re-roll expired seeds', 0.1), rerolls: true },
    {
      ...plain('cheat 1%, all tactics (10 sybil auditors of 1 ETH)', 0.01),
      sybils: true,
      rerolls: true,
      colluders: { count: 10, stake: parseEther('1') },
    },
  ],
  workerBond: parseEther('10'),
  auditors: [
    { kind: 'honest', count: 6, stake: parseEther('10') },
    { kind: 'lazy', count: 3, stake: parseEther('10') },
    { kind: 'silent', count: 3, stake: parseEther('10') },
  ],
  watchers: 2,
});

/** Only honest agents: the steady state the compute budget is measured in. */
export const HONEST_POPULATION: Readonly<Population> = Object.freeze<Population>({
  workers: [plain(HONEST_WORKER, 0)],
  workerBond: parseEther('10'),
  auditors: [{ kind: 'honest', count: 8, stake: parseEther('10') }],
  watchers: 2,
});
