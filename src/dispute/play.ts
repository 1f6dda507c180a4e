// Plays a dispute game on chain between two parties, each acting on its own trace. Each party
// moves when the game's state machine says it is its turn; at the step, the party whose own
// witness confirms its claim submits it. A party marked silent never moves (its clock runs out).
import type { Account, Chain, Hex, PublicClient, Transport, WalletClient } from 'viem';
import { decodeEventLog } from 'viem';
import { disputeGameAbi } from '../chain/bindings/abis.ts';
import type { VerinferDeployment } from '../chain/deployVerinfer.ts';
import { type DisputeState, MOVER, stateOfPhase, transition } from './machine.ts';
import {
  firstDisagreement,
  nameChunkArgs,
  nameElementArgs,
  nameOpArgs,
  revealChunkArgs,
  revealLeavesArgs,
  revealTraceArgs,
} from './moves.ts';
import { computeElementOnChain } from './onestep.ts';
import type { TraceProvider } from './party.ts';

type Wallet = WalletClient<Transport, Chain, Account>;

export interface Player {
  wallet: Wallet;
  trace: TraceProvider;
  /** Never moves: lets its clock run out. */
  silent?: boolean;
}

export interface PlayedMove {
  by: 'worker' | 'challenger';
  move: string;
  gasUsed: bigint;
}

export interface PlayResult {
  /** IDisputeArena.Outcome: 1 challenger won, 2 worker won, 3 moot. */
  outcome: number;
  moves: PlayedMove[];
  /** The state where the game stopped waiting (a silent party's turn), or 'resolved'. */
  state: DisputeState;
  totalGas: bigint;
}

interface Ctx {
  v: VerinferDeployment;
  client: PublicClient<Transport, Chain>;
  gameId: bigint;
}

