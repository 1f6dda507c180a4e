// A verifier's watch over one posted result: re-execute it (when assigned as its auditor, or for
// a watchShare of the others), attest it with the checkpoint root when it is right, challenge it
// with the bond when its output is wrong, and draw its audit once the seed block is mined.
//
//   state     event       -> next        what happens
//   pending   posted      -> watching    the task's result appeared (ResultPosted)
//             closed      -> closed      the task ended without a result
//   watching  verified    -> watching    re-executed: the verdict is stored
//             assigned    -> assigned    the audit draw named this node
//             challenged  -> challenged  a wrong output: challenge() opened a game (a dispute job)
//             closed      -> closed      the task left Posted (finalized, convicted)
//   assigned  verified    -> assigned
//             attested    -> attested    attestAudit with the checkpoint root
//             challenged  -> challenged
//             closed      -> closed
import type { Hex } from 'viem';
import { parseAbiItem } from 'viem';
import type { TaskArgs, TaskResultArgs } from '../../chain/bindings/types.ts';
import { fromHex, toHex } from '../../commit/keccak.ts';
import { commitHonest, resultCommitment } from '../../commit/traceRoot.ts';
import { gameIdFromLogs } from '../../dispute/play.ts';
import { sendTx, TxError } from '../chain.ts';
import { AUDIT, AUDIT_DRAWN, type NodeEnv, STATUS, sameAddress } from '../context.ts';
import { inputFromBytes } from '../models.ts';
import type { Job } from '../store.ts';
import type { DisputeJob } from './dispute.ts';
import type { TransitionTable, WakeResult } from './machine.ts';

export type AuditState = 'pending' | 'watching' | 'assigned' | 'attested' | 'challenged' | 'closed';
export type AuditEvent = 'posted' | 'verified' | 'assigned' | 'attested' | 'challenged' | 'closed';

export const AUDIT_TRANSITIONS: TransitionTable<AuditState, AuditEvent> = {
  pending: { posted: 'watching', closed: 'closed' },
  watching: { verified: 'watching', assigned: 'assigned', challenged: 'challenged', closed: 'closed' },
  assigned: { verified: 'assigned', attested: 'attested', challenged: 'challenged', closed: 'closed' },
  attested: {},
  challenged: {},
  closed: {},
};

export interface AuditJob {
  task: TaskArgs;
  result?: TaskResultArgs;
  output?: Hex;
  /** The input's committed bytes, when known (inline in TaskCreated, or provided later). */
  input?: Hex;
  /** Re-execute even when not assigned (the watchShare draw). */
  watched: boolean;
  /** ok: the commitment matches; wrong: the output differs; checkpoint: only the hidden checkpoint differs. */
  verdict?: 'ok' | 'wrong' | 'checkpoint';
  checkpointRoot?: Hex;
  gameId?: string;
  /** The block of the result's posting (where a search for this node's challenge starts). */
  postedBlock?: bigint;
  /** Devnet only: a dishonest verifier (see the config's verifier.behaviour). */
  behaviour?: 'challenge-honest' | 'collude';
}

/** The corrupted run a devnet cheater posts (src/node/worker.ts): op ⌊n/2⌋ shifted by 3. */
const CHEATER_VARIANT = (opCount: number) => ({
  kind: 'cheat' as const,
  k: Math.floor(opCount / 2),
  delta: 3,
});
/** The trace a dishonest challenger defends: another corruption than any cheater's. */
const LIAR_VARIANT = { kind: 'cheat' as const, k: 1, delta: 5 };

const TASK_CHALLENGED = parseAbiItem(
  'event TaskChallenged(bytes32 indexed taskId, uint256 indexed gameId, address indexed challenger)',
);

/** The game this node already opened on the task, if any (read from the chain, not the DB). */
async function ownChallenge(env: NodeEnv, taskId: Hex, fromBlock: bigint): Promise<bigint | undefined> {
  const logs = await env.chain.publicClient.getLogs({
    address: env.chain.addresses.taskMarket,
    event: TASK_CHALLENGED,
    args: { taskId, challenger: env.chain.account },
    fromBlock,
  });
  return logs[0]?.args.gameId;
}

export function disputeJobOf(
  taskId: Hex,
  p: AuditJob,
  gameId: bigint,
): { kind: 'dispute'; id: string; state: 'playing'; payload: DisputeJob; done: false } {
  return {
    kind: 'dispute',
    id: gameId.toString(),
    state: 'playing',
    done: false,
    payload: {
      gameId: gameId.toString(),
      role: 'challenger',
      taskId,
      modelRoot: p.task.modelRoot,
      input: p.input as Hex,
      variant: p.behaviour === 'challenge-honest' ? LIAR_VARIANT : { kind: 'honest' },
    },
  };
}

/** A colluding auditor's attestation: the checkpoint of the cheater's run, if that is what was posted. */
async function colludingCheckpoint(env: NodeEnv, id: Hex, p: AuditJob): Promise<Hex | undefined> {
  const model = env.models.get(p.task.modelRoot);
  if (!model || !p.input || !p.result) return undefined;
  const input = inputFromBytes(model, fromHex(p.input));
  const run = await env.runs.honest(model, input, CHEATER_VARIANT(model.ops.length));
  const roots = commitHonest(input, run, model.ops.length);
  const theirs = toHex(resultCommitment(fromHex(id), roots));
  return theirs === p.result.commitment.toLowerCase() ? toHex(roots.checkpointRoot) : undefined;
}

