// Plays tasks through the ledger with a population of strategies and a seeded RNG; every agent's
// result is exact wei (ledger money minus compute and gas, plus V for the cheats that finalize).
import { Ledger } from './ledger.ts';
import { type EconomicParams, gasWei } from './params.ts';
import type { AuditorKind, Population, WorkerStrategy } from './population.ts';
import { Rng } from './rng.ts';

/** What one strategy (a role played by some agents) made over the run. */
export interface StrategyStats {
  name: string;
  role: 'worker' | 'auditor' | 'watcher' | 'keeper' | 'requester';
  honest: boolean;
  /** A worker strategy with sybils, colluders or re-rolls. */
  tactics: boolean;
  /** Tasks played (worker), audits assigned (auditor), results checked (watcher), tasks (others). */
  count: number;
  /** Σ net wei, without V. */
  net: bigint;
  /** Σ (net in ETH)² over `count`, for sampling errors. */
  sumSq: number;
  cheats: number;
  caught: number;
  /** Σ net wei over the cheating tasks only, and Σ (net in ETH)² over them. */
  cheatNet: bigint;
  cheatSumSq: number;
}

export interface SimResult {
  tasks: number;
  strategies: StrategyStats[];
  /** Σ c over all tasks: what honest inference of every task costs. */
  inferenceCompute: bigint;
  /** Σ verification cost actually spent (honest audits and watcher re-executions). */
  verificationCompute: bigint;
  audits: number;
  rerolls: number;
  ledger: Ledger;
}

export interface SimOptions {
  tasks: number;
  seed: number;
}

const REQUESTER = 0;
const KEEPER = 1;
const ETH = 1e18;
const MAX_SYBIL_GAMES = 254;

/** How many own games a caught cheater opens against `honest` honest ones (≥ 0). */
export function sybilGames(p: EconomicParams, honest: number, recoverable: bigint): number {
  if (p.rules.conviction === 'firstTakesAll') return 1;
  const perGame = gasWei(p, p.gas.challenge + p.gas.endGame);
  let best = 0;
  let bestValue = 0n;
  const m = BigInt(honest);
  for (let k = 1; k <= MAX_SYBIL_GAMES - honest; k++) {
    const value = (recoverable * BigInt(k)) / (BigInt(k) + m) - perGame * BigInt(k);
    if (value > bestValue) {
      best = k;
      bestValue = value;
    } else if (k > best + 8) break;
  }
  return best;
}

interface WorkerAgent {
  id: number;
  strategy: WorkerStrategy;
  stats: StrategyStats;
  sybilIds: number[];
}

