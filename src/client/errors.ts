// The errors of the client's actions. Each one says what went wrong and what to do; every check
// that can fail before a transaction runs before it, so these errors never leave a half-sent state.
import {
  BaseError,
  ContractFunctionRevertedError,
  type Hex,
  HttpRequestError,
  TimeoutError as ViemTimeoutError,
  WebSocketRequestError,
} from 'viem';
import { InputError, VerinferError, type VerinferErrorOptions } from '../errors/base.ts';

/** The root is not registered in the ModelRegistry. */
export class UnknownModelError extends VerinferError {
  override name = 'UnknownModelError' as const;
  readonly modelRoot: Hex;
  constructor({ modelRoot, ...options }: { modelRoot: Hex } & VerinferErrorOptions) {
    super(`Model ${modelRoot} is not registered in the ModelRegistry.`, {
      metaMessages: ['Register it first with registerModel({ model, info }), or check the model root.'],
      docsPath: 'protocol.md',
      ...options,
    });
    this.modelRoot = modelRoot;
  }
}

/** An input whose shape, dtype or byte length does not fit the model. */
export class InputShapeError extends InputError {
  override name = 'InputShapeError' as const;
}

export class EmptyInputError extends InputError {
  override name = 'EmptyInputError' as const;
  constructor(options: VerinferErrorOptions = {}) {
    super(
      'The input is empty. Pass the quantized input tensor (or its committed bytes) of at least one sample.',
      {
        docsPath: 'commitments.md',
        ...options,
      },
    );
  }
}

export class InputTooLargeError extends InputError {
  override name = 'InputTooLargeError' as const;
  readonly byteLength: number;
  readonly maxBytes: number;
  constructor({
    byteLength,
    maxBytes,
    why,
    ...options
  }: { byteLength: number; maxBytes: number; why: string } & VerinferErrorOptions) {
    super(`The input has ${byteLength} bytes; at most ${maxBytes} fit one task (${why}).`, {
      metaMessages: ['Split the samples into several tasks.'],
      ...options,
    });
    this.byteLength = byteLength;
    this.maxBytes = maxBytes;
  }
}

/** The JSON-RPC endpoint did not answer (refused, timed out, or not an RPC server). */
export class RpcUnreachableError extends VerinferError {
  override name = 'RpcUnreachableError' as const;
  constructor(options: VerinferErrorOptions & { url?: string } = {}) {
    super(`The RPC endpoint${options.url ? ` ${options.url}` : ''} did not answer.`, {
      metaMessages: ['Check that the node is running and that the transport URL and port are right.'],
      ...options,
    });
  }
}

/** The account has no stake where stake is needed (unbond, claim of stake). */
export class NoStakeError extends VerinferError {
  override name = 'NoStakeError' as const;
}

/** A stake below the registry's minimum. */
export class StakeTooLowError extends VerinferError {
  override name = 'StakeTooLowError' as const;
  readonly amount: bigint;
  readonly minStake: bigint;
  constructor({ amount, minStake, ...options }: { amount: bigint; minStake: bigint } & VerinferErrorOptions) {
    super(`A stake of ${amount} wei is below the AgentRegistry's minimum of ${minStake} wei.`, {
      metaMessages: [`Stake at least ${minStake} wei to register as an agent.`],
      docsPath: 'protocol.md',
      ...options,
    });
    this.amount = amount;
    this.minStake = minStake;
  }
}

export class TaskNotFoundError extends VerinferError {
  override name = 'TaskNotFoundError' as const;
  readonly taskId: Hex;
  constructor({ taskId, ...options }: { taskId: Hex } & VerinferErrorOptions) {
    super(`Task ${taskId} does not exist on this TaskMarket.`, {
      metaMessages: ['Check the task ID and that the client points at the TaskMarket that created it.'],
      ...options,
    });
    this.taskId = taskId;
  }
}

