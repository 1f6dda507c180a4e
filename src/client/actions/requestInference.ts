// Opens a task: the requester escrows the fee and publishes the input inline, so that a worker
// that takes the task can always compute it (and is slashed if it never delivers).
import type { Address, Hash, Hex } from 'viem';
import { getBlock, readContract } from 'viem/actions';
import { abis } from '../../chain/bindings/systemAbis.ts';
import { NATIVE, type TaskArgs } from '../../chain/bindings/types.ts';
import { toHex } from '../../commit/keccak.ts';
import { modelRoot } from '../../commit/modelRoot.ts';
import { tensorRoot } from '../../commit/tensorRoot.ts';
import type { Model } from '../../engine/graph.ts';
import type { InputError } from '../../errors/base.ts';
import type { VerinferBaseClient } from '../createVerinferClient.ts';
import {
  type ContractRevertError,
  type EmptyInputError,
  type InputShapeError,
  type InputTooLargeError,
  type RpcUnreachableError,
  UnknownModelError,
} from '../errors.ts';
import { type AccountRequiredError, accountOf, guard, writeAndWait } from '../utils/guard.ts';
import { checkSampleBytes, inputBytesOf, type TaskInput } from '../utils/input.ts';

export interface RequestInferenceParameters {
  /** The model root, or the model itself (then the input is checked against its shape and dtype). */
  model: Hex | Model;
  /** The quantized input tensor, or its committed bytes (row-major; i32 big-endian). */
  input: TaskInput;
  /** In wei of the native currency, or in units of `feeToken` (which must be approved). */
  fee: bigint;
  feeToken?: Address;
  /** An IVerinferConsumer called on finalization (default: none). */
  consumer?: Address;
  callbackGasLimit?: number;
  /** 32 bytes that make the task ID unique (default: random). */
  salt?: Hex;
  /** Seconds from now during which a worker may take the task (default: 1 hour). */
  takeWithin?: number;
}

export interface RequestInferenceReturnType {
  taskId: Hex;
  /** The task's terms: every later call about the task passes them back. */
  task: TaskArgs;
  txHash: Hash;
}

export type RequestInferenceErrorType =
  | UnknownModelError
  | InputShapeError
  | InputError
  | EmptyInputError
  | InputTooLargeError
  | RpcUnreachableError
  | ContractRevertError
  | AccountRequiredError;

function randomSalt(): Hex {
  return toHex(crypto.getRandomValues(new Uint8Array(32)));
}

/**
 * Checks the input and the model, then creates the task with its input inline
 * (TaskMarket.createTask). Nothing is sent unless every check passes.
 */
export async function requestInference(
  client: VerinferBaseClient,
  parameters: RequestInferenceParameters,
): Promise<RequestInferenceReturnType> {
  const account = accountOf(client, 'requestInference');
  const { contracts } = client.verinfer;
  const root = (
    typeof parameters.model === 'string' ? parameters.model : toHex(modelRoot(parameters.model))
  ).toLowerCase() as Hex;
  const model = typeof parameters.model === 'string' ? client.verinfer.models.get(root) : parameters.model;
  const bytes = inputBytesOf(parameters.input, model);
  const registered = await guard('isRegistered', () =>
    readContract(client, {
      address: contracts.modelRegistry,
      abi: abis.modelRegistry,
      functionName: 'isRegistered',
      args: [root],
    }),
  );
  if (!registered) throw new UnknownModelError({ modelRoot: root });
  const layout = await guard('modelLayout', () =>
    readContract(client, {
      address: contracts.modelRegistry,
      abi: abis.modelRegistry,
      functionName: 'modelLayout',
      args: [root],
    }),
  );
  // The registry fixes a sample's byte length for whoever registered the root: a local model
  // cannot disagree with it (the root binds the shapes), but a bare root is checked only here.
  checkSampleBytes(bytes.length, Number(layout.inputBytesPerSample));
  const block = await guard('getBlock', () => getBlock(client));
  const task: TaskArgs = {
    requester: account.address,
    modelRoot: root,
    inputRoot: toHex(tensorRoot(bytes)),
    feeToken: parameters.feeToken ?? NATIVE,
    fee: parameters.fee,
    takeDeadline: block.timestamp + BigInt(parameters.takeWithin ?? 3600),
    consumer: parameters.consumer ?? NATIVE,
    callbackGasLimit: parameters.callbackGasLimit ?? 0,
    salt: parameters.salt ?? randomSalt(),
  };
  const { txHash, result } = await writeAndWait(client, 'requestInference', {
    address: contracts.taskMarket,
    abi: abis.taskMarket,
    functionName: 'createTask',
    args: [task, toHex(bytes)],
    value: task.feeToken === NATIVE ? task.fee : 0n,
  });
  // createTask returns taskIdOf(chainId, market, task); the simulation ran the same call.
  return { taskId: result as Hex, task, txHash };
}
