// npm run sim:economics [-- --json] [--tasks N] [--seed S] [--rules today|planned]
//   [--audit-bps B] [--reward-bps B] [--worker-stake ETH] [--watch W] [--gas-gwei G] [--search]
// Plays the tasks, prints the table (or one JSON object on stdout with --json); --search adds
// the closed-form parameter search.
import { parseArgs } from 'node:util';
import { parseEther, parseGwei } from 'viem';
import { auditShares, searchParams, TARGETS } from './analysis.ts';
import { DEFAULT_ECONOMICS, type EconomicParams } from './params.ts';
import { DEFAULT_POPULATION, HONEST_POPULATION } from './population.ts';
import { buildReport, tableOf } from './report.ts';
import { rulesByName } from './rules.ts';
import { simulate } from './simulate.ts';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    tasks: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '1' },
    rules: { type: 'string', default: 'planned' },
    'audit-bps': { type: 'string' },
    'reward-bps': { type: 'string' },
    'worker-stake': { type: 'string' },
    watch: { type: 'string' },
    'gas-gwei': { type: 'string' },
    search: { type: 'boolean', default: false },
  },
});

const base = DEFAULT_ECONOMICS;
const p: EconomicParams = {
  ...base,
  rules: rulesByName(args.rules!),
  watchShare: args.watch === undefined ? base.watchShare : Number(args.watch),
  gasPrice: args['gas-gwei'] === undefined ? base.gasPrice : parseGwei(args['gas-gwei']),
  task: {
    ...base.task,
    ...(args['audit-bps'] === undefined ? {} : { auditBps: Number(args['audit-bps']) }),
    ...(args['reward-bps'] === undefined ? {} : { auditRewardBps: Number(args['reward-bps']) }),
    ...(args['worker-stake'] === undefined ? {} : { workerStake: parseEther(args['worker-stake']) }),
  },
};
const tasks = Number(args.tasks);
const result = simulate(p, DEFAULT_POPULATION, { tasks, seed: Number(args.seed) });
const report = buildReport(p, result);
// The compute budget where it is tightest: every auditor recomputes.
const honestRun = simulate(p, HONEST_POPULATION, {
  tasks: Math.max(1, Math.floor(tasks / 10)),
  seed: Number(args.seed),
});
const verificationComputeShareAllHonest =
  Number(honestRun.verificationCompute) / Number(honestRun.inferenceCompute);

let search: Record<string, unknown> | undefined;
if (args.search) {
  const { feasible, tried } = searchParams(p, DEFAULT_POPULATION);
  search = {
    targets: TARGETS,
    tried,
    feasible: feasible.length,
    shares: DEFAULT_POPULATION.workers.map((_, i) => auditShares(DEFAULT_POPULATION, i)),
    best: feasible.slice(0, 5).map((c) => ({
      auditBps: c.auditBps,
      auditRewardBps: c.auditRewardBps,
      workerStakeEth: Number(c.workerStake) / 1e18,
      watchShare: c.watchShare,
      plain: c.plain,
      worst: c.worst,
      overheadEth: c.overhead,
    })),
  };
}

if (args.json) {
  const out = { ...report, verificationComputeShareAllHonest, ...(search ? { search } : {}) };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
} else {
  const t = p.task;
  process.stdout.write(
    `rules ${args.rules}: p = ${t.auditBps / 100}%, r = ${t.auditRewardBps / 100}%, S_w = ${Number(t.workerStake) / 1e18} ETH, ` +
      `w = ${p.watchShare}, gas ${Number(p.gasPrice) / 1e9} gwei\n\n${tableOf(report, p)}\n` +
      `verification compute when every auditor is honest: ${(verificationComputeShareAllHonest * 100).toFixed(2)}%\n`,
  );
  if (search) process.stdout.write(`\nsearch:\n${JSON.stringify(search, null, 2)}\n`);
}