/** Plays game `gameId` until it resolves or a silent party must move. */
export async function playDispute(
  v: VerinferDeployment,
  client: PublicClient<Transport, Chain>,
  gameId: bigint,
  worker: Player,
  challenger: Player,
): Promise<PlayResult> {
  const ctx: Ctx = { v, client, gameId };
  const moves: PlayedMove[] = [];
  const send = async (by: 'worker' | 'challenger', move: string, hash: Promise<Hex>) => {
    const receipt = await client.waitForTransactionReceipt({ hash: await hash });
    if (receipt.status !== 'success') throw new Error(`Move ${move} by the ${by} failed.`);
    moves.push({ by, move, gasUsed: receipt.gasUsed });
    return receipt;
  };
  const w = v.as(worker.wallet).disputeGame.write;
  const c = v.as(challenger.wallet).disputeGame.write;
  // Resume from the game's on-chain state (a game may have been played part way already).
  const g0 = await v.disputeGame.read.game([gameId]);
  let state = stateOfPhase(Number(g0.phase));
  let k = Number(g0.opIndex);
  let chunk = Number(g0.chunkIndex);
  let workerLeaves: Hex[] =
    state === 'awaitWorkerTrace' || state === 'awaitChallengerOp' ? [] : worker.trace.chunkLeaves(k);
  let workerChunk: Hex = BigInt(g0.workerLeaf) === 0n ? '0x' : revealChunkArgs(worker.trace, k, chunk);
  while (state !== 'resolved') {
    const mover = MOVER[state];
    if ((mover === 'worker' && worker.silent) || (mover === 'challenger' && challenger.silent)) break;
    // A mover whose clock has run out can no longer move: the game can only be timed out.
    const [, secondsLeft] = await v.disputeGame.read.clockOf([gameId]);
    if (secondsLeft === 0n) break;
    switch (state) {
      case 'awaitWorkerTrace':
        await send('worker', 'revealTrace', w.revealTrace([gameId, ...revealTraceArgs(worker.trace)]));
        state = transition(state, 'traceRevealed');
        break;
      case 'awaitChallengerOp': {
        // A challenger whose trace agrees with the worker's has no move: its clock will run out.
        if (firstDisagreement(worker.trace.opRoots, challenger.trace.opRoots) < 0)
          return finish(ctx, moves, state);
        const args = nameOpArgs(challenger.trace, worker.trace.opRoots);
        k = Number(args[2].index);
        await send('challenger', 'nameOp', c.nameOp([gameId, ...args]));
        state = transition(state, 'opNamed');
        break;
      }
      case 'awaitWorkerLeaves': {
        const args = revealLeavesArgs(worker.trace, k);
        workerLeaves = args[0];
        await send('worker', 'revealLeaves', w.revealLeaves([gameId, ...args]));
        state = transition(state, 'leavesRevealed');
        break;
      }
      case 'awaitChallengerChunk': {
        const args = nameChunkArgs(challenger.trace, k, workerLeaves);
        chunk = Number(args[3]);
        await send('challenger', 'nameChunk', c.nameChunk([gameId, ...args]));
        const absent = chunk >= workerLeaves.length;
        workerChunk = '0x';
        state = transition(state, absent ? 'chunkNamedWorkerAbsent' : 'chunkNamed');
        break;
      }
      case 'awaitWorkerChunk':
        workerChunk = revealChunkArgs(worker.trace, k, chunk);
        await send('worker', 'revealChunk', w.revealChunk([gameId, workerChunk]));
        state = transition(state, 'chunkRevealed');
        break;
      case 'awaitChallengerElement':
        await send(
          'challenger',
          'nameElement',
          c.nameElement([gameId, ...nameElementArgs(challenger.trace, k, chunk, workerChunk)]),
        );
        state = transition(state, 'elementNamed');
        break;
      case 'awaitStep': {
        const g = await v.disputeGame.read.game([gameId]);
        const element = Number(g.element);
        // The worker submits if its own witness confirms its byte; otherwise the challenger does.
        const mine = await tryStep(ctx, worker.trace, k, element);
        if (!worker.silent && mine && mine.value === Number(g.workerValue)) {
          await send('worker', 'submitStep', w.submitStep([gameId, mine.step]));
        } else if (!challenger.silent) {
          const theirs = await tryStep(ctx, challenger.trace, k, element);
          if (!theirs)
            throw new Error(`The challenger cannot build a valid step for op ${k} element ${element}.`);
          await send('challenger', 'submitStep', c.submitStep([gameId, theirs.step]));
        } else {
          return finish(ctx, moves, state);
        }
        state = transition(state, 'stepVerified');
        break;
      }
    }
  }
  return finish(ctx, moves, state);
}

async function tryStep(ctx: Ctx, trace: TraceProvider, k: number, element: number) {
  try {
    const step = trace.step(k, element);
    const { value } = await computeElementOnChain(ctx.client, ctx.v.addresses.verifier, step);
    return { step, value };
  } catch {
    return undefined;
  }
}

async function finish(ctx: Ctx, moves: PlayedMove[], state: DisputeState): Promise<PlayResult> {
  const g = await ctx.v.disputeGame.read.game([ctx.gameId]);
  return {
    outcome: Number(g.outcome),
    moves,
    state: state === 'resolved' ? stateOfPhase(Number(g.phase)) : state,
    totalGas: moves.reduce((s, m) => s + m.gasUsed, 0n),
  };
}

/** The game ID opened by a challenge transaction, from its GameOpened log. */
export function gameIdFromLogs(
  logs: readonly { data: Hex; topics: readonly Hex[]; address: Hex }[],
  game: Hex,
): bigint {
  for (const log of logs) {
    if (log.address.toLowerCase() !== game.toLowerCase()) continue;
    try {
      const ev = decodeEventLog({
        abi: disputeGameAbi,
        data: log.data,
        topics: log.topics as [Hex, ...Hex[]],
      });
      if (ev.eventName === 'GameOpened') return ev.args.gameId;
    } catch {
      // Another event of the game.
    }
  }
  throw new Error('The transaction opened no dispute game.');
}
