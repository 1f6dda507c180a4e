// Settles a posted task once its challenge window has passed (permissionless): the worker is paid
// and the consumer, if any, is called.
import type { Hash, Hex } from 'viem';
import { abis } from '../../chain/bindings/systemAbis.ts';
import { VerinferError } from '../../errors/base.ts';
import type { VerinferBaseClient } from '../createVerinferClient.ts';
import type { ContractRevertError, RpcUnreachableError, TaskNotFoundError } from '../errors.ts';
import { type AccountRequiredError, writeAndWait } from '../utils/guard.ts';
import { getTask } from './getTask.ts';

export interface FinalizeTaskParameters {
  taskId: Hex;
}

export interface FinalizeTaskReturnType {
  txHash: Hash;
  /** False when the call drew an audit instead (an auditor must answer first); call again later. */
  finalized: boolean;
}

export type FinalizeTaskErrorType =
  | TaskNotFoundError
  | ContractRevertError
  | RpcUnreachableError
  | AccountRequiredError
  | VerinferError;

export async function finalizeTask(
  client: VerinferBaseClient,
  { taskId }: FinalizeTaskParameters,
): Promise<FinalizeTaskReturnType> {
  const t = await getTask(client, { taskId });
  if (t.status !== 'posted' || !t.task || !t.result || t.output === undefined)
    throw new VerinferError(`Task ${taskId} is ${t.status}; only a posted task can be finalized.`);
  const { txHash, result } = await writeAndWait(client, 'finalizeTask', {
    address: client.verinfer.contracts.taskMarket,
    abi: abis.taskMarket,
    functionName: 'finalize',
    args: [t.task, t.result, t.output],
  });
  return { txHash, finalized: result === true };
}
