// Pays out everything the account can take: fees and refunds owed by the TaskMarket, its share of
// slash proceeds, and unbonded stake whose delay has passed. Sends one transaction per source that
// holds something, and none when nothing is due.
import type { Address, Hash } from 'viem';
import { getBlock, readContract } from 'viem/actions';
import { abis } from '../../chain/bindings/systemAbis.ts';
import { NATIVE } from '../../chain/bindings/types.ts';
import type { VerinferBaseClient } from '../createVerinferClient.ts';
import type { ContractRevertError, RpcUnreachableError } from '../errors.ts';
import { type AccountRequiredError, accountOf, guard, writeAndWait } from '../utils/guard.ts';

export interface ClaimParameters {
  /** Who receives the payout (default: the account). */
  to?: Address;
  /** The TaskMarket fee currency to withdraw (default: native). */
  feeToken?: Address;
}

export interface ClaimReturnType {
  /** TaskMarket.withdraw: fees earned and refunds. */
  market: bigint;
  /** AgentRegistry.claim: slash proceeds. */
  slashProceeds: bigint;
  /** AgentRegistry.withdraw: unbonded stake. */
  stake: bigint;
  /** Unbonding stake not ready yet, and when it is (chain time, seconds). */
  pending: { amount: bigint; readyAt: bigint };
  txHashes: Hash[];
}

export type ClaimErrorType = ContractRevertError | RpcUnreachableError | AccountRequiredError;

export async function claim(
  client: VerinferBaseClient,
  { to, feeToken = NATIVE }: ClaimParameters = {},
): Promise<ClaimReturnType> {
  const account = accountOf(client, 'claim');
  const recipient = to ?? account.address;
  const { agentRegistry, taskMarket } = client.verinfer.contracts;
  const registry = { address: agentRegistry, abi: abis.agentRegistry } as const;
  const market = { address: taskMarket, abi: abis.taskMarket } as const;
  const [owed, proceeds, info, block] = await Promise.all([
    guard('owed', () =>
      readContract(client, { ...market, functionName: 'owed', args: [feeToken, account.address] }),
    ),
    guard('claimable', () =>
      readContract(client, { ...registry, functionName: 'claimable', args: [account.address] }),
    ),
    guard('agentInfo', () =>
      readContract(client, { ...registry, functionName: 'agentInfo', args: [account.address] }),
    ),
    guard('getBlock', () => getBlock(client)),
  ]);
  const out: ClaimReturnType = {
    market: 0n,
    slashProceeds: 0n,
    stake: 0n,
    pending: { amount: 0n, readyAt: 0n },
    txHashes: [],
  };
  if (owed > 0n) {
    const { txHash } = await writeAndWait(client, 'claim', {
      ...market,
      functionName: 'withdraw',
      args: [feeToken, recipient],
    });
    out.market = owed;
    out.txHashes.push(txHash);
  }
  if (proceeds > 0n) {
    const { txHash } = await writeAndWait(client, 'claim', {
      ...registry,
      functionName: 'claim',
      args: [recipient],
    });
    out.slashProceeds = proceeds;
    out.txHashes.push(txHash);
  }
  if (info.unbonding > 0n) {
    // The next block's timestamp is at least this one's: withdraw only what is surely ready.
    if (block.timestamp >= info.unbondReadyAt) {
      const { txHash } = await writeAndWait(client, 'claim', {
        ...registry,
        functionName: 'withdraw',
        args: [recipient],
      });
      out.stake = info.unbonding;
      out.txHashes.push(txHash);
    } else {
      out.pending = { amount: info.unbonding, readyAt: info.unbondReadyAt };
    }
  }
  return out;
}
