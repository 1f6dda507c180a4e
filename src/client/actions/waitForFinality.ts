// Waits until the task is settled. A final result resolves; a conviction or an expiry rejects with
// an error that says what happened to the fee and what to do next.
import type { Address, Hex } from 'viem';
import { formatEther } from 'viem';
import { getContractEvents, readContract } from 'viem/actions';
import { abis } from '../../chain/bindings/systemAbis.ts';
import { NATIVE } from '../../chain/bindings/types.ts';
import type { VerinferBaseClient } from '../createVerinferClient.ts';
import {
  type RpcUnreachableError,
  TaskConvictedError,
  TaskExpiredError,
  TaskNotFoundError,
  TimeoutError,
} from '../errors.ts';
import { guard } from '../utils/guard.ts';
import {
  type FromBlock,
  findPostedResult,
  sleep,
  TASK_FLAGS,
  TASK_STATUSES,
  type TaskStatus,
} from '../utils/tasks.ts';

export interface FinalityProgress {
  taskId: Hex;
  status: TaskStatus;
  /** The end of the challenge window once posted (seconds, chain time). */
  deadline: bigint;
  disputed: boolean;
}

export interface WaitForFinalityParameters {
  taskId: Hex;
  /** Milliseconds to wait before a TimeoutError (default: no limit). */
  timeout?: number;
  /** Called whenever the status or the disputed flag changes, and once at the start. */
  onProgress?: (progress: FinalityProgress) => void;
  pollingInterval?: number;
  fromBlock?: FromBlock;
}

export interface WaitForFinalityReturnType {
  taskId: Hex;
  status: 'finalized';
  worker: Address;
  /** What the worker was paid, and what an attesting auditor was. */
  workerPay: bigint;
  auditReward: bigint;
  outputRoot: Hex;
  /** The output tensor's committed bytes. */
  output: Hex;
  txHash: Hex;
}

export type WaitForFinalityErrorType =
  | TimeoutError
  | TaskConvictedError
  | TaskExpiredError
  | TaskNotFoundError
  | RpcUnreachableError;

export async function waitForFinality(
  client: VerinferBaseClient,
  { taskId, timeout, onProgress, pollingInterval, fromBlock = 'earliest' }: WaitForFinalityParameters,
): Promise<WaitForFinalityReturnType> {
  const market = { address: client.verinfer.contracts.taskMarket, abi: abis.taskMarket } as const;
  const started = Date.now();
  const interval = pollingInterval ?? client.pollingInterval;
  let last = '';
  for (;;) {
    const state = await guard('taskState', () =>
      readContract(client, { ...market, functionName: 'taskState', args: [taskId] }),
    );
    const status = TASK_STATUSES[state.status] ?? 'none';
    const disputed = (state.flags & TASK_FLAGS.disputed) !== 0;
    if (`${status}:${disputed}` !== last)
      onProgress?.({ taskId, status, deadline: BigInt(state.deadline), disputed });
    last = `${status}:${disputed}`;
    if (status === 'none') throw new TaskNotFoundError({ taskId });
    if (status === 'finalized') {
      const [log] = await guard('TaskFinalized logs', () =>
        getContractEvents(client, { ...market, eventName: 'TaskFinalized', args: { taskId }, fromBlock }),
      );
      const posted = await findPostedResult(client, taskId, fromBlock);
      return {
        taskId,
        status: 'finalized',
        worker: log?.args.worker ?? posted?.result.worker ?? '0x',
        workerPay: log?.args.workerPay ?? 0n,
        auditReward: log?.args.auditReward ?? 0n,
        outputRoot: posted?.result.outputRoot ?? '0x',
        output: posted?.output ?? '0x',
        txHash: log?.transactionHash ?? '0x',
      };
    }
    if (status === 'convicted') {
      const [log] = await guard('TaskConvicted logs', () =>
        getContractEvents(client, { ...market, eventName: 'TaskConvicted', args: { taskId }, fromBlock }),
      );
      throw new TaskConvictedError({
        taskId,
        metaMessages: [
          `Worker ${log?.args.worker ?? '(unknown)'} lost a dispute game to challenger ${log?.args.challenger ?? '(unknown)'}: its result was wrong.`,
          "The fee was refunded to the requester's TaskMarket balance (withdraw it with claim()), and the worker's stake was slashed.",
          'Request the inference again to get a result.',
        ],
      });
    }
    if (status === 'expired') {
      const [log] = await guard('TaskExpired logs', () =>
        getContractEvents(client, { ...market, eventName: 'TaskExpired', args: { taskId }, fromBlock }),
      );
      const worker = log?.args.worker;
      const taken = worker && worker !== '0x0000000000000000000000000000000000000000';
      const opening = await guard('TaskCreated logs', () =>
        getContractEvents(client, { ...market, eventName: 'TaskCreated', args: { taskId }, fromBlock }),
      );
      const terms = opening[0]?.args.task;
      const fee =
        terms === undefined
          ? ''
          : terms.feeToken === NATIVE
            ? ` (${formatEther(terms.fee)} ETH)`
            : ` (${terms.fee} units of ${terms.feeToken})`;
      throw new TaskExpiredError({
        taskId,
        metaMessages: [
          taken
            ? `Worker ${worker} took the task but posted no result in time${log?.args.workerSlashed ? ', and its stake was slashed (part of it goes to the requester)' : ''}.`
            : 'No worker took the task before its take deadline.',
          `The fee${fee} was refunded to the requester's TaskMarket balance: withdraw it with claim().`,
        ],
      });
    }
    if (timeout !== undefined && Date.now() - started >= timeout)
      throw new TimeoutError({ what: `task ${taskId} to be final (status ${status})`, timeout });
    await sleep(interval);
  }
}
