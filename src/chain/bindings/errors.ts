// The custom error behind a failed call or transaction, for messages and tests.
import { BaseError, ContractFunctionRevertedError } from 'viem';

/** The name of the custom error a viem error reverted with, or undefined if it is not a decoded revert. */
export function revertErrorName(err: unknown): string | undefined {
  if (!(err instanceof BaseError)) return undefined;
  const revert = err.walk((e) => e instanceof ContractFunctionRevertedError);
  if (revert instanceof ContractFunctionRevertedError) return revert.data?.errorName ?? revert.reason;
  return undefined;
}

/** The decoded arguments of the custom error, if any. */
export function revertErrorArgs(err: unknown): readonly unknown[] | undefined {
  if (!(err instanceof BaseError)) return undefined;
  const revert = err.walk((e) => e instanceof ContractFunctionRevertedError);
  if (revert instanceof ContractFunctionRevertedError) return revert.data?.args;
  return undefined;
}
