// The state machine of one dispute game, as both parties track it off chain. It mirrors the
// Phase enum of contracts/game/GameTypes.sol; every transition is an event the game emits.
//
//   state                  mover        event                    -> next
//   awaitWorkerTrace       worker       traceRevealed            -> awaitChallengerOpPick
//                                       traceRevealedLeaf        -> awaitChallengerOp (one-op model)
//   awaitChallengerOpPick  challenger   picked                   -> awaitWorkerOpNodes
//                                       pickedLeaf               -> awaitChallengerOp
//   awaitWorkerOpNodes     worker       nodesRevealed            -> awaitChallengerOpPick
//   awaitChallengerOp      challenger   opNamed                  -> awaitWorkerTensor
//   awaitWorkerTensor      worker       tensorRevealed           -> awaitChallengerChunkPick
//                                       tensorRevealedLeaf       -> awaitWorkerChunk (one chunk)
//   awaitChallengerChunkPick challenger picked                   -> awaitWorkerChunkNodes
//                                       pickedLeaf               -> awaitWorkerChunk
//   awaitWorkerChunkNodes  worker       nodesRevealed            -> awaitChallengerChunkPick
//   awaitWorkerChunk       worker       chunkRevealed            -> awaitChallengerElement
//   awaitChallengerElement challenger   elementNamed             -> awaitStep
//   awaitStep              worker*      stepVerified             -> resolved   (*anyone may submit)
//                          worker       prefixRevealed           -> awaitChallengerPrefixPick (a split
//                                                                   reduction: segments.ts)
//   awaitChallengerPrefixPick challenger picked                  -> awaitWorkerPrefixNodes
//                                       pickedLeaf               -> awaitPrefixStep
//   awaitWorkerPrefixNodes worker       nodesRevealed            -> awaitChallengerPrefixPick
//   awaitPrefixStep        worker*      segmentVerified          -> resolved
//   any unresolved state   anyone       timedOut | moot          -> resolved

export type DisputeState =
  | 'awaitWorkerTrace'
  | 'awaitChallengerOpPick'
  | 'awaitWorkerOpNodes'
  | 'awaitChallengerOp'
  | 'awaitWorkerTensor'
  | 'awaitChallengerChunkPick'
  | 'awaitWorkerChunkNodes'
  | 'awaitWorkerChunk'
  | 'awaitChallengerElement'
  | 'awaitStep'
  | 'awaitChallengerPrefixPick'
  | 'awaitWorkerPrefixNodes'
  | 'awaitPrefixStep'
  | 'resolved';

export type DisputeEvent =
  | 'traceRevealed'
  | 'traceRevealedLeaf'
  | 'picked'
  | 'pickedLeaf'
  | 'nodesRevealed'
  | 'opNamed'
  | 'tensorRevealed'
  | 'tensorRevealedLeaf'
  | 'chunkRevealed'
  | 'elementNamed'
  | 'stepVerified'
  | 'prefixRevealed'
  | 'segmentVerified'
  | 'timedOut'
  | 'moot';

export type Mover = 'worker' | 'challenger';

const END = { timedOut: 'resolved', moot: 'resolved' } as const;

/** The transition table. A missing entry is an invalid event in that state. */
export const TRANSITIONS: Readonly<
  Record<DisputeState, Readonly<Partial<Record<DisputeEvent, DisputeState>>>>
> = {
  awaitWorkerTrace: {
    traceRevealed: 'awaitChallengerOpPick',
    traceRevealedLeaf: 'awaitChallengerOp',
    ...END,
  },
  awaitChallengerOpPick: { picked: 'awaitWorkerOpNodes', pickedLeaf: 'awaitChallengerOp', ...END },
  awaitWorkerOpNodes: { nodesRevealed: 'awaitChallengerOpPick', ...END },
  awaitChallengerOp: { opNamed: 'awaitWorkerTensor', ...END },
  awaitWorkerTensor: {
    tensorRevealed: 'awaitChallengerChunkPick',
    tensorRevealedLeaf: 'awaitWorkerChunk',
    ...END,
  },
  awaitChallengerChunkPick: { picked: 'awaitWorkerChunkNodes', pickedLeaf: 'awaitWorkerChunk', ...END },
  awaitWorkerChunkNodes: { nodesRevealed: 'awaitChallengerChunkPick', ...END },
  awaitWorkerChunk: { chunkRevealed: 'awaitChallengerElement', ...END },
  awaitChallengerElement: { elementNamed: 'awaitStep', ...END },
  awaitStep: { stepVerified: 'resolved', prefixRevealed: 'awaitChallengerPrefixPick', ...END },
  awaitChallengerPrefixPick: { picked: 'awaitWorkerPrefixNodes', pickedLeaf: 'awaitPrefixStep', ...END },
  awaitWorkerPrefixNodes: { nodesRevealed: 'awaitChallengerPrefixPick', ...END },
  awaitPrefixStep: { segmentVerified: 'resolved', ...END },
  resolved: {},
};

