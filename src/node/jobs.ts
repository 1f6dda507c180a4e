// Wakes open jobs of one kind through their machine: each wake's event goes through the
// transition table and is stored (with any jobs it spawns) in one transaction. A wake that
// throws is logged and counted; the job stays as it was and is woken again on the next block.
import { isLostRace } from './chain.ts';
import type { NodeEnv } from './context.ts';
import { isTerminal, nextState, type TransitionTable, type WakeResult } from './machines/machine.ts';
import type { Job, JobKind } from './store.ts';

export interface JobMachine<S extends string, E extends string, P> {
  name: string;
  kind: JobKind;
  table: TransitionTable<S, E>;
  wake(
    env: NodeEnv,
    job: Job<P>,
  ): Promise<(WakeResult<E, P> & { spawn?: Omit<Job, 'updatedAt'>[] }) | undefined>;
}

/** Applies an event to a stored job (used by wakes and by log ingestion alike). */
export function applyEvent<S extends string, E extends string, P>(
  env: Pick<NodeEnv, 'store'>,
  machine: Pick<JobMachine<S, E, P>, 'name' | 'table'>,
  job: Job<P>,
  event: E,
  payload: P = job.payload,
  spawn: readonly Omit<Job, 'updatedAt'>[] = [],
): Job<P> {
  const state = nextState(machine.name, machine.table, job.state as S, event);
  const next: Job<P> = { ...job, state, payload, done: isTerminal(machine.table, state) };
  env.store.transaction(() => {
    env.store.putJob(next as unknown as Job);
    for (const s of spawn) if (!env.store.getJob(s.kind, s.id)) env.store.putJob(s);
  });
  return next;
}

/**
 * Wakes every open job of the machine's kind (that `filter` keeps). A job may take several
 * transitions in one wake, but stops after a self-loop (one transaction per job per block).
 */
export async function wakeJobs<S extends string, E extends string, P>(
  env: NodeEnv,
  machine: JobMachine<S, E, P>,
  filter: (job: Job<P>) => boolean = () => true,
): Promise<void> {
  for (const open of env.store.openJobs<P>(machine.kind)) {
    if (!filter(open)) continue;
    let job = open;
    for (let step = 0; step < 4 && !job.done; step++) {
      let r: Awaited<ReturnType<typeof machine.wake>>;
      try {
        r = await machine.wake(env, job);
      } catch (err) {
        env.metrics.inc('job_errors_total');
        // A lost race is re-read from the chain on the next wake; anything else is worth a warning.
        if (isLostRace(err))
          env.log.debug(`${machine.name} wake lost a race`, { id: job.id, state: job.state });
        else env.log.warn(`${machine.name} wake failed`, { id: job.id, state: job.state, error: err });
        break;
      }
      if (!r) break;
      const before = job.state;
      job = applyEvent(env, machine, job, r.event, r.payload ?? job.payload, r.spawn);
      env.log.debug(`${machine.name} ${before} -> ${job.state}`, { id: job.id, event: r.event });
      if (job.state === before) break;
    }
  }
}
