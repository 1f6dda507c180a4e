// Properties of the economics simulator: a seed fixes the run; the honest worker's expected value
// matches its closed form F − c − gas − p·a·r·F (a: the share of audits that attest) within a
// sampling error computed from the run; the ledger conserves value; the expired-seed rule decides
// whether a cheater can re-roll its audits away.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditShares } from '../../src/economics/analysis.ts';
import { DEFAULT_ECONOMICS, type EconomicParams, gasWei } from '../../src/economics/params.ts';
import {
  DEFAULT_POPULATION,
  HONEST_POPULATION,
  HONEST_WORKER,
  type Population,
} from '../../src/economics/population.ts';
import { buildReport } from '../../src/economics/report.ts';
import { TODAY_RULES } from '../../src/economics/rules.ts';
import { type SimResult, simulate } from '../../src/economics/simulate.ts';

const ETH = 1e18;
const eth = (wei: bigint) => Number(wei) / ETH;

test('the same seed gives the same run, to the wei; another seed another run', () => {
  for (const rules of [DEFAULT_ECONOMICS.rules, TODAY_RULES]) {
    const p = { ...DEFAULT_ECONOMICS, rules, watchShare: 0.02 };
    const a = simulate(p, DEFAULT_POPULATION, { tasks: 20_000, seed: 5 });
    const b = simulate(p, DEFAULT_POPULATION, { tasks: 20_000, seed: 5 });
    const c = simulate(p, DEFAULT_POPULATION, { tasks: 20_000, seed: 6 });
    const key = (r: SimResult) =>
      r.strategies.map((s) => `${s.name}:${s.count}:${s.net}:${s.caught}`).join('|');
    assert.equal(key(a), key(b));
    assert.deepEqual(buildReport(p, a), buildReport(p, b));
    assert.notEqual(key(a), key(c));
  }
});

test('value is conserved: Σ deposits = Σ holdings + burnt once every task is settled', () => {
  for (const rules of [DEFAULT_ECONOMICS.rules, TODAY_RULES]) {
    const r = simulate({ ...DEFAULT_ECONOMICS, rules, watchShare: 0.05 }, DEFAULT_POPULATION, {
      tasks: 20_000,
      seed: 9,
    });
    const L = r.ledger;
    let netAll = 0n;
    for (let id = 0; id < L.stake.length; id++) {
      netAll += L.net(id);
      assert.equal(L.locked[id], 0n, 'nothing stays locked');
    }
    assert.equal(-netAll, L.burnt);
    assert.ok(L.games.every((g) => g.outcome !== null));
  }
});

/** Runs `pop` and checks the honest worker's mean against the closed form within 5 standard errors. */
function honestCheck(p: EconomicParams, pop: Readonly<Population>, attesting: number, tasks: number) {
  const r = simulate(p, pop, { tasks, seed: 11 });
  const s = r.strategies.find((x) => x.name === HONEST_WORKER)!;
  const F = eth(p.fee);
  const audit = p.task.auditBps / 10_000;
  const reward = p.task.auditRewardBps / 10_000;
  const analytic = F - eth(p.computeCost) - eth(gasWei(p, p.gas.workerTask)) - audit * attesting * reward * F;
  // Per task the honest worker nets a constant minus r·F when an audit attests: Bernoulli(p·a).
  const pa = audit * attesting;
  const sd = reward * F * Math.sqrt(pa * (1 - pa));
  const se = sd / Math.sqrt(s.count);
  const mean = eth(s.net) / s.count;
  assert.ok(Math.abs(mean - analytic) <= 5 * se, `honest EV ${mean} vs ${analytic} (5 SE = ${5 * se})`);
  const measuredSd = Math.sqrt(Math.max(0, s.sumSq / s.count - mean * mean));
  assert.ok(Math.abs(measuredSd - sd) < 0.1 * sd, `spread ${measuredSd} vs ${sd}`);
}

test('honest worker: EV = fee − cost − gas − p·r·fee when every auditor attests', () => {
  const p = { ...DEFAULT_ECONOMICS, task: { ...DEFAULT_ECONOMICS.task, auditBps: 1_000 } };
  honestCheck(p, HONEST_POPULATION, 1, 100_000);
});

test('honest worker among lazy and silent auditors: only the audits that attest cost it the reward', () => {
  // Everyone but the lazy and silent auditors attests an honest result (colluders do, for others).
  const shares = auditShares(DEFAULT_POPULATION, 0);
  honestCheck(DEFAULT_ECONOMICS, DEFAULT_POPULATION, shares.computing, 400_000);
});

test('a cheater that re-rolls expired seeds escapes audits under today’s rules, not under the planned ones', () => {
  const pop = {
    ...DEFAULT_POPULATION,
    workers: DEFAULT_POPULATION.workers.filter((w) => w.rerolls && !w.sybils),
  };
  const p = { ...DEFAULT_ECONOMICS, otherDrawer: 0, task: { ...DEFAULT_ECONOMICS.task, auditBps: 2_000 } };
  const today = simulate({ ...p, rules: TODAY_RULES }, pop, { tasks: 20_000, seed: 3 });
  const planned = simulate(p, pop, { tasks: 20_000, seed: 3 });
  assert.equal(
    today.strategies[0].caught,
    0,
    'nobody else draws: every selection of a cheat is re-rolled away',
  );
  assert.ok(today.rerolls > 0);
  const w1 = planned.strategies[0];
  // 20% of results are drawn; about half of the free auditor stake in this population recomputes.
  assert.ok(w1.caught / w1.cheats > 0.05, 'expiry makes the audit certain, so waiting does not help');
  assert.equal(planned.rerolls, 0);
});
