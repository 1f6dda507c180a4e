// Calls back for every new task on the market: created ones (TaskCreated) and requester-signed
// ones posted with their result (SignedTaskPosted).
import type { Address, Hex } from 'viem';
import { watchContractEvent } from 'viem/actions';
import { abis } from '../../chain/bindings/systemAbis.ts';
import type { TaskArgs } from '../../chain/bindings/types.ts';
import type { VerinferBaseClient } from '../createVerinferClient.ts';
import { toClientError } from '../errors.ts';

export interface WatchedTask {
  taskId: Hex;
  task: TaskArgs;
  /** The committed input bytes published with the task, or '0x'. */
  inlineInput: Hex;
  /** Set for a signed task, which arrives already posted by this worker. */
  worker?: Address;
  blockNumber: bigint;
  txHash: Hex;
}

export interface WatchTasksParameters {
  onTask: (task: WatchedTask) => void;
  onError?: (error: unknown) => void;
  /** Only tasks of this model root. */
  modelRoot?: Hex;
  pollingInterval?: number;
}

/** Stops watching. */
export type WatchTasksReturnType = () => void;
export type WatchTasksErrorType = never;

export function watchTasks(
  client: VerinferBaseClient,
  { onTask, onError, modelRoot, pollingInterval }: WatchTasksParameters,
): WatchTasksReturnType {
  const market = { address: client.verinfer.contracts.taskMarket, abi: abis.taskMarket } as const;
  const onErr = (err: Error) => onError?.(toClientError(err, 'watchTasks'));
  const common = { ...market, poll: true as const, pollingInterval, onError: onErr };
  const stopCreated = watchContractEvent(client, {
    ...common,
    eventName: 'TaskCreated',
    args: modelRoot ? { modelRoot } : undefined,
    onLogs: (logs) => {
      for (const log of logs)
        onTask({
          taskId: log.args.taskId!,
          task: { ...log.args.task! },
          inlineInput: log.args.inlineInput!,
          blockNumber: log.blockNumber,
          txHash: log.transactionHash,
        });
    },
  });
  const stopSigned = watchContractEvent(client, {
    ...common,
    eventName: 'SignedTaskPosted',
    onLogs: (logs) => {
      for (const log of logs) {
        if (modelRoot && log.args.task?.modelRoot.toLowerCase() !== modelRoot.toLowerCase()) continue;
        onTask({
          taskId: log.args.taskId!,
          task: { ...log.args.task! },
          inlineInput: '0x',
          worker: log.args.worker,
          blockNumber: log.blockNumber,
          txHash: log.transactionHash,
        });
      }
    },
  });
  return () => {
    stopCreated();
    stopSigned();
  };
}
