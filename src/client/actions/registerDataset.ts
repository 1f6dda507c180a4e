// Registers a dataset by content ID. A second registration of the same content is linked to the
// first as a duplicate; its contributors are recorded once each.
import type { Address, Hash, Hex } from 'viem';
import { keccak256 } from 'viem';
import { abis } from '../../chain/bindings/systemAbis.ts';
import { InputError } from '../../errors/base.ts';
import type { VerinferBaseClient } from '../createVerinferClient.ts';
import type { ContractRevertError, RpcUnreachableError } from '../errors.ts';
import { type AccountRequiredError, writeAndWait } from '../utils/guard.ts';

export interface RegisterDatasetParameters {
  /** The content ID; or give `data` and its keccak256 is used. */
  contentId?: Hex;
  data?: Uint8Array;
  uri: string;
  contributors?: readonly Address[];
}

export interface RegisterDatasetReturnType {
  contentId: Hex;
  /** The registration's index in the registry. */
  registration: bigint;
  /** False when the content was already registered (this registration links to the first). */
  isNew: boolean;
  txHash: Hash;
}

export type RegisterDatasetErrorType =
  | InputError
  | ContractRevertError
  | RpcUnreachableError
  | AccountRequiredError;

export async function registerDataset(
  client: VerinferBaseClient,
  { contentId, data, uri, contributors = [] }: RegisterDatasetParameters,
): Promise<RegisterDatasetReturnType> {
  const id = contentId ?? (data ? keccak256(data) : undefined);
  if (!id || /^0x0*$/.test(id))
    throw new InputError('A dataset needs a non-zero content ID: pass `contentId`, or the bytes as `data`.');
  const { txHash, result } = await writeAndWait(client, 'registerDataset', {
    address: client.verinfer.contracts.dataRegistry,
    abi: abis.dataRegistry,
    functionName: 'register',
    args: [id, uri, contributors],
  });
  const [registration, isNew] = result as [bigint, boolean];
  return { contentId: id, registration, isNew, txHash };
}
