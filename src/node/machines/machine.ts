// What every job machine shares: an explicit transition table, and the error for an event that
// the table does not allow. A machine's wake reads the chain and returns the event it saw (or
// none); the service applies it through the table, so no state is ever reached by a side door.
import { VerinferError } from '../../errors/base.ts';

export type TransitionTable<S extends string, E extends string> = Readonly<
  Record<S, Readonly<Partial<Record<E, S>>>>
>;

export class JobTransitionError extends VerinferError {
  override name = 'JobTransitionError' as const;
}

export function nextState<S extends string, E extends string>(
  machine: string,
  table: TransitionTable<S, E>,
  state: S,
  event: E,
): S {
  const row = table[state];
  if (!row) throw new JobTransitionError(`The ${machine} machine has no state "${state}".`);
  const next = row[event];
  if (!next) {
    const allowed = Object.keys(row).join(', ') || 'none (terminal state)';
    throw new JobTransitionError(
      `The ${machine} machine cannot take event "${event}" in state "${state}". Allowed: ${allowed}.`,
    );
  }
  return next;
}

/** A state with no outgoing transitions is terminal: its job is done. */
export function isTerminal<S extends string, E extends string>(
  table: TransitionTable<S, E>,
  state: S,
): boolean {
  return Object.keys(table[state] ?? {}).length === 0;
}

/** What a wake returns: the event that happened (if any) and the payload to store with it. */
export interface WakeResult<E extends string, P> {
  event: E;
  payload?: P;
}
