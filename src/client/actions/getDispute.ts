// The state of one dispute game: its phase as the off-chain state machine names it, the parties,
// their chess clocks and the outcome.
import type { Address, Hex } from 'viem';
import { readContract } from 'viem/actions';
import { abis } from '../../chain/bindings/systemAbis.ts';
import { type DisputeState, MOVER, stateOfPhase } from '../../dispute/machine.ts';
import type { VerinferBaseClient } from '../createVerinferClient.ts';
import { DisputeNotFoundError, type RpcUnreachableError } from '../errors.ts';
import { guard } from '../utils/guard.ts';

/** IDisputeArena.Outcome, by its on-chain number. */
export const DISPUTE_OUTCOMES = ['none', 'challengerWon', 'workerWon', 'moot'] as const;
export type DisputeOutcome = (typeof DISPUTE_OUTCOMES)[number];

export interface GetDisputeParameters {
  gameId: bigint;
}

export interface GetDisputeReturnType {
  gameId: bigint;
  phase: DisputeState;
  /** GameTypes.Phase as stored. */
  phaseCode: number;
  outcome: DisputeOutcome;
  /** The market that opened the game and its key for what is disputed (a task ID). */
  arena: Address;
  subject: Hex;
  worker: Address;
  challenger: Address;
  bond: bigint;
  modelRoot: Hex;
  inputRoot: Hex;
  outputRoot: Hex;
  opCount: number;
  /** The op the dissection narrowed down to, once named. */
  opIndex: number;
  clocks: {
    /** Whose clock runs (undefined once resolved). */
    mover?: 'worker' | 'challenger';
    /** The mover's seconds left now; whoever reaches 0 loses. */
    secondsLeft?: bigint;
    /** Each party's budget as of its last move (seconds). */
    worker: bigint;
    challenger: bigint;
    lastMoveAt: bigint;
  };
}

export type GetDisputeErrorType = DisputeNotFoundError | RpcUnreachableError;

export async function getDispute(
  client: VerinferBaseClient,
  { gameId }: GetDisputeParameters,
): Promise<GetDisputeReturnType> {
  const game = { address: client.verinfer.contracts.disputeGame, abi: abis.disputeGame } as const;
  const g = await guard('game', () =>
    readContract(client, { ...game, functionName: 'game', args: [gameId] }),
  );
  const phaseCode = Number(g.phase);
  if (phaseCode === 0) throw new DisputeNotFoundError({ gameId });
  const phase = stateOfPhase(phaseCode);
  let secondsLeft: bigint | undefined;
  if (phase !== 'resolved') {
    [, secondsLeft] = await guard('clockOf', () =>
      readContract(client, { ...game, functionName: 'clockOf', args: [gameId] }),
    );
  }
  return {
    gameId,
    phase,
    phaseCode,
    outcome: DISPUTE_OUTCOMES[Number(g.outcome)] ?? 'none',
    arena: g.arena,
    subject: g.subject,
    worker: g.worker,
    challenger: g.challenger,
    bond: BigInt(g.bond),
    modelRoot: g.modelRoot,
    inputRoot: g.inputRoot,
    outputRoot: g.outputRoot,
    opCount: Number(g.opCount),
    opIndex: Number(g.opIndex),
    clocks: {
      mover: phase === 'resolved' ? undefined : MOVER[phase],
      secondsLeft,
      worker: BigInt(g.workerClock),
      challenger: BigInt(g.challengerClock),
      lastMoveAt: BigInt(g.lastMoveAt),
    },
  };
}
