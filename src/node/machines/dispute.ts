// One dispute game, from either side. Each wake reads the game back from the chain
// (readGameView) and, when it is this party's turn, sends the one move its honest strategy
// computes from its own trace; the trace is recomputed from the model and the input (and, for a
// devnet cheater, the recorded corruption), so a restart resumes the game exactly where it stands.
//
//   state     event     -> next      what happens
//   playing   moved     -> playing   one move sent (or timeout() on a party whose clock ran out)
//             resolved  -> settling  the game's outcome is on chain
//   settling  settled   -> done      bounty (challenger) and game credits claimed
import type { Hex } from 'viem';
import { disputeGameAbi } from '../../chain/bindings/abis.ts';
import { fromHex } from '../../commit/keccak.ts';
import { MOVER } from '../../dispute/machine.ts';
import { type TraceProvider, traceProvider } from '../../dispute/party.ts';
import { honestChallenger, honestWorker, readGameView } from '../../dispute/play.ts';
import { sendTx, TxError } from '../chain.ts';
import { type NodeEnv, OUTCOME } from '../context.ts';
import { inputFromBytes, type RunVariant } from '../models.ts';
import type { Job } from '../store.ts';
import type { TransitionTable, WakeResult } from './machine.ts';

export type DisputeJobState = 'playing' | 'settling' | 'done';
export type DisputeJobEvent = 'moved' | 'resolved' | 'settled';

export const DISPUTE_TRANSITIONS: TransitionTable<DisputeJobState, DisputeJobEvent> = {
  playing: { moved: 'playing', resolved: 'settling' },
  settling: { settled: 'done' },
  done: {},
};

export interface DisputeJob {
  gameId: string;
  role: 'worker' | 'challenger';
  taskId: Hex;
  modelRoot: Hex;
  input: Hex;
  variant: RunVariant;
  /** IDisputeArena.Outcome once resolved. */
  outcome?: number;
  /** Devnet only: this party never moves (its clock runs out). */
  silent?: boolean;
}

/** Trace providers by game, built once per process (a restart rebuilds them from the job). */
export class TraceProviders {
  private readonly byGame = new Map<string, TraceProvider>();

  async get(env: NodeEnv, p: DisputeJob): Promise<TraceProvider> {
    const hit = this.byGame.get(p.gameId);
    if (hit) return hit;
    const model = env.models.get(p.modelRoot);
    if (!model) throw new Error(`model ${p.modelRoot} of game ${p.gameId} is not loaded`);
    const input = inputFromBytes(model, fromHex(p.input));
    const provider = traceProvider(model, input, await env.runs.trace(model, input, p.variant));
    this.byGame.set(p.gameId, provider);
    if (this.byGame.size > 32) this.byGame.delete(this.byGame.keys().next().value as string);
    return provider;
  }
}

export async function wakeDispute(
  env: NodeEnv,
  job: Job<DisputeJob>,
  providers: TraceProviders,
): Promise<WakeResult<DisputeJobEvent, DisputeJob> | undefined> {
  const p = job.payload;
  const gameId = BigInt(p.gameId);
  const dg = env.chain.v.disputeGame;
  const me = env.chain.account;
  if (job.state === 'playing') {
    const view = await readGameView(env.chain.v, env.chain.publicClient, gameId);
    if (view.state === 'resolved') {
      const outcome = Number(view.game.outcome);
      const won =
        (p.role === 'challenger' && outcome === OUTCOME.ChallengerWon) ||
        (p.role === 'worker' && outcome === OUTCOME.WorkerWon);
      env.metrics.inc(won ? 'disputes_won_total' : 'disputes_lost_total');
      env.log.info('dispute resolved', { gameId: p.gameId, role: p.role, outcome, won });
      return { event: 'resolved', payload: { ...p, outcome } };
    }
    if (p.silent) return undefined;
    const [, secondsLeft] = await dg.read.clockOf([gameId]);
    if (secondsLeft === 0n) {
      // Whoever let its clock run out loses; anyone may end the game.
      try {
        await sendTx(env.chain, env, 'timeout', () => dg.write.timeout([gameId]), { gameId: p.gameId });
        return { event: 'moved' };
      } catch (err) {
        if (!(err instanceof TxError)) throw err;
        return undefined;
      }
    }
    // In the step phase anyone may submit; elsewhere only the party whose clock runs moves.
    const anyone = view.state === 'awaitStep' || view.state === 'awaitPrefixStep';
    if (!anyone && MOVER[view.state] !== p.role) return undefined;
    const provider = await providers.get(env, p);
    const strategy = p.role === 'worker' ? honestWorker(provider) : honestChallenger(provider);
    const move = strategy.move(view);
    if (!move) return undefined;
    await sendTx(
      env.chain,
      env,
      `game.${move.fn}`,
      () =>
        env.chain.walletClient.writeContract({
          address: env.chain.addresses.disputeGame,
          abi: disputeGameAbi,
          functionName: move.fn,
          args: [gameId, ...move.args],
          // viem cannot narrow a union of function names to one argument list.
        } as never),
      { gameId: p.gameId, state: view.state },
    );
    env.metrics.inc('dispute_moves_total');
    return { event: 'moved' };
  }
  if (job.state === 'settling') {
    const tm = env.chain.v.taskMarket;
    if (p.role === 'challenger' && p.outcome === OUTCOME.ChallengerWon) {
      // The conviction escrow is split once every game open on the task has resolved.
      const pool = await tm.read.disputes([p.taskId]);
      if (pool.open > 0n) return undefined;
      if ((await tm.read.bountyWins([p.taskId, me])) > 0n)
        await sendTx(env.chain, env, 'claimBounty', () => tm.write.claimBounty([p.taskId]), {
          taskId: p.taskId,
        });
    }
    if ((await dg.read.credits([me])) > 0n)
      await sendTx(env.chain, env, 'game.claim', () => dg.write.claim([me]), { gameId: p.gameId });
    return { event: 'settled' };
  }
  return undefined;
}
