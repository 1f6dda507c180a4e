// The worker service: serves its models' tasks (TaskCreated with an inline input, or requester
// signed requests handed in by acceptSignedRequest), posts exact results, finalizes them after
// the window, defends every game opened on them, and withdraws its fees.
//
// Seam for the p2p layer (src/p2p): a peer's signed request arrives as acceptSignedRequest(...),
// which validates it and queues a 'signed' task job; the next wake posts it with postSigned.
import { type Hex, recoverAddress } from 'viem';
import { signedTaskDigestOf, taskIdOf } from '../chain/bindings/commitments.ts';
import { NATIVE, type TaskArgs } from '../chain/bindings/types.ts';
import { fromHex, toHex } from '../commit/keccak.ts';
import { tensorRoot } from '../commit/tensorRoot.ts';
import { VerinferError } from '../errors/base.ts';
import { collectPayouts } from './agent.ts';
import { drawBps, type NodeEnv, STATUS, sameAddress, shareToBps } from './context.ts';
import { applyEvent, type JobMachine, wakeJobs } from './jobs.ts';
import type { DisputeJob } from './machines/dispute.ts';
import { TASK_TRANSITIONS, type TaskEvent, type TaskJob, type TaskState, wakeTask } from './machines/task.ts';
import { inputFromBytes, type RunVariant } from './models.ts';
import type { ChainEvent, EventSink } from './sync.ts';

export interface WorkerOptions {
  /** Owed fees at or above this are withdrawn. */
  withdrawThreshold: bigint;
  /** Devnet only: the share (0..1) of results to corrupt. */
  cheat?: number;
  /** Devnet only: never move in a dispute. */
  silentInDisputes?: boolean;
  /** Devnet only: the batch position whose result is corrupted in every batch (batchServices.ts). */
  batchCheatIndex?: number;
  /**
   * With several workers on one model, each tries to take an open task only in its own phase of a
   * cycle of this many blocks, so that they rarely race for the same task (0 or 1: always try).
   */
  takeStaggerBlocks?: number;
}

/** A signed request refused before it costs gas. */
export class SignedRequestError extends VerinferError {
  override name = 'SignedRequestError' as const;
}

const MAX_INPUT_BYTES = 4 * 1024 * 1024;

export const taskMachine: JobMachine<TaskState, TaskEvent, TaskJob> = {
  name: 'task',
  kind: 'task',
  table: TASK_TRANSITIONS,
  wake: wakeTask,
};

export class WorkerService implements EventSink {
  readonly name = 'worker';
  private readonly env: NodeEnv;
  private readonly o: WorkerOptions;
  private readonly cheatBps: number;

  constructor(env: NodeEnv, options: WorkerOptions) {
    this.env = env;
    this.o = options;
    this.cheatBps = shareToBps(options.cheat ?? 0);
  }

  /** The run this node posts for a task: honest, or (cheat mode) a corruption of the middle op. */
  private variantFor(taskId: Hex, modelRoot: Hex): RunVariant {
    const model = this.env.models.get(modelRoot);
    if (!model || this.cheatBps === 0 || drawBps(taskId, this.env.chain.account, 'cheat') >= this.cheatBps)
      return { kind: 'honest' };
    return { kind: 'cheat', k: Math.floor(model.ops.length / 2), delta: 3 };
  }

