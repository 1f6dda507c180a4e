// The state machine of one dispute game, as both parties track it off chain. It mirrors the
// Phase enum of contracts/game/GameTypes.sol; every transition is an event the game emits.
//
//   state                  mover        event            -> next
//   awaitWorkerTrace       worker       traceRevealed    -> awaitChallengerOp
//   awaitChallengerOp      challenger   opNamed          -> awaitWorkerLeaves
//   awaitWorkerLeaves      worker       leavesRevealed   -> awaitChallengerChunk
//   awaitChallengerChunk   challenger   chunkNamed       -> awaitWorkerChunk (or awaitChallengerElement
//                                                           when the worker has no such chunk)
//   awaitWorkerChunk       worker       chunkRevealed    -> awaitChallengerElement
//   awaitChallengerElement challenger   elementNamed     -> awaitStep
//   awaitStep              anyone       stepVerified     -> resolved
//   any unresolved state   anyone       timedOut | moot  -> resolved

export type DisputeState =
  | 'awaitWorkerTrace'
  | 'awaitChallengerOp'
  | 'awaitWorkerLeaves'
  | 'awaitChallengerChunk'
  | 'awaitWorkerChunk'
  | 'awaitChallengerElement'
  | 'awaitStep'
  | 'resolved';

export type DisputeEvent =
  | 'traceRevealed'
  | 'opNamed'
  | 'leavesRevealed'
  | 'chunkNamed'
  | 'chunkNamedWorkerAbsent'
  | 'chunkRevealed'
  | 'elementNamed'
  | 'stepVerified'
  | 'timedOut'
  | 'moot';

export type Mover = 'worker' | 'challenger' | 'anyone';

/** The transition table. A missing entry is an invalid event in that state. */
export const TRANSITIONS: Readonly<
  Record<DisputeState, Readonly<Partial<Record<DisputeEvent, DisputeState>>>>
> = {
  awaitWorkerTrace: { traceRevealed: 'awaitChallengerOp', timedOut: 'resolved', moot: 'resolved' },
  awaitChallengerOp: { opNamed: 'awaitWorkerLeaves', timedOut: 'resolved', moot: 'resolved' },
  awaitWorkerLeaves: { leavesRevealed: 'awaitChallengerChunk', timedOut: 'resolved', moot: 'resolved' },
  awaitChallengerChunk: {
    chunkNamed: 'awaitWorkerChunk',
    chunkNamedWorkerAbsent: 'awaitChallengerElement',
    timedOut: 'resolved',
    moot: 'resolved',
  },
  awaitWorkerChunk: { chunkRevealed: 'awaitChallengerElement', timedOut: 'resolved', moot: 'resolved' },
  awaitChallengerElement: { elementNamed: 'awaitStep', timedOut: 'resolved', moot: 'resolved' },
  awaitStep: { stepVerified: 'resolved', timedOut: 'resolved', moot: 'resolved' },
  resolved: {},
};

/** Whose move each state waits for (in awaitStep anyone may submit; the worker's clock runs). */
export const MOVER: Readonly<Record<Exclude<DisputeState, 'resolved'>, Mover>> = {
  awaitWorkerTrace: 'worker',
  awaitChallengerOp: 'challenger',
  awaitWorkerLeaves: 'worker',
  awaitChallengerChunk: 'challenger',
  awaitWorkerChunk: 'worker',
  awaitChallengerElement: 'challenger',
  awaitStep: 'anyone',
};

/** The on-chain Phase enum (GameTypes.sol) by value. */
const PHASES: readonly (DisputeState | undefined)[] = [
  undefined,
  'awaitWorkerTrace',
  'awaitChallengerOp',
  'awaitWorkerLeaves',
  'awaitChallengerChunk',
  'awaitWorkerChunk',
  'awaitChallengerElement',
  'awaitStep',
  'resolved',
];

/** The most moves a party makes inside one game: 3, plus the step if it submits it (the challenger's
 * challenge transaction that opens the game is one more). */
export const MAX_MOVES_PER_PARTY = 4;

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
