// Starts unbonding free stake. It can be withdrawn with claim() once the registry's unbonding delay
// has passed since the last request; locked stake (backing open work) never unbonds.
import type { Hash } from 'viem';
import { readContract } from 'viem/actions';
import { abis } from '../../chain/bindings/systemAbis.ts';
import { InputError } from '../../errors/base.ts';
import type { VerinferBaseClient } from '../createVerinferClient.ts';
import { type ContractRevertError, NoStakeError, type RpcUnreachableError } from '../errors.ts';
import { type AccountRequiredError, accountOf, guard, writeAndWait } from '../utils/guard.ts';

export interface UnbondParameters {
  /** Wei of free stake to unbond. */
  amount: bigint;
}

export interface UnbondReturnType {
  txHash: Hash;
  /** Chain time (seconds) from which claim() pays the unbonding stake out. */
  readyAt: bigint;
}

export type UnbondErrorType =
  | NoStakeError
  | InputError
  | ContractRevertError
  | RpcUnreachableError
  | AccountRequiredError;

export async function unbond(
  client: VerinferBaseClient,
  { amount }: UnbondParameters,
): Promise<UnbondReturnType> {
  const account = accountOf(client, 'unbond');
  const registry = { address: client.verinfer.contracts.agentRegistry, abi: abis.agentRegistry } as const;
  if (amount <= 0n) throw new InputError(`Unbond a positive amount, not ${amount} wei.`);
  const info = await guard('agentInfo', () =>
    readContract(client, { ...registry, functionName: 'agentInfo', args: [account.address] }),
  );
  if (!info.registered)
    throw new NoStakeError(
      `Account ${account.address} has no stake to unbond: it is not a registered agent.`,
      {
        metaMessages: ['Stake first with stake({ amount }).'],
      },
    );
  const free = info.stake - info.locked;
  if (amount > free)
    throw new NoStakeError(
      `Account ${account.address} has ${free} wei of free stake; it cannot unbond ${amount} wei.`,
      { metaMessages: [`${info.locked} wei are locked by open work and unlock when it settles.`] },
    );
  const { txHash } = await writeAndWait(client, 'unbond', {
    ...registry,
    functionName: 'requestUnbond',
    args: [amount],
  });
  const after = await guard('agentInfo', () =>
    readContract(client, { ...registry, functionName: 'agentInfo', args: [account.address] }),
  );
  return { txHash, readyAt: after.unbondReadyAt };
}
