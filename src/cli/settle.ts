// Follows a task to its end and reports each step as it happens: taken, result posted by a worker,
// the challenge window, disputes, final. Finalizing is permissionless; when allowed to send, the
// requester settles its own task once the window has passed, instead of waiting for a worker to.
import type { Hex } from 'viem';
import { getBlock } from 'viem/actions';
import type { GetTaskReturnType } from '../client/actions/getTask.ts';
import type { WaitForFinalityReturnType } from '../client/actions/waitForFinality.ts';
import type { VerinferBaseClient } from '../client/createVerinferClient.ts';
import { ContractRevertError, TimeoutError } from '../client/errors.ts';
import { finalizeTask, getTask, waitForFinality } from '../client/index.ts';
import { guard } from '../client/utils/guard.ts';
import { findPostedResult, sleep } from '../client/utils/tasks.ts';

export type SettleStep =
  | { step: 'taken'; worker?: Hex }
  | { step: 'posted'; worker: Hex; txHash: Hex; outputRoot: Hex; windowEndsAt: bigint }
  | { step: 'disputed'; games: { gameId: bigint; challenger: Hex }[] }
  | { step: 'finalizing'; txHash: Hex; finalized: boolean }
  | { step: 'waiting'; status: string };

export interface SettleTaskOptions {
  taskId: Hex;
  /** Milliseconds before a TimeoutError (default: none). */
  timeout?: number;
  onStep?: (step: SettleStep) => void;
  /** A client with an account: it calls finalize once the challenge window has passed. */
  finalizer?: VerinferBaseClient;
  fromBlock?: bigint;
}

/**
 * Resolves with the final result; a convicted or expired task rejects with the SDK's error, which
 * says what happened to the fee.
 */
export async function settleTask(
  client: VerinferBaseClient,
  { taskId, timeout, onStep, finalizer, fromBlock }: SettleTaskOptions,
): Promise<WaitForFinalityReturnType> {
  const started = Date.now();
  const range = fromBlock === undefined ? {} : { fromBlock };
  let seen = '';
  let disputes = 0;
  let lastTry = -1n;
  for (;;) {
    const t: GetTaskReturnType = await getTask(client, { taskId, ...range });
    if (t.status !== seen) {
      seen = t.status;
      if (t.status === 'taken') onStep?.({ step: 'taken', worker: t.worker });
      else if (t.status === 'posted' && t.result)
        onStep?.({
          step: 'posted',
          worker: t.result.worker,
          txHash: (await postedTx(client, taskId, fromBlock)) ?? '0x',
          outputRoot: t.result.outputRoot,
          windowEndsAt: t.deadline,
        });
      else if (t.status === 'open') onStep?.({ step: 'waiting', status: 'open' });
    }
    if (t.disputes.games.length > disputes) {
      disputes = t.disputes.games.length;
      onStep?.({ step: 'disputed', games: t.disputes.games });
    }
    if (t.status === 'finalized' || t.status === 'convicted' || t.status === 'expired')
      return waitForFinality(client, { taskId, timeout: 0, ...range });
    if (t.status === 'posted' && finalizer && t.disputes.open === 0n) {
      const block = await guard('getBlock', () => getBlock(client));
      if (block.timestamp >= t.deadline && block.number > lastTry) {
        lastTry = block.number;
        try {
          const f = await finalizeTask(finalizer, { taskId });
          onStep?.({ step: 'finalizing', txHash: f.txHash, finalized: f.finalized });
        } catch (err) {
          // Someone else settled it first, or an audit is pending: the next poll sees which.
          if (!(err instanceof ContractRevertError)) throw err;
        }
        continue;
      }
    }
    if (timeout !== undefined && Date.now() - started >= timeout)
      throw new TimeoutError({ what: `task ${taskId} to be final (status ${t.status})`, timeout });
    await sleep(client.pollingInterval);
  }
}

async function postedTx(client: VerinferBaseClient, taskId: Hex, fromBlock?: bigint) {
  return (await findPostedResult(client, taskId, fromBlock ?? 'earliest'))?.txHash;
}
