// The settlement rules that changed, as options: the previous contracts (`today`) and the rules
// the contracts now implement (`planned`). Everything else the simulator re-implements
// (src/economics/ledger.ts) follows the contracts as they are.

export interface Rules {
  /**
   * What happens to the other games on a task once one game convicts the worker.
   * - `firstTakesAll` (today): the convicting game's challenger gets the whole beneficiary share
   *   of every slash; games still open resolve moot (bond back, nothing else).
   * - `splitAmongWinners` (planned, TaskMarket now): games open at the conviction play on; the
   *   market escrows the beneficiary shares and, when the last of those games resolves, divides
   *   them equally among the won games (the remainder, < winners wei, is burnt); each winner
   *   collects its part with claimBounty.
   */
  conviction: 'firstTakesAll' | 'splitAmongWinners';
  /**
   * An audit seed whose block hash expired (older than 256 blocks).
   * - `rearm` (today): the draw re-arms on a later block, so whoever controls the timing of the
   *   draw can re-roll a selection it does not like.
   * - `certainAudit` (planned): the result is selected with certainty.
   */
  expiredSeed: 'rearm' | 'certainAudit';
  /**
   * How the auditor of a selected result is chosen among eligible agents (active, serving the
   * model, enough free stake, not the worker).
   * - `firstEligibleScan` (today): the first eligible agent from seed mod n, at most 64 examined.
   * - `stakeWeighted` (the registry now): sampled from the eligible set (at least the registry's
   *   auditThreshold free), each agent weighing its bonded stake + 1 wei, in (stake, id) order
   *   (AgentRegistry's VerifierIndex).
   */
  auditorSelection: 'firstEligibleScan' | 'stakeWeighted';
}

/** The rules of contracts/market/TaskMarket.sol and contracts/registry/AgentRegistry.sol today. */
export const TODAY_RULES: Readonly<Rules> = Object.freeze({
  conviction: 'firstTakesAll',
  expiredSeed: 'rearm',
  auditorSelection: 'stakeWeighted',
});

/** Before the registry sampled from the eligible set (kept to show what padding the list did). */
export const PADDABLE_RULES: Readonly<Rules> = Object.freeze({
  ...TODAY_RULES,
  auditorSelection: 'firstEligibleScan',
});

/** The announced changes. */
export const PLANNED_RULES: Readonly<Rules> = Object.freeze({
  conviction: 'splitAmongWinners',
  expiredSeed: 'certainAudit',
  auditorSelection: 'stakeWeighted',
});

export const DEFAULT_RULES: Readonly<Rules> = PLANNED_RULES;

export function rulesByName(name: string): Readonly<Rules> {
  if (name === 'today') return TODAY_RULES;
  if (name === 'planned') return PLANNED_RULES;
  throw new RangeError(`unknown rule set ${name} (today | planned)`);
}
