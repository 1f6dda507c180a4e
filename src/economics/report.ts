// The simulator's output: one object (strategies' expected values, the catch probability, the
// verification compute share, the parameters) and the same as a text table.
import { formatEther } from 'viem';
import type { EconomicParams } from './params.ts';
import type { SimResult, StrategyStats } from './simulate.ts';

const ETH = 1e18;

export interface StrategyReport {
  name: string;
  honest: boolean;
  /** ETH per task played (per audit assigned for auditors, per result checked for watchers). */
  evPerTask: number;
  /** Outside value of a finalized wrong output, ETH (cheating workers only). */
  v?: number;
  /** ETH per cheating task, and its standard error. */
  evPerCheat?: number;
  evPerCheatSE?: number;
  catchPerCheat?: number;
  count: number;
}

export interface Report {
  strategies: StrategyReport[];
  /** P(no conviction in the first 100 cheats) of a worker cheating on 1% of its results. */
  uncaughtAfter100Cheats: number;
  /** [low, high] of the same at ±2 standard errors of the per-cheat catch probability. */
  uncaughtAfter100CheatsRange: [number, number];
  /** Per-cheat catch probability of the plain cheaters (all rates pooled). */
  catchPerCheat: number;
  verificationComputeShare: number;
  tasks: number;
  params: Record<string, unknown>;
}

const mean = (s: StrategyStats) => Number(s.net) / ETH / s.count;

export function paramsOf(p: EconomicParams): Record<string, unknown> {
  return {
    rules: p.rules,
    auditProbability: p.task.auditBps / 10_000,
    auditRewardShare: p.task.auditRewardBps / 10_000,
    workerStakeEth: Number(formatEther(p.task.workerStake)),
    auditStakeEth: Number(formatEther(p.task.auditStake)),
    challengeBondEth: Number(formatEther(p.task.challengeBond)),
    slashBeneficiaryShare: p.task.slashBeneficiaryBps / 10_000,
    losingBondWorkerShare: p.gameWorkerShareBps / 10_000,
    minStakeEth: Number(formatEther(p.minStake)),
    feeEth: Number(formatEther(p.fee)),
    computeCostEth: Number(formatEther(p.computeCost)),
    verifyCostEth: Number(formatEther(p.verifyCost)),
    gasPriceGwei: Number(p.gasPrice) / 1e9,
    gas: p.gas,
    watchShare: p.watchShare,
    otherDrawer: p.otherDrawer,
  };
}

export function buildReport(p: EconomicParams, r: SimResult): Report {
  const strategies: StrategyReport[] = [];
  let cheats = 0;
  let caught = 0;
  for (const s of r.strategies) {
    if (s.count === 0 || s.role === 'keeper' || s.role === 'requester') continue;
    if (s.cheats === 0) {
      strategies.push({ name: s.name, honest: s.honest, evPerTask: mean(s), count: s.count });
      continue;
    }
    if (!s.tactics) {
      cheats += s.cheats;
      caught += s.caught;
    }
    const uncaught = s.cheats - s.caught;
    const perCheat = Number(s.cheatNet) / ETH / s.cheats;
    const variance = Math.max(0, s.cheatSumSq / s.cheats - perCheat * perCheat);
    for (const v of p.values) {
      const vEth = Number(v) / ETH;
      strategies.push({
        name: `${s.name}, V=${formatEther(v)}`,
        honest: false,
        v: vEth,
        evPerTask: mean(s) + (vEth * uncaught) / s.count,
        evPerCheat: perCheat + (vEth * uncaught) / s.cheats,
        evPerCheatSE: Math.sqrt(variance / s.cheats),
        catchPerCheat: s.caught / s.cheats,
        count: s.count,
      });
    }
  }
  const q = caught / cheats;
  const se = Math.sqrt((q * (1 - q)) / cheats);
  return {
    strategies,
    uncaughtAfter100Cheats: (1 - q) ** 100,
    uncaughtAfter100CheatsRange: [(1 - Math.min(1, q + 2 * se)) ** 100, (1 - Math.max(0, q - 2 * se)) ** 100],
    catchPerCheat: q,
    verificationComputeShare: Number(r.verificationCompute) / Number(r.inferenceCompute),
    tasks: r.tasks,
    params: paramsOf(p),
  };
}

const f = (x: number | undefined, digits = 5) =>
  x === undefined ? '' : (x >= 0 ? '+' : '') + x.toFixed(digits);

/** A Markdown table: one row per strategy, the cheaters' V levels as columns. */
export function tableOf(report: Report, p: EconomicParams): string {
  const values = p.values.map((v) => Number(v) / ETH);
  const head = [
    '| strategy | honest | EV per task (V=0) | catch per cheat |',
    ...values.map((v) => ` EV per cheat, V=${v} |`),
  ].join('');
  const sep = `| --- | --- | ---: | ---: |${values.map(() => ' ---: |').join('')}`;
  const rows: string[] = [];
  const seen = new Set<string>();
  for (const s of report.strategies) {
    const base = s.v === undefined ? s.name : s.name.slice(0, s.name.lastIndexOf(', V='));
    if (seen.has(base)) continue;
    seen.add(base);
    if (s.v === undefined) {
      rows.push(
        `| ${base} | ${s.honest ? 'yes' : 'no'} | ${f(s.evPerTask)} | |${values.map(() => ' |').join('')}`,
      );
      continue;
    }
    const levels = report.strategies.filter((x) => x.name.startsWith(`${base}, V=`));
    rows.push(
      `| ${base} | no | ${f(levels[0].evPerTask)} | ${(levels[0].catchPerCheat! * 100).toFixed(2)}% |` +
        levels.map((x) => ` ${f(x.evPerCheat)} ±${x.evPerCheatSE!.toFixed(4)} |`).join(''),
    );
  }
  const lo = report.uncaughtAfter100CheatsRange[0].toExponential(2);
  const hi = report.uncaughtAfter100CheatsRange[1].toExponential(2);
  return [
    head,
    sep,
    ...rows,
    '',
    `tasks: ${report.tasks.toLocaleString('en-US')}; auditors: per audit assigned; watchers: per result checked; ` +
      'cheaters: EV per task at V=0, then per cheating task (± 1 standard error).',
    `catch per cheat (plain cheaters pooled): ${(report.catchPerCheat * 100).toFixed(3)}%; ` +
      `P(uncaught after 100 cheats) = ${report.uncaughtAfter100Cheats.toExponential(2)} (±2 SE: ${lo} … ${hi})`,
    `verification compute / inference compute: ${(report.verificationComputeShare * 100).toFixed(2)}%`,
  ].join('\n');
}