export class DisputeNotFoundError extends VerinferError {
  override name = 'DisputeNotFoundError' as const;
  constructor({ gameId, ...options }: { gameId: bigint } & VerinferErrorOptions) {
    super(`Dispute game ${gameId} does not exist on this DisputeGame.`, options);
  }
}

/** Waited longer than the caller allowed. The task goes on: waiting again picks it up. */
export class TimeoutError extends VerinferError {
  override name = 'TimeoutError' as const;
  constructor({ what, timeout, ...options }: { what: string; timeout: number } & VerinferErrorOptions) {
    super(`Timed out after ${timeout} ms waiting for ${what}.`, {
      metaMessages: ['Nothing was undone: call the wait again, or raise `timeout`.'],
      ...options,
    });
  }
}

/** The task ended without a final result because its worker was convicted in a dispute game. */
export class TaskConvictedError extends VerinferError {
  override name = 'TaskConvictedError' as const;
  readonly taskId: Hex;
  constructor({ taskId, ...options }: { taskId: Hex } & VerinferErrorOptions) {
    super(`Task ${taskId} has no final result: its worker was convicted of a wrong result in a dispute.`, {
      docsPath: 'protocol.md',
      ...options,
    });
    this.taskId = taskId;
  }
}

/** The task expired: nobody took it, or the worker that took it posted nothing in time. */
export class TaskExpiredError extends VerinferError {
  override name = 'TaskExpiredError' as const;
  readonly taskId: Hex;
  constructor({ taskId, ...options }: { taskId: Hex } & VerinferErrorOptions) {
    super(`Task ${taskId} expired without a result.`, { docsPath: 'protocol.md', ...options });
    this.taskId = taskId;
  }
}

/** A call or transaction reverted with one of the contracts' custom errors. */
export class ContractRevertError extends VerinferError {
  override name = 'ContractRevertError' as const;
  /** The custom error's name, e.g. `TaskMarketFeeTooLow`, or the revert reason. */
  readonly errorName: string;
  readonly args: readonly unknown[];
  constructor({
    errorName,
    args,
    functionName,
    ...options
  }: { errorName: string; args: readonly unknown[]; functionName: string } & VerinferErrorOptions) {
    const shown = args.map((a) => (typeof a === 'bigint' ? a.toString() : JSON.stringify(a))).join(', ');
    super(`${functionName} reverted with ${errorName}(${shown}).`, {
      metaMessages: [
        'The contract refused the call; nothing was changed on chain. The error name says which rule it broke (see the contract).',
      ],
      ...options,
    });
    this.errorName = errorName;
    this.args = args;
  }
}

/** The RPC error behind a viem error, as an RpcUnreachableError, or undefined. */
function unreachable(err: BaseError): RpcUnreachableError | undefined {
  const cause = err.walk(
    (e) =>
      e instanceof HttpRequestError || e instanceof WebSocketRequestError || e instanceof ViemTimeoutError,
  );
  if (!cause) return undefined;
  const url = (cause as { url?: string }).url;
  return new RpcUnreachableError({ url, cause: err, details: err.shortMessage });
}

/**
 * Maps what viem throws to the client's errors: an unreachable endpoint to RpcUnreachableError,
 * a decoded revert to ContractRevertError. Anything else (already a VerinferError, or a bug) passes.
 */
export function toClientError(err: unknown, functionName: string): unknown {
  if (err instanceof VerinferError || !(err instanceof BaseError)) return err;
  const rpc = unreachable(err);
  if (rpc) return rpc;
  const revert = err.walk((e) => e instanceof ContractFunctionRevertedError);
  if (revert instanceof ContractFunctionRevertedError) {
    return new ContractRevertError({
      errorName: revert.data?.errorName ?? revert.reason ?? 'an unknown error',
      args: revert.data?.args ?? [],
      functionName,
      cause: err,
      details: err.shortMessage,
    });
  }
  return err;
}
