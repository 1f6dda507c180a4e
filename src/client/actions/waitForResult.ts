// Waits until a worker has posted a result for the task (ResultPosted or SignedTaskPosted).
import type { Address, Hex } from 'viem';
import { readContract } from 'viem/actions';
import { abis } from '../../chain/bindings/systemAbis.ts';
import type { VerinferBaseClient } from '../createVerinferClient.ts';
import { type RpcUnreachableError, TaskExpiredError, TaskNotFoundError, TimeoutError } from '../errors.ts';
import { guard } from '../utils/guard.ts';
import { type FromBlock, findPostedResult, sleep, TASK_STATUSES, type TaskStatus } from '../utils/tasks.ts';

export interface WaitForResultParameters {
  taskId: Hex;
  /** Milliseconds to wait before a TimeoutError (default: no limit). */
  timeout?: number;
  /** Called whenever the task's status changes, and once at the start. */
  onProgress?: (progress: { taskId: Hex; status: TaskStatus }) => void;
  /** Milliseconds between polls (default: the client's pollingInterval). */
  pollingInterval?: number;
  fromBlock?: FromBlock;
}

export interface WaitForResultReturnType {
  taskId: Hex;
  worker: Address;
  /** keccak256(abi.encode(taskId, inputRoot, outputRoot, checkpointRoot)). */
  commitment: Hex;
  outputRoot: Hex;
  /** The output tensor's committed bytes. */
  output: Hex;
  txHash: Hex;
  blockNumber: bigint;
}

export type WaitForResultErrorType =
  | TimeoutError
  | TaskExpiredError
  | TaskNotFoundError
  | RpcUnreachableError;

/** Polls the task's state; a task that disappears or expires first ends the wait with its error. */
export async function waitForResult(
  client: VerinferBaseClient,
  { taskId, timeout, onProgress, pollingInterval, fromBlock }: WaitForResultParameters,
): Promise<WaitForResultReturnType> {
  const started = Date.now();
  const interval = pollingInterval ?? client.pollingInterval;
  let last: TaskStatus | undefined;
  for (;;) {
    const state = await guard('taskState', () =>
      readContract(client, {
        address: client.verinfer.contracts.taskMarket,
        abi: abis.taskMarket,
        functionName: 'taskState',
        args: [taskId],
      }),
    );
    const status = TASK_STATUSES[state.status] ?? 'none';
    if (status !== last) onProgress?.({ taskId, status });
    last = status;
    if (status === 'none') throw new TaskNotFoundError({ taskId });
    if (status === 'expired') {
      throw new TaskExpiredError({
        taskId,
        metaMessages: [
          'No result was posted before the deadline. The fee was refunded to your TaskMarket balance: withdraw it with claim().',
        ],
      });
    }
    if (status === 'posted' || status === 'finalized' || status === 'convicted') {
      const posted = await findPostedResult(client, taskId, fromBlock);
      if (posted)
        return {
          taskId,
          ...posted.result,
          output: posted.output,
          txHash: posted.txHash,
          blockNumber: posted.blockNumber,
        };
    }
    if (timeout !== undefined && Date.now() - started >= timeout)
      throw new TimeoutError({ what: `a result for task ${taskId} (status ${status})`, timeout });
    await sleep(interval);
  }
}
