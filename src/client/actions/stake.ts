// Bonds stake in the AgentRegistry: the first call registers the account as an agent (with the
// models it serves), later calls add to its stake.
import type { Hash, Hex } from 'viem';
import { readContract } from 'viem/actions';
import { abis } from '../../chain/bindings/systemAbis.ts';
import { InputError } from '../../errors/base.ts';
import type { VerinferBaseClient } from '../createVerinferClient.ts';
import { type ContractRevertError, type RpcUnreachableError, StakeTooLowError } from '../errors.ts';
import { type AccountRequiredError, accountOf, guard, writeAndWait } from '../utils/guard.ts';

export interface StakeParameters {
  /** Wei to bond. */
  amount: bigint;
  /** Where peers reach this agent (on registration). */
  endpoint?: string;
  /** The model roots it serves (on registration). */
  models?: readonly Hex[];
}

export interface StakeReturnType {
  txHash: Hash;
  /** True when this call registered the agent. */
  registered: boolean;
  /** The bonded stake after the call. */
  stake: bigint;
}

export type StakeErrorType =
  | StakeTooLowError
  | InputError
  | ContractRevertError
  | RpcUnreachableError
  | AccountRequiredError;

export async function stake(
  client: VerinferBaseClient,
  { amount, endpoint = '', models = [] }: StakeParameters,
): Promise<StakeReturnType> {
  const account = accountOf(client, 'stake');
  const registry = { address: client.verinfer.contracts.agentRegistry, abi: abis.agentRegistry } as const;
  if (amount <= 0n) throw new InputError(`A stake must be positive, not ${amount} wei.`);
  const info = await guard('agentInfo', () =>
    readContract(client, { ...registry, functionName: 'agentInfo', args: [account.address] }),
  );
  if (!info.registered) {
    const minStake = await guard('minStake', () =>
      readContract(client, { ...registry, functionName: 'minStake' }),
    );
    if (amount < minStake) throw new StakeTooLowError({ amount, minStake });
  }
  const { txHash } = info.registered
    ? await writeAndWait(client, 'stake', { ...registry, functionName: 'addStake', value: amount })
    : await writeAndWait(client, 'stake', {
        ...registry,
        functionName: 'register',
        args: [endpoint, models],
        value: amount,
      });
  return { txHash, registered: !info.registered, stake: info.stake + amount };
}
