// A worker's task, from the TaskCreated it saw (or a signed request it accepted) to its result's
// finalization. Each wake re-reads the task's word on chain first, so a restart never posts twice:
// a result already on chain under this node's key is recognised and adopted.
//
//   state    event         -> next       what happens
//   open     resultPosted  -> posted     postResult (takes the open task and posts in one tx)
//            takenByOther  -> lost       another worker took it first
//            expired       -> expired    the take deadline passed
//            unservable    -> rejected   no input, a model not served, or an input that does not fit
//   signed   resultPosted  -> posted     postSigned (a requester-signed task, fee from its balance)
//            takenByOther  -> lost       the task ID exists already
//            expired       -> expired
//            unservable    -> rejected
//   posted   finalized     -> finalized  finalize after the window (draws the audit if needed)
//            convicted     -> convicted  a challenger won a game on it
import { type Hex, parseAbiItem } from 'viem';
import { resultKeyOf } from '../../chain/bindings/commitments.ts';
import type { TaskArgs, TaskResultArgs } from '../../chain/bindings/types.ts';
import { fromHex, toHex } from '../../commit/keccak.ts';
import { tensorBytes } from '../../commit/tensorRoot.ts';
import { commitHonest, resultCommitment } from '../../commit/traceRoot.ts';
import { sendTx } from '../chain.ts';
import { AUDIT, DISPUTED, drawBps, type NodeEnv, STATUS } from '../context.ts';
import { inputFromBytes, type RunVariant } from '../models.ts';
import type { Job } from '../store.ts';
import type { DisputeJob } from './dispute.ts';
import type { TransitionTable, WakeResult } from './machine.ts';

export type TaskState =
  | 'open'
  | 'signed'
  | 'posted'
  | 'finalized'
  | 'convicted'
  | 'lost'
  | 'expired'
  | 'rejected';
export type TaskEvent =
  | 'resultPosted'
  | 'takenByOther'
  | 'expired'
  | 'unservable'
  | 'finalized'
  | 'convicted';

export const TASK_TRANSITIONS: TransitionTable<TaskState, TaskEvent> = {
  open: { resultPosted: 'posted', takenByOther: 'lost', expired: 'expired', unservable: 'rejected' },
  signed: { resultPosted: 'posted', takenByOther: 'lost', expired: 'expired', unservable: 'rejected' },
  posted: { finalized: 'finalized', convicted: 'convicted' },
  finalized: {},
  convicted: {},
  lost: {},
  expired: {},
  rejected: {},
};

export interface TaskJob {
  task: TaskArgs;
  /** The input's committed bytes (inline in TaskCreated, or delivered with a signed request). */
  input?: Hex;
  /** The requester's EIP-712 signature of a signed request. */
  signature?: Hex;
  /** What this node runs: honest, or (devnet cheat mode) a corrupted trace. */
  variant: RunVariant;
  result?: TaskResultArgs;
  output?: Hex;
  /** The head block when the result was posted (where searches for its games start). */
  postedBlock?: bigint;
  /** Blocks of the take cycle among competing workers (WorkerOptions.takeStaggerBlocks). */
  stagger?: number;
}

/** The result this node would post for the task: deterministic, so a restart recomputes the same. */
export async function computeResult(
  env: NodeEnv,
  taskId: Hex,
  p: TaskJob,
): Promise<{ result: TaskResultArgs; output: Hex }> {
  const model = env.models.get(p.task.modelRoot);
  if (!model) throw new Error(`model ${p.task.modelRoot} is not served`);
  if (!p.input) throw new Error('the input is not known');
  const input = inputFromBytes(model, fromHex(p.input));
  // Only the output and the checkpoint: the full trace is computed if a dispute or a trace
  // request needs it (env.runs.trace).
  const run = await env.runs.honest(model, input, p.variant);
  const roots = commitHonest(input, run, model.ops.length);
  // The task names its input by root: an input that does not hash to it is not this task's.
  if (toHex(roots.inputRoot) !== p.task.inputRoot.toLowerCase())
    throw new Error("the input does not match the task's inputRoot");
  const out = run.output;
  return {
    result: {
      worker: env.chain.account,
      commitment: toHex(resultCommitment(fromHex(taskId), roots)),
      outputRoot: toHex(roots.outputRoot),
    },
    output: toHex(tensorBytes(out.dtype, out.data)),
  };
}

const TASK_CHALLENGED = parseAbiItem(
  'event TaskChallenged(bytes32 indexed taskId, uint256 indexed gameId, address indexed challenger)',
);

/**
 * Makes sure every game opened on our result has a dispute job. Sync creates them from the
 * TaskChallenged logs; this re-reads the chain too, so a game opened while the job was not yet
 * recorded as posted (a crash right after posting) is defended all the same.
 */