  ingest(events: readonly ChainEvent[]): void {
    const { store, models, chain } = this.env;
    for (const e of events) {
      if (e.contract !== 'taskMarket') continue;
      if (e.eventName === 'TaskCreated') {
        const id = e.args.taskId as Hex;
        const task = e.args.task as TaskArgs;
        if (!models.get(task.modelRoot) || store.getJob('task', id)) continue;
        const inline = e.args.inlineInput as Hex;
        store.putJob({
          kind: 'task',
          id,
          state: 'open',
          done: false,
          payload: {
            task,
            ...(inline !== '0x' ? { input: inline } : {}),
            variant: this.variantFor(id, task.modelRoot),
            ...(this.o.takeStaggerBlocks ? { stagger: this.o.takeStaggerBlocks } : {}),
          } satisfies TaskJob,
        });
      } else if (e.eventName === 'TaskChallenged') {
        const id = e.args.taskId as Hex;
        const job = store.getJob<TaskJob>('task', id);
        const gameId = (e.args.gameId as bigint).toString();
        if (!job?.payload.result || !sameAddress(job.payload.result.worker, chain.account)) continue;
        if (store.getJob('dispute', gameId)) continue;
        const p = job.payload;
        store.putJob({
          kind: 'dispute',
          id: gameId,
          state: 'playing',
          done: false,
          payload: {
            gameId,
            role: 'worker',
            taskId: id,
            modelRoot: p.task.modelRoot,
            input: p.input as Hex,
            variant: p.variant,
            ...(this.o.silentInDisputes ? { silent: true } : {}),
          } satisfies DisputeJob,
        });
        this.env.log.info('result challenged; defending', { taskId: id, gameId });
      } else if (e.eventName === 'TaskConvicted' || e.eventName === 'TaskFinalized') {
        const id = e.args.taskId as Hex;
        const job = store.getJob<TaskJob>('task', id);
        if (job?.state === 'posted')
          applyEvent(this.env, taskMachine, job, e.eventName === 'TaskConvicted' ? 'convicted' : 'finalized');
      }
    }
  }

  /**
   * Queues a requester-signed task (from a peer): checked here (model served, input matching the
   * task's root, signature by the requester for this worker, balance, deadline) so that a bad
   * request never costs gas. Returns the task ID; the next wake posts it with postSigned.
   */
  async acceptSignedRequest(request: { task: TaskArgs; signature: Hex; input: Hex }): Promise<Hex> {
    const { chain, models, store } = this.env;
    const { task, signature, input } = request;
    const model = models.get(task.modelRoot);
    if (!model) throw new SignedRequestError(`This node does not serve model ${task.modelRoot}.`);
    if (input.length > 2 + 2 * MAX_INPUT_BYTES)
      throw new SignedRequestError('The input is larger than 4 MiB.');
    if (!/^0x[0-9a-fA-F]{130}$/.test(signature))
      throw new SignedRequestError('The signature is not 65 bytes of hex.');
    let bytes: Uint8Array;
    try {
      bytes = fromHex(input);
      inputFromBytes(model, bytes);
    } catch (cause) {
      throw new SignedRequestError('The input does not fit the model.', { cause });
    }
    if (toHex(tensorRoot(bytes)) !== task.inputRoot.toLowerCase())
      throw new SignedRequestError("The input's root is not the task's inputRoot.");
    const digest = signedTaskDigestOf(chain.chainId, chain.addresses.taskMarket, task, chain.account);
    const signer = await recoverAddress({ hash: digest, signature });
    if (!sameAddress(signer, task.requester))
      throw new SignedRequestError(
        `The request is signed by ${signer}, not by its requester ${task.requester}.`,
      );
    const id = taskIdOf(chain.chainId, chain.addresses.taskMarket, task);
    const [st, balance] = await Promise.all([
      chain.v.taskMarket.read.taskState([id]),
      chain.v.taskMarket.read.owed([task.feeToken ?? NATIVE, task.requester]),
    ]);
    if (st.status !== STATUS.None) throw new SignedRequestError(`Task ${id} exists already.`);
    if (balance < task.fee)
      throw new SignedRequestError(`The requester's market balance ${balance} is below the fee ${task.fee}.`);
    if (this.env.head().timestamp >= task.takeDeadline)
      throw new SignedRequestError('The request has expired.');
    if (!store.getJob('task', id))
      store.putJob({
        kind: 'task',
        id,
        state: 'signed',
        done: false,
        payload: { task, signature, input, variant: this.variantFor(id, task.modelRoot) } satisfies TaskJob,
      });
    return id;
  }

  async wake(): Promise<void> {
    await wakeJobs(this.env, taskMachine);
    try {
      await collectPayouts(this.env, this.o.withdrawThreshold);
    } catch (err) {
      this.env.log.warn('payout failed', { error: err });
    }
  }
}
