// The simulator's inputs: the contracts' parameters (DEFAULT_PARAMS) and the economic assumptions
// around them (fee, compute, gas, who watches), all in wei.
import { parseEther, parseGwei } from 'viem';
import { DEFAULT_PARAMS, type TaskMarketParams } from '../chain/bindings/types.ts';
import { DEFAULT_RULES, type Rules } from './rules.ts';

/** Gas of each action, from `npm run bench:gas` (docs/protocol.md, "Gas") and test/economics. */
export interface GasFigures {
  /** The requester's createTask. */
  create: number;
  /** The worker's take+post in one transaction and its finalize (measured before locks stopped re-keying the sampler; an upper bound now). */
  workerTask: number;
  attest: number;
  /** A reverted attestation with a guessed root. */
  failedAttest: number;
  slashSilent: number;
  /** challenge: opens a game with the bond. */
  challenge: number;
  /** timeout: ends a game (no game is moot). */
  endGame: number;
  /** One party's moves of a full dispute (bench fullDispute on the 94-op transformer, 1,995,311 in all, halved). */
  disputeSide: number;
}

export const BENCH_GAS: Readonly<GasFigures> = Object.freeze({
  create: 60_000,
  workerTask: 151_311,
  attest: 60_000,
  failedAttest: 40_000,
  slashSilent: 160_000,
  challenge: 350_000,
  endGame: 150_000,
  disputeSide: 997_656,
});

export interface EconomicParams {
  task: TaskMarketParams;
  minStake: bigint;
  gameWorkerShareBps: number;
  rules: Readonly<Rules>;
  /** Fee per task. */
  fee: bigint;
  /** Inference cost c of one task (compute, paid off chain). */
  computeCost: bigint;
  /** Cost of one verification (an audit or a watcher's re-execution): a re-run up to op opCount − 2. */
  verifyCost: bigint;
  gasPrice: bigint;
  gas: GasFigures;
  /** Share w of results that independent watchers re-execute. */
  watchShare: number;
  /** Probability that someone other than the worker draws the audit before the seed expires. */
  otherDrawer: number;
  /** Outside values V (what a cheater gains from a wrong output that finalizes). */
  values: bigint[];
}

export const DEFAULT_ECONOMICS: Readonly<EconomicParams> = Object.freeze({
  task: DEFAULT_PARAMS.task,
  minStake: DEFAULT_PARAMS.minStake,
  gameWorkerShareBps: DEFAULT_PARAMS.gameWorkerShareBps,
  rules: DEFAULT_RULES,
  fee: parseEther('0.01'),
  computeCost: parseEther('0.004'),
  verifyCost: parseEther('0.004'),
  gasPrice: parseGwei('2'),
  gas: BENCH_GAS,
  watchShare: 0,
  otherDrawer: 0.5,
  values: [0n, parseEther('0.01'), parseEther('0.1'), parseEther('1')],
});

export function withParams(
  base: Readonly<EconomicParams>,
  over: Partial<EconomicParams> & {
    taskOver?: Partial<TaskMarketParams>;
  },
): EconomicParams {
  const { taskOver, ...rest } = over;
  return { ...base, ...rest, task: { ...(rest.task ?? base.task), ...taskOver } };
}

export const gasWei = (p: EconomicParams, gas: number): bigint => BigInt(gas) * p.gasPrice;