async function trackGames(env: NodeEnv, taskId: Hex, p: TaskJob): Promise<void> {
  const logs = await env.chain.publicClient.getLogs({
    address: env.chain.addresses.taskMarket,
    event: TASK_CHALLENGED,
    args: { taskId },
    fromBlock: p.postedBlock ?? 0n,
  });
  for (const log of logs) {
    const gameId = (log.args.gameId as bigint).toString();
    if (env.store.getJob('dispute', gameId)) continue;
    env.store.putJob({
      kind: 'dispute',
      id: gameId,
      state: 'playing',
      done: false,
      payload: {
        gameId,
        role: 'worker',
        taskId,
        modelRoot: p.task.modelRoot,
        input: p.input as Hex,
        variant: p.variant,
      } satisfies DisputeJob,
    });
    env.log.info('result challenged; defending', { taskId, gameId });
  }
}

export async function wakeTask(
  env: NodeEnv,
  job: Job<TaskJob>,
): Promise<WakeResult<TaskEvent, TaskJob> | undefined> {
  const id = job.id as Hex;
  const p = job.payload;
  const tm = env.chain.v.taskMarket;
  const st = await tm.read.taskState([id]);
  const now = env.head().timestamp;
  const log = env.log.child('task');
  if (job.state === 'open' || job.state === 'signed') {
    // This node never takes without posting (postResult does both), so a Taken task is not ours.
    if (st.status === STATUS.Taken || st.status === STATUS.Expired) return { event: 'takenByOther' };
    let computed: Awaited<ReturnType<typeof computeResult>>;
    try {
      computed = await computeResult(env, id, p);
    } catch (err) {
      log.warn('cannot serve task', { taskId: id, error: err });
      return { event: 'unservable' };
    }
    const payload = { ...p, ...computed, postedBlock: env.head().number };
    // Already on chain under our result key: a post that landed before a restart.
    if (st.status >= STATUS.Posted && st.key.toLowerCase() === resultKeyOf(computed.result).toLowerCase())
      return { event: 'resultPosted', payload: { ...payload, postedBlock: BigInt(st.seedBlock) } };
    if (job.state === 'open' && st.status !== STATUS.Open) return { event: 'takenByOther' };
    if (job.state === 'signed' && st.status !== STATUS.None) return { event: 'takenByOther' };
    if (now >= p.task.takeDeadline) return { event: 'expired' };
    // Workers race for an open task: with a stagger of n blocks each tries in its own phase of an
    // n-block cycle (a deterministic draw per task and worker), so most tasks see one post.
    const n = BigInt(p.stagger ?? 0);
    if (
      job.state === 'open' &&
      n > 1n &&
      (env.head().number + BigInt(drawBps(id, env.chain.account, 'take'))) % n !== 0n
    )
      return undefined;
    // Posting locks the task stake: without enough free stake the post would revert. Wait (the
    // stake of finalized tasks comes back) rather than pay for a failing transaction.
    const free = await env.chain.v.agentRegistry.read.freeStake([env.chain.account]);
    if (free < env.chain.market.workerStake) {
      log.debug('waiting for free stake', { taskId: id, free });
      return undefined;
    }
    const { result, output } = computed;
    await sendTx(
      env.chain,
      env,
      job.state === 'open' ? 'postResult' : 'postSigned',
      () =>
        job.state === 'open'
          ? tm.write.postResult([p.task, result.commitment, result.outputRoot, output])
          : tm.write.postSigned([p.task, p.signature as Hex, result.commitment, result.outputRoot, output]),
      { taskId: id, cheat: p.variant.kind === 'cheat' },
    );
    env.metrics.inc('tasks_posted_total');
    return { event: 'resultPosted', payload };
  }
  if (job.state === 'posted') {
    if (st.status === STATUS.Finalized) return { event: 'finalized' };
    if (st.status === STATUS.Convicted) return { event: 'convicted' };
    if (st.status !== STATUS.Posted) return undefined;
    if (now < BigInt(st.deadline)) {
      if ((st.flags & DISPUTED) !== 0) await trackGames(env, id, p);
      return undefined;
    }
    const pool = await tm.read.disputes([id]);
    if (pool.open > 0n) {
      await trackGames(env, id, p);
      return undefined;
    }
    const audit = await tm.read.audit([id]);
    if (audit.state === AUDIT.Assigned) {
      if (now <= BigInt(audit.deadline)) return undefined;
      // A silent auditor blocks the fee; slashing it is permissionless and pays the caller.
      await sendTx(env.chain, env, 'slashSilentAuditor', () => tm.write.slashSilentAuditor([id]), {
        taskId: id,
      });
    }
    const r = p.result as TaskResultArgs;
    await sendTx(env.chain, env, 'finalize', () => tm.write.finalize([p.task, r, p.output as Hex]), {
      taskId: id,
    });
    const after = await tm.read.taskState([id]);
    if (after.status !== STATUS.Finalized) return undefined;
    env.metrics.inc('tasks_finalized_total');
    return { event: 'finalized' };
  }
  return undefined;
}