export function simulate(p: EconomicParams, pop: Readonly<Population>, opts: SimOptions): SimResult {
  const rng = new Rng(opts.seed);
  const ledger = new Ledger({
    task: p.task,
    minStake: p.minStake,
    gameWorkerShareBps: p.gameWorkerShareBps,
    rules: p.rules,
  });
  const statsOf = (name: string, role: StrategyStats['role'], honest: boolean): StrategyStats => ({
    name,
    role,
    honest,
    tactics: false,
    count: 0,
    net: 0n,
    sumSq: 0,
    cheats: 0,
    caught: 0,
    cheatNet: 0n,
    cheatSumSq: 0,
  });
  const auditorStats: Record<AuditorKind, StrategyStats> = {
    honest: statsOf('auditor: honest (recompute, attest or challenge)', 'auditor', true),
    lazy: statsOf('auditor: lazy (attest without computing)', 'auditor', false),
    silent: statsOf('auditor: silent', 'auditor', false),
  };
  const watcherStats = statsOf('watcher (re-executes a share w)', 'watcher', true);
  const keeperStats = statsOf('keeper (slashes silent auditors)', 'keeper', true);
  const requesterStats = statsOf('requester', 'requester', true);

  let nextId = 2;
  const initialStake: bigint[] = [];
  const kindOf: (AuditorKind | null)[] = [];
  const partnerOf: (WorkerAgent | null)[] = [];
  const register = (stake: bigint, kind: AuditorKind | null, partner: WorkerAgent | null) => {
    const id = nextId++;
    ledger.register(id, stake);
    initialStake[id] = stake;
    kindOf[id] = kind;
    partnerOf[id] = partner;
    return id;
  };
  // Registration order interleaves the groups, as agents would join over time.
  const workers: WorkerAgent[] = pop.workers.map((s) => {
    const tactics = s.sybils || s.colluders !== null || s.rerolls;
    const stats = statsOf(s.name, 'worker', s.cheatRate === 0 && !tactics);
    stats.tactics = tactics;
    return { id: register(pop.workerBond, 'honest', null), strategy: s, stats, sybilIds: [] };
  });
  for (const g of pop.auditors) for (let i = 0; i < g.count; i++) register(g.stake, g.kind, null);
  for (const wk of workers) {
    const c = wk.strategy.colluders;
    if (c) for (let i = 0; i < c.count; i++) register(c.stake, null, wk);
  }
  const watchers = Array.from({ length: pop.watchers }, () => nextId++);

  const { task, fee } = p;
  const gas = (units: number) => gasWei(p, units);
  let inferenceCompute = 0n;
  let verificationCompute = 0n;
  let audits = 0;
  let rerolls = 0;

  // Per task: each involved agent's net before, and the bucket its change goes to.
  const involvedIds: number[] = [];
  const involvedBuckets: StrategyStats[] = [];
  const before: bigint[] = [];
  const offLedger = new Map<StrategyStats, bigint>();
  const involve = (id: number, bucket: StrategyStats) => {
    if (involvedIds.includes(id)) return;
    involvedIds.push(id);
    involvedBuckets.push(bucket);
    before.push(ledger.net(id));
  };
  const spend = (bucket: StrategyStats, wei: bigint) =>
    offLedger.set(bucket, (offLedger.get(bucket) ?? 0n) + wei);

  for (let n = 0; n < opts.tasks; n++) {
    const wk = workers[n % workers.length];
    const s = wk.strategy;
    const me = wk.stats;
    involvedIds.length = 0;
    involvedBuckets.length = 0;
    before.length = 0;
    offLedger.clear();
    involve(wk.id, me);
    involve(REQUESTER, requesterStats);
    involve(KEEPER, keeperStats);

    const t = ledger.createTask(REQUESTER, fee);
    spend(requesterStats, gas(p.gas.create));
    ledger.post(t, wk.id);
    spend(me, gas(p.gas.workerTask));
    const wrong = s.cheatRate >= 1 || (s.cheatRate > 0 && rng.chance(s.cheatRate));
    inferenceCompute += p.computeCost;
    if (!wrong) spend(me, p.computeCost);

    const watched = rng.chance(p.watchShare);
    const watcher = watched ? watchers[rng.int(watchers.length)] : -1;
    if (watched) {
      involve(watcher, watcherStats);
      watcherStats.count += 1;
      spend(watcherStats, p.verifyCost);
      verificationCompute += p.verifyCost;
    }

    // The audit draw. A re-rolling cheater that sees its wrong result selected waits for the seed
    // to expire, unless someone else draws first.
    for (let round = 0; ; round++) {
      const roll = rng.int(10_000);
      const selected = roll < task.auditBps;
      const reroll =
        p.rules.expiredSeed === 'rearm' &&
        s.rerolls &&
        wrong &&
        selected &&
        round < 1000 &&
        !rng.chance(p.otherDrawer);
      if (reroll) {
        ledger.drawAudit(t, roll, 0n, true);
        rerolls += 1;
        continue;
      }
      ledger.drawAudit(t, roll, selected ? rng.word() : 0n);
      break;
    }

    const honestChallengers: number[] = [];
    let auditorBucket: StrategyStats | null = null;
    if (t.audit === 'assigned') {
      audits += 1;
      const a = t.auditor;
      const partner = partnerOf[a];
      if (partner === wk) {
        // The worker's own auditor: attests with the leaked checkpoint root, computes nothing.
        involve(a, me);
        ledger.attest(t, a);
        spend(me, gas(p.gas.attest));
      } else {
        const kind = kindOf[a] ?? 'honest';
        auditorBucket = auditorStats[kind];
        auditorBucket.count += 1;
        involve(a, auditorBucket);
        if (kind === 'lazy') {
          spend(auditorBucket, gas(p.gas.failedAttest));
        } else if (kind === 'honest') {
          spend(auditorBucket, p.verifyCost);
          verificationCompute += p.verifyCost;
          if (wrong) honestChallengers.push(a);
          else {
            ledger.attest(t, a);
            spend(auditorBucket, gas(p.gas.attest));
          }
        }
      }
    }
    if (watched && wrong) honestChallengers.push(watcher);

    if (honestChallengers.length > 0) {
      const games: { index: number; sybil: boolean }[] = [];
      for (const c of honestChallengers) {
        games.push({ index: ledger.challenge(t, c), sybil: false });
        spend(c === watcher ? watcherStats : auditorBucket!, gas(p.gas.challenge + p.gas.endGame));
      }
      if (s.sybils) {
        const recoverable =
          (task.workerStake * BigInt(task.slashBeneficiaryBps)) / 10_000n +
          (t.audit === 'attested' ? (task.auditStake * BigInt(task.slashBeneficiaryBps)) / 10_000n : 0n);
        const k = sybilGames(p, honestChallengers.length, recoverable);
        for (let i = 0; i < k; i++) {
          if (wk.sybilIds.length <= i) wk.sybilIds.push(nextId++);
          const sybil = wk.sybilIds[i];
          involve(sybil, me);
          games.push({ index: ledger.challenge(t, sybil), sybil: true });
        }
        if (p.rules.conviction === 'firstTakesAll') {
          // The race: the worker plays its sybil's game to the end at once, both sides.
          spend(me, gas(p.gas.challenge + 2 * p.gas.disputeSide));
        } else {
          // The games play on, so the sybils' games may simply run out the worker's clock.
          spend(me, gas(k * (p.gas.challenge + p.gas.endGame)));
        }
      }
      // Order of the verdicts: a sybil's game first under the race, otherwise at random.
      // The caught worker concedes every game on its clock (it pays no moves).
      if (!(s.sybils && p.rules.conviction === 'firstTakesAll')) {
        for (let i = games.length - 1; i > 0; i--) {
          const j = rng.int(i + 1);
          [games[i], games[j]] = [games[j], games[i]];
        }
      } else {
        const first = games.findIndex((g) => g.sybil);
        [games[0], games[first]] = [games[first], games[0]];
      }
      for (const g of games) ledger.resolveGame(g.index, true);
    }

    if (t.status === 'posted') {
      if (t.audit === 'assigned') {
        ledger.slashSilentAuditor(t, KEEPER);
        spend(keeperStats, gas(p.gas.slashSilent));
      }
      ledger.finalize(t);
    }
    if (wrong) {
      me.cheats += 1;
      if (t.status === 'convicted') me.caught += 1;
    }

    // Stake back to its initial level, so the population stays the same.
    for (const id of involvedIds) {
      const target = initialStake[id];
      if (target !== undefined && ledger.stake[id] < target) ledger.addStake(id, target - ledger.stake[id]);
    }

    const delta = new Map<StrategyStats, bigint>();
    for (let i = 0; i < involvedIds.length; i++) {
      const b = involvedBuckets[i];
      delta.set(b, (delta.get(b) ?? 0n) + ledger.net(involvedIds[i]) - before[i]);
    }
    for (const [b, wei] of offLedger) delta.set(b, (delta.get(b) ?? 0n) - wei);
    for (const [b, wei] of delta) {
      b.net += wei;
      const x = Number(wei) / ETH;
      if (b === me && wrong) {
        me.cheatNet += wei;
        me.cheatSumSq += x * x;
      }
      if (b !== requesterStats && b !== keeperStats) b.sumSq += x * x;
    }
    me.count += 1;
    requesterStats.count += 1;
    keeperStats.count += 1;
  }

  return {
    tasks: opts.tasks,
    strategies: [
      ...workers.map((w) => w.stats),
      auditorStats.honest,
      auditorStats.lazy,
      auditorStats.silent,
      watcherStats,
      keeperStats,
      requesterStats,
    ],
    inferenceCompute,
    verificationCompute,
    audits,
    rerolls,
    ledger,
  };
}
