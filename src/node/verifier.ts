// The verifier service: watches the results posted for its models, re-executes those it is
// assigned to audit and a watchShare of the others, attests right ones, challenges wrong ones
// with the bond, plays every game it opened to the end, and collects bounties and rewards.
//
// Seam for the p2p layer: results of signed tasks carry no input on chain; provideInput(...)
// hands one in (checked against the task's inputRoot) so that the result can be re-executed.
import type { Hex } from 'viem';
import type { TaskArgs } from '../chain/bindings/types.ts';
import { fromHex, toHex } from '../commit/keccak.ts';
import { tensorRoot } from '../commit/tensorRoot.ts';
import { collectPayouts } from './agent.ts';
import { drawBps, type NodeEnv, sameAddress, shareToBps } from './context.ts';
import { applyEvent, type JobMachine, wakeJobs } from './jobs.ts';
import {
  AUDIT_TRANSITIONS,
  type AuditEvent,
  type AuditJob,
  type AuditState,
  disputeJobOf,
  wakeAudit,
} from './machines/audit.ts';
import type { Job } from './store.ts';
import type { ChainEvent, EventSink } from './sync.ts';

export interface VerifierOptions {
  /** The share (0..1) of results not assigned to this node that it re-executes anyway. */
  watchShare: number;
  withdrawThreshold: bigint;
  /** Devnet only (see the config's verifier.behaviour). */
  behaviour?: 'honest' | 'challenge-honest' | 'collude';
}

export const auditMachine: JobMachine<AuditState, AuditEvent, AuditJob> = {
  name: 'audit',
  kind: 'audit',
  table: AUDIT_TRANSITIONS,
  async wake(env, job) {
    const r = await wakeAudit(env, job);
    // A challenge opens a game: its dispute job is stored with the audit's transition.
    if (r?.event === 'challenged' && r.payload?.gameId)
      return { ...r, spawn: [disputeJobOf(job.id as Hex, r.payload, BigInt(r.payload.gameId))] };
    return r;
  },
};

export class VerifierService implements EventSink {
  readonly name = 'verifier';
  private readonly env: NodeEnv;
  private readonly o: VerifierOptions;
  private readonly watchBps: number;

  constructor(env: NodeEnv, options: VerifierOptions) {
    this.env = env;
    this.o = options;
    this.watchBps = shareToBps(options.watchShare);
  }

  private watched(taskId: Hex): boolean {
    if (this.o.behaviour === 'challenge-honest') return true;
    return drawBps(taskId, this.env.chain.account, 'watch') < this.watchBps;
  }

  /** The dishonest behaviour recorded in each job, so that a restart keeps it. */
  private get behaviour(): Pick<AuditJob, 'behaviour'> {
    const b = this.o.behaviour ?? 'honest';
    return b === 'honest' ? {} : { behaviour: b };
  }

  private posted(id: Hex, task: TaskArgs, e: ChainEvent, worker: Hex, input?: Hex): void {
    const { store, chain } = this.env;
    if (!this.env.models.get(task.modelRoot) || sameAddress(worker, chain.account)) return;
    const result = {
      worker,
      commitment: e.args.resultCommitment as Hex,
      outputRoot: e.args.outputRoot as Hex,
    };
    const fields = { result, output: e.args.output as Hex, postedBlock: e.blockNumber };
    const job = store.getJob<AuditJob>('audit', id);
    if (job?.state === 'pending') {
      applyEvent(this.env, auditMachine, job, 'posted', { ...job.payload, ...fields });
    } else if (!job) {
      store.putJob({
        kind: 'audit',
        id,
        state: 'watching',
        done: false,
        payload: {
          task,
          ...(input ? { input } : {}),
          watched: this.watched(id),
          ...this.behaviour,
          ...fields,
        } satisfies AuditJob,
      });
    }
  }

  ingest(events: readonly ChainEvent[]): void {
    const { store, chain } = this.env;
    for (const e of events) {
      if (e.contract !== 'taskMarket') continue;
      const id = e.args.taskId as Hex;
      if (e.eventName === 'TaskCreated') {
        const task = e.args.task as TaskArgs;
        const inline = e.args.inlineInput as Hex;
        if (!this.env.models.get(task.modelRoot) || store.getJob('audit', id)) continue;
        store.putJob({
          kind: 'audit',
          id,
          state: 'pending',
          done: false,
          payload: {
            task,
            ...(inline !== '0x' ? { input: inline } : {}),
            watched: this.watched(id),
            ...this.behaviour,
          } satisfies AuditJob,
        });
      } else if (e.eventName === 'ResultPosted') {
        const job = store.getJob<AuditJob>('audit', id);
        if (job) this.posted(id, job.payload.task, e, e.args.worker as Hex, job.payload.input);
      } else if (e.eventName === 'SignedTaskPosted') {
        this.posted(id, e.args.task as TaskArgs, e, e.args.worker as Hex);
      } else if (e.eventName === 'TaskChallenged' && sameAddress(e.args.challenger as Hex, chain.account)) {
        // Our own challenge, seen on chain: make sure its game is played even if the wake that
        // sent it did not get to record it.
        const job = store.getJob<AuditJob>('audit', id);
        const gameId = e.args.gameId as bigint;
        if (!job?.payload.input) continue;
        store.transaction(() => {
          if (!store.getJob('dispute', gameId.toString()))
            store.putJob(disputeJobOf(id, job.payload, gameId));
          if (job.state === 'watching' || job.state === 'assigned')
            applyEvent(this.env, auditMachine, job, 'challenged', {
              ...job.payload,
              gameId: gameId.toString(),
            });
        });
      }
    }
  }

  /** Hands in the input of a task whose input is not on chain (a signed task), checked against its root. */
  provideInput(taskId: Hex, input: Hex): boolean {
    const job = this.env.store.getJob<AuditJob>('audit', taskId);
    if (!job || job.done || job.payload.input) return false;
    if (toHex(tensorRoot(fromHex(input))) !== job.payload.task.inputRoot.toLowerCase()) return false;
    this.env.store.putJob({ ...(job as unknown as Job), payload: { ...job.payload, input } });
    return true;
  }

  async wake(): Promise<void> {
    await wakeJobs(this.env, auditMachine);
    try {
      await collectPayouts(this.env, this.o.withdrawThreshold);
    } catch (err) {
      this.env.log.warn('payout failed', { error: err });
    }
  }
}
