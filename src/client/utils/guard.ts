// Runs one RPC step of an action and turns what viem throws into the client's errors.
import type { Abi, Hash, TransactionReceipt } from 'viem';
import { parseAccount } from 'viem/accounts';
import { simulateContract, waitForTransactionReceipt, writeContract } from 'viem/actions';
import { VerinferError } from '../../errors/base.ts';
import type { VerinferBaseClient } from '../createVerinferClient.ts';
import { toClientError } from '../errors.ts';

/** Calls `fn`; an unreachable endpoint becomes RpcUnreachableError, a revert ContractRevertError. */
export async function guard<T>(functionName: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toClientError(err, functionName);
  }
}

/** A write needs an account on the client. */
export class AccountRequiredError extends VerinferError {
  override name = 'AccountRequiredError' as const;
  constructor(action: string) {
    super(`${action} sends a transaction, and the client has no account.`, {
      metaMessages: [
        'Pass `account` (a local account, or the address of an unlocked node account) to createVerinferClient.',
      ],
    });
  }
}

export function accountOf(client: VerinferBaseClient, action: string) {
  if (!client.account) throw new AccountRequiredError(action);
  return parseAccount(client.account);
}

export interface ContractWrite {
  address: `0x${string}`;
  abi: Abi | readonly unknown[];
  functionName: string;
  args?: readonly unknown[];
  value?: bigint;
}

export interface WriteResult {
  txHash: Hash;
  receipt: TransactionReceipt;
  /** What the simulated call returned. */
  result: unknown;
}

/**
 * Simulates the call first (a revert is reported before anything is sent), then sends it and
 * waits for its receipt. A mined revert is a ContractRevertError too.
 */
export async function writeAndWait(
  client: VerinferBaseClient,
  action: string,
  call: ContractWrite,
): Promise<WriteResult> {
  const account = accountOf(client, action);
  const { request, result } = await guard(call.functionName, () =>
    simulateContract(client, { ...call, account, chain: client.chain } as never),
  );
  const txHash = await guard(call.functionName, () => writeContract(client, request as never));
  const receipt = await guard(call.functionName, () => waitForTransactionReceipt(client, { hash: txHash }));
  if (receipt.status !== 'success') {
    throw new VerinferError(`${call.functionName} was mined but reverted (transaction ${txHash}).`, {
      metaMessages: ['The chain changed between the simulation and the transaction; retry the action.'],
    });
  }
  return { txHash, receipt, result };
}
