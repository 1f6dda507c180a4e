// A dispute game in plain words: who challenged whom, where the game stands, whose move it is,
// how much time each side has left, and how it ended.
import { formatEther } from 'viem';
import type { GetDisputeReturnType } from '../client/actions/getDispute.ts';
import type { DisputeState } from '../dispute/machine.ts';

const PHASES: Record<DisputeState, string> = {
  awaitWorkerTrace: "the worker must reveal the root of its trace (every op's output root)",
  awaitChallengerOpPick:
    'the challenger must pick the branch of the op tree where the two traces first differ',
  awaitWorkerOpNodes: 'the worker must reveal the next level of its op tree',
  awaitChallengerOp: 'the challenger must name the first op whose output differs',
  awaitWorkerTensor: "the worker must reveal the chunk roots of that op's output",
  awaitChallengerChunkPick: 'the challenger must pick the branch of chunks where the outputs differ',
  awaitWorkerChunkNodes: 'the worker must reveal the next level of its chunk tree',
  awaitWorkerChunk: 'the worker must reveal the disputed chunk',
  awaitChallengerElement: 'the challenger must name the element it says is wrong',
  awaitStep:
    'the worker must prove that element: the contract recomputes it from Merkle-proven operands (or, for a long sum, the worker reveals its partial sums)',
  awaitChallengerPrefixPick:
    "the challenger must pick the branch of the worker's partial sums where the first wrong one lies",
  awaitWorkerPrefixNodes: 'the worker must reveal the next level of its partial-sum tree',
  awaitPrefixStep:
    'the worker must prove the disputed partial sum: the contract recomputes one segment of the sum',
  resolved: 'the game is over',
};

const OUTCOMES: Record<GetDisputeReturnType['outcome'], string> = {
  none: 'not decided yet',
  challengerWon:
    "the challenger won: the worker's result was wrong, its stake was slashed, and the task's fee goes back to the requester",
  workerWon: 'the worker won: its result stands, and the challenger lost its bond',
  moot: 'moot: the game ended without judging the result (the task was settled another way), and bonds were returned',
};

export interface DisputeExplanation {
  gameId: string;
  summary: string;
  phase: DisputeState;
  whoseTurn?: 'worker' | 'challenger';
  secondsLeft?: string;
  outcome: GetDisputeReturnType['outcome'];
}

export function explainDispute(g: GetDisputeReturnType): DisputeExplanation {
  const lines = [
    `Dispute game ${g.gameId} is about task ${g.subject}.`,
    `Challenger ${g.challenger} disputed the result of worker ${g.worker}, with a bond of ${formatEther(g.bond)} ETH.`,
    `Phase: ${g.phase} — ${PHASES[g.phase]}.`,
  ];
  if (g.opIndex > 0 || g.phase === 'awaitWorkerTensor')
    lines.push(`The disagreement is narrowed to op ${g.opIndex} of ${g.opCount}.`);
  if (g.clocks.mover)
    lines.push(
      `It is the ${g.clocks.mover}'s turn; it has ${g.clocks.secondsLeft ?? '?'} s left on its clock ` +
        `(worker budget ${g.clocks.worker} s, challenger budget ${g.clocks.challenger} s as of the last move). Whoever runs out of time loses.`,
    );
  lines.push(`Outcome: ${OUTCOMES[g.outcome]}.`);
  return {
    gameId: g.gameId.toString(),
    summary: lines.join(' '),
    phase: g.phase,
    whoseTurn: g.clocks.mover,
    secondsLeft: g.clocks.secondsLeft?.toString(),
    outcome: g.outcome,
  };
}