export async function wakeAudit(
  env: NodeEnv,
  job: Job<AuditJob>,
): Promise<WakeResult<AuditEvent, AuditJob> | undefined> {
  const id = job.id as Hex;
  const p = job.payload;
  const tm = env.chain.v.taskMarket;
  const me = env.chain.account;
  const st = await tm.read.taskState([id]);
  if (job.state === 'pending') {
    // Posted: the result is on chain but its event is still ahead of this node's cursor.
    const live = st.status === STATUS.Open || st.status === STATUS.Taken || st.status === STATUS.Posted;
    return live ? undefined : { event: 'closed' };
  }
  if (st.status !== STATUS.Posted || !p.result || sameAddress(p.result.worker, me))
    return { event: 'closed' };
  const result = p.result;
  const a = await tm.read.audit([id]);
  const drawn = (st.flags & AUDIT_DRAWN) !== 0;
  const mine = drawn && a.state === AUDIT.Assigned && sameAddress(a.auditor, me);
  if (job.state === 'watching' && mine) return { event: 'assigned' };
  // An attestation that landed while its answer was lost (or before a crash) is on chain, not
  // in the DB: adopt it, rather than send it again (it would revert, block after block).
  const attestedOnChain = a.state === AUDIT.Attested || a.state === AUDIT.AttestedUnpaid;
  if (job.state === 'assigned' && attestedOnChain && sameAddress(a.auditor, me)) return { event: 'attested' };
  const now = env.head().timestamp;
  if ((p.watched || job.state === 'assigned') && !p.verdict) {
    const model = env.models.get(p.task.modelRoot);
    if (!model || !p.input) {
      env.log.warn('cannot re-execute: input unknown', { taskId: id });
      return undefined;
    }
    const input = inputFromBytes(model, fromHex(p.input));
    // Re-execution compares roots only; a dispute recomputes the full trace (env.runs.trace).
    const roots = commitHonest(input, await env.runs.honest(model, input), model.ops.length);
    env.metrics.inc('results_checked_total');
    if (toHex(roots.inputRoot) !== p.task.inputRoot.toLowerCase()) {
      env.log.warn('the known input does not match the task', { taskId: id });
      return { event: 'closed' };
    }
    const ours = toHex(resultCommitment(fromHex(id), roots));
    const verdict =
      ours === result.commitment.toLowerCase()
        ? 'ok'
        : toHex(roots.outputRoot) !== result.outputRoot.toLowerCase()
          ? 'wrong'
          : 'checkpoint';
    env.log.info('result re-executed', { taskId: id, verdict });
    return { event: 'verified', payload: { ...p, verdict, checkpointRoot: toHex(roots.checkpointRoot) } };
  }
  // A dishonest verifier: one that challenges whatever it checks, or one that covers for a cheater.
  const challenges =
    p.behaviour === 'challenge-honest'
      ? p.verdict !== undefined
      : p.behaviour !== 'collude' && p.verdict === 'wrong';
  // A colluder not (yet) assigned falls through to the draw below: it is the one verifier that
  // wants the audit drawn (to be named auditor and vouch for the cheat), and with honest
  // verifiers that challenge at once, nobody else would draw it before the conviction.
  if (p.behaviour === 'collude' && p.verdict === 'wrong' && job.state === 'assigned') {
    const checkpoint = await colludingCheckpoint(env, id, p);
    if (!checkpoint || now > BigInt(a.deadline)) return { event: 'closed' };
    await sendTx(env.chain, env, 'attestAudit', () => tm.write.attestAudit([p.task, result, checkpoint]), {
      taskId: id,
    });
    return { event: 'attested' };
  }
  if (challenges) {
    // Re-read before sending: a challenge this node sent before a restart is on chain, not in the DB.
    const opened = await ownChallenge(env, id, p.postedBlock ?? 0n);
    if (opened !== undefined) return { event: 'challenged', payload: { ...p, gameId: opened.toString() } };
    const open = now < BigInt(st.deadline) || (mine && now <= BigInt(a.deadline));
    if (!open) {
      env.log.warn('wrong result, but its challenge window closed', { taskId: id });
      return { event: 'closed' };
    }
    const receipt = await sendTx(
      env.chain,
      env,
      'challenge',
      () => tm.write.challenge([p.task, result], { value: env.chain.market.challengeBond }),
      { taskId: id },
    );
    const gameId = gameIdFromLogs(receipt.logs, env.chain.addresses.disputeGame);
    env.metrics.inc('results_challenged_total');
    return { event: 'challenged', payload: { ...p, gameId: gameId.toString() } };
  }
  if (job.state === 'assigned') {
    if (p.verdict === 'checkpoint' || now > BigInt(a.deadline)) {
      // A right output with a wrong hidden checkpoint cannot be attested, and a game on it would
      // be lost (the worker can reveal the honest trace): there is nothing safe to send.
      env.log.error('cannot answer the audit', { taskId: id, verdict: p.verdict });
      return { event: 'closed' };
    }
    if (p.verdict === 'ok') {
      await sendTx(
        env.chain,
        env,
        'attestAudit',
        () => tm.write.attestAudit([p.task, result, p.checkpointRoot as Hex]),
        {
          taskId: id,
        },
      );
      env.metrics.inc('audits_attested_total');
      return { event: 'attested' };
    }
    return undefined;
  }
  // Draw the audit as soon as its seed block is mined (drawAudit is permissionless; finalize
  // would draw too). A draw that another node sent first reverts harmlessly.
  if (!drawn && env.chain.market.auditBps > 0 && env.head().number > BigInt(st.seedBlock) + 1n) {
    try {
      await sendTx(env.chain, env, 'drawAudit', () => tm.write.drawAudit([p.task, result]), { taskId: id });
    } catch (err) {
      if (!(err instanceof TxError)) throw err;
    }
  }
  return undefined;
}
