// Publishes a model: the registry rebuilds the model root from its descriptor, checks the structure
// the dispute game relies on, and records the publisher's name, version and lineage.
import type { Hash, Hex } from 'viem';
import { modelDescriptorOf } from '../../chain/bindings/commitments.ts';
import { abis } from '../../chain/bindings/systemAbis.ts';
import { ZERO_BYTES32 } from '../../chain/bindings/types.ts';
import type { Model } from '../../engine/graph.ts';
import { validateModel } from '../../engine/validate.ts';
import type { ModelFormatError } from '../../errors/base.ts';
import type { VerinferBaseClient } from '../createVerinferClient.ts';
import type { ContractRevertError, RpcUnreachableError } from '../errors.ts';
import { type AccountRequiredError, writeAndWait } from '../utils/guard.ts';

export interface ModelInfoParameters {
  name: string;
  version: string;
  /** The root of the previous version, published by the same account. */
  parent?: Hex;
  /** The DataRegistry content ID of the training data. */
  dataId?: Hex;
  /** Where the model package can be fetched. */
  uri?: string;
}

export interface RegisterModelParameters {
  model: Model;
  info: ModelInfoParameters;
}

export interface RegisterModelReturnType {
  modelRoot: Hex;
  txHash: Hash;
}

export type RegisterModelErrorType =
  | ModelFormatError
  | ContractRevertError
  | RpcUnreachableError
  | AccountRequiredError;

export async function registerModel(
  client: VerinferBaseClient,
  { model, info }: RegisterModelParameters,
): Promise<RegisterModelReturnType> {
  // The registry would refuse what the validator refuses, at the price of a reverted call.
  validateModel(model);
  const { txHash, result } = await writeAndWait(client, 'registerModel', {
    address: client.verinfer.contracts.modelRegistry,
    abi: abis.modelRegistry,
    functionName: 'register',
    args: [
      modelDescriptorOf(model),
      {
        name: info.name,
        version: info.version,
        parent: info.parent ?? ZERO_BYTES32,
        dataId: info.dataId ?? ZERO_BYTES32,
        uri: info.uri ?? '',
      },
    ],
  });
  return { modelRoot: result as Hex, txHash };
}
