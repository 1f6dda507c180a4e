// Closed forms of the per-task expected values under the planned rules, used to search the
// parameter space quickly; the simulator checks the chosen point.
import { type EconomicParams, gasWei } from './params.ts';
import type { Population } from './population.ts';
import { sybilGames } from './simulate.ts';

const ETH = 1e18;
const eth = (wei: bigint) => Number(wei) / ETH;

/** Stake shares a worker sees when it is audited (stake-weighted selection, the worker excluded). */
export function auditShares(pop: Readonly<Population>, workerIndex: number) {
  const worker = pop.workers[workerIndex];
  let computing = 0n;
  let idle = 0n;
  let own = 0n;
  computing += pop.workerBond * BigInt(pop.workers.length - 1);
  for (const g of pop.auditors) {
    if (g.kind === 'honest') computing += g.stake * BigInt(g.count);
    else idle += g.stake * BigInt(g.count);
  }
  pop.workers.forEach((w, i) => {
    if (!w.colluders) return;
    const stake = w.colluders.stake * BigInt(w.colluders.count);
    if (i === workerIndex) own += stake;
    else computing += stake;
  });
  const total = Number(computing + idle + own);
  return { computing: Number(computing) / total, own: Number(own) / total, worker: worker.name };
}

export interface Closed {
  /** Per-cheat probability of a conviction. */
  q: number;
  uncaughtAfter100: number;
  /** EV of a cheating task (V = 0), in ETH, with sybil games if `sybils`. */
  cheatEv: number;
  /** Largest V for which cheating has negative EV. */
  vBound: number;
  honestEv: number;
  /** Verification compute per unit of inference compute when every auditor recomputes. */
  computeShareHonest: number;
  /** r·F − verification − attest gas: an auditor's margin for doing the work. */
  auditorMargin: number;
}

/**
 * `h`: share of the drawn auditor stake that recomputes (seen by the cheater), `own`: share that is
 * the cheater's own colluding auditor, `attesting`: share that attests an honest worker's result.
 */
export function closedForm(
  p: EconomicParams,
  h: number,
  own: number,
  attesting: number,
  sybils: boolean,
): Closed {
  const F = eth(p.fee);
  const pa = p.task.auditBps / 10_000;
  const r = p.task.auditRewardBps / 10_000;
  const beta = p.task.slashBeneficiaryBps / 10_000;
  const S = eth(p.task.workerStake);
  const gw = eth(gasWei(p, p.gas.workerTask));
  const w = p.watchShare;
  const q = 1 - (1 - pa * h) * (1 - w);
  const both = pa * h * w;
  const recovery = (m: number) => {
    if (!sybils) return 0;
    const k = sybilGames(p, m, (p.task.workerStake * BigInt(p.task.slashBeneficiaryBps)) / 10_000n);
    if (p.rules.conviction === 'firstTakesAll')
      return beta * S - eth(gasWei(p, p.gas.challenge + 2 * p.gas.disputeSide));
    return (beta * S * k) / (k + m) - k * eth(gasWei(p, p.gas.challenge + p.gas.endGame));
  };
  const ownCaught = pa * own * w * eth(p.task.auditStake) * (1 - beta);
  const cheatEv =
    (1 - q) * F -
    gw -
    pa * own * (1 - w) * eth(gasWei(p, p.gas.attest)) -
    q * S +
    (q - both) * recovery(1) +
    both * recovery(2) -
    ownCaught;
  const honestEv = F - eth(p.computeCost) - gw - pa * attesting * r * F;
  return {
    q,
    uncaughtAfter100: (1 - q) ** 100,
    cheatEv,
    vBound: -cheatEv / (1 - q),
    honestEv,
    computeShareHonest: pa + w,
    auditorMargin: r * F - eth(p.verifyCost) - eth(gasWei(p, p.gas.attest)),
  };
}

export interface Candidate {
  auditBps: number;
  auditRewardBps: number;
  workerStake: bigint;
  watchShare: number;
  /** The worst cheater's closed form (colluding auditor and sybils) and the plain cheater's. */
  worst: Closed;
  plain: Closed;
  /** What honest participants pay for verification per task: audit rewards and watchers' compute. */
  overhead: number;
}

export interface Targets {
  uncaught: number;
  computeShare: number;
  vBound: number;
}

/** Caught within 100 cheats at ≥ 1 − 10⁻³; ≤ 10% extra compute; cheating loses for V up to twice the fee. */
export const TARGETS: Readonly<Targets> = Object.freeze({ uncaught: 1e-3, computeShare: 0.1, vBound: 0.02 });

/**
 * Grid search over p, r, S_w and w. Feasible: the plain 1% cheater is caught within 100 cheats,
 * compute stays in budget when every auditor recomputes, every cheater's V bound reaches the
 * target, and an auditor keeps a margin of at least 10% of the verification cost. Sorted: no
 * reliance on watchers first, then the smaller stake, then the cheaper overhead for honest users.
 */
export function searchParams(
  base: EconomicParams,
  pop: Readonly<Population>,
  targets: Readonly<Targets> = TARGETS,
): { feasible: Candidate[]; tried: number } {
  const plainShares = auditShares(
    pop,
    pop.workers.findIndex((w) => !w.colluders && w.cheatRate > 0),
  );
  const worstIndex = pop.workers.findIndex((w) => w.colluders && w.sybils);
  const worstShares = auditShares(pop, Math.max(worstIndex, 0));
  const feasible: Candidate[] = [];
  let tried = 0;
  for (let bps = 300; bps <= 1500; bps += 100)
    for (const rBps of [4_500, 5_000, 6_000, 7_500])
      for (const stakeMilli of [500n, 1_000n, 1_500n, 2_000n, 2_500n, 3_000n, 4_000n, 5_000n])
        for (const w of [0, 0.01, 0.02, 0.03, 0.05]) {
          tried += 1;
          const p: EconomicParams = {
            ...base,
            watchShare: w,
            task: { ...base.task, auditBps: bps, auditRewardBps: rBps, workerStake: stakeMilli * 10n ** 15n },
          };
          const plain = closedForm(p, plainShares.computing, 0, plainShares.computing, false);
          const worst = closedForm(p, worstShares.computing, worstShares.own, plainShares.computing, true);
          const overhead =
            (bps / 10_000) * plainShares.computing * (rBps / 10_000) * eth(p.fee) + w * eth(p.verifyCost);
          if (plain.uncaughtAfter100 > targets.uncaught) continue;
          if (plain.computeShareHonest > targets.computeShare + 1e-12) continue;
          if (Math.min(plain.vBound, worst.vBound) < targets.vBound) continue;
          if (plain.auditorMargin < eth(p.verifyCost) / 10) continue;
          feasible.push({
            auditBps: bps,
            auditRewardBps: rBps,
            workerStake: p.task.workerStake,
            watchShare: w,
            worst,
            plain,
            overhead,
          });
        }
  // Cheapest for honest participants; then no reliance on watchers; then the smaller stake.
  feasible.sort(
    (a, b) => a.watchShare - b.watchShare || Number(a.workerStake - b.workerStake) || a.overhead - b.overhead,
  );
  return { feasible, tried };
}