/** Whose clock runs in each state (in awaitStep anyone may submit, on the worker's clock). */
export const MOVER: Readonly<Record<Exclude<DisputeState, 'resolved'>, Mover>> = {
  awaitWorkerTrace: 'worker',
  awaitChallengerOpPick: 'challenger',
  awaitWorkerOpNodes: 'worker',
  awaitChallengerOp: 'challenger',
  awaitWorkerTensor: 'worker',
  awaitChallengerChunkPick: 'challenger',
  awaitWorkerChunkNodes: 'worker',
  awaitWorkerChunk: 'worker',
  awaitChallengerElement: 'challenger',
  awaitStep: 'worker',
  awaitChallengerPrefixPick: 'challenger',
  awaitWorkerPrefixNodes: 'worker',
  awaitPrefixStep: 'worker',
};

/** The on-chain Phase enum (GameTypes.sol) by value. */
const PHASES: readonly (DisputeState | undefined)[] = [
  undefined,
  'awaitWorkerTrace',
  'awaitChallengerOpPick',
  'awaitWorkerOpNodes',
  'awaitChallengerOp',
  'awaitWorkerTensor',
  'awaitChallengerChunkPick',
  'awaitWorkerChunkNodes',
  'awaitWorkerChunk',
  'awaitChallengerElement',
  'awaitStep',
  'resolved',
  // The partial-sum level comes after Resolved in the enum, so the numbers above stay.
  'awaitChallengerPrefixPick',
  'awaitWorkerPrefixNodes',
  'awaitPrefixStep',
];

/**
 * The most moves a party makes inside one game, for a model of `opCount` ops whose largest op
 * output has `maxChunks` chunks: one per dissection round of each tree, plus the fixed moves.
 * Worker: revealTrace, revealTensor, revealChunk, submitStep, and one revealNodes per extra round.
 * Challenger: the opening challenge, nameOp, nameElement, and one pick per round. A model with a
 * split reduction of up to `maxSegments` segments adds revealPrefix and the partial-sum rounds.
 */
export function maxMovesPerParty(
  opCount: number,
  maxChunks: number,
  maxSegments = 0,
): { worker: number; challenger: number } {
  const rounds = (n: number) => Math.ceil(depth(n) / 6);
  const op = rounds(opCount);
  const chunk = rounds(maxChunks);
  const prefix = maxSegments > 0 ? rounds(maxSegments + 1) : 0;
  return {
    worker: 4 + Math.max(0, op - 1) + Math.max(0, chunk - 1) + prefix,
    challenger: 3 + op + chunk + prefix,
  };
}

function depth(n: number): number {
  let d = 0;
  while (2 ** d < n) d += 1;
  return d;
}

export class DisputeTransitionError extends Error {
  override readonly name = 'DisputeTransitionError';
  constructor(state: DisputeState, event: DisputeEvent) {
    const allowed = Object.keys(TRANSITIONS[state]).join(', ') || 'none (the game is resolved)';
    super(`Event "${event}" cannot happen in state "${state}". Allowed: ${allowed}.`);
  }
}

export function transition(state: DisputeState, event: DisputeEvent): DisputeState {
  const next = TRANSITIONS[state][event];
  if (!next) throw new DisputeTransitionError(state, event);
  return next;
}

/** The state for the game's on-chain phase number. */
export function stateOfPhase(phase: number): DisputeState {
  const state = PHASES[phase];
  if (!state) throw new RangeError(`Phase ${phase} is not a phase of an opened game.`);
  return state;
}
