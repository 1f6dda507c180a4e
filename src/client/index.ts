// The client and its actions: what an application imports to use Verinfer on chain.
export { type ClaimErrorType, type ClaimParameters, type ClaimReturnType, claim } from './actions/claim.ts';
export {
  type FinalizeTaskErrorType,
  type FinalizeTaskParameters,
  type FinalizeTaskReturnType,
  finalizeTask,
} from './actions/finalizeTask.ts';
export {
  DISPUTE_OUTCOMES,
  type DisputeOutcome,
  type GetDisputeErrorType,
  type GetDisputeParameters,
  type GetDisputeReturnType,
  getDispute,
} from './actions/getDispute.ts';
export {
  type GetLineageErrorType,
  type GetLineageParameters,
  type GetLineageReturnType,
  getLineage,
  type LineageEntry,
} from './actions/getLineage.ts';
export {
  type GetTaskErrorType,
  type GetTaskParameters,
  type GetTaskReturnType,
  getTask,
  type TaskDispute,
} from './actions/getTask.ts';
export {
  type RegisterDatasetErrorType,
  type RegisterDatasetParameters,
  type RegisterDatasetReturnType,
  registerDataset,
} from './actions/registerDataset.ts';
export {
  type ModelInfoParameters,
  type RegisterModelErrorType,
  type RegisterModelParameters,
  type RegisterModelReturnType,
  registerModel,
} from './actions/registerModel.ts';
export {
  type RequestInferenceErrorType,
  type RequestInferenceParameters,
  type RequestInferenceReturnType,
  requestInference,
} from './actions/requestInference.ts';
export { type StakeErrorType, type StakeParameters, type StakeReturnType, stake } from './actions/stake.ts';
export {
  type UnbondErrorType,
  type UnbondParameters,
  type UnbondReturnType,
  unbond,
} from './actions/unbond.ts';
export {
  type VerifyField,
  type VerifyMismatch,
  type VerifyTaskErrorType,
  type VerifyTaskParameters,
  type VerifyTaskReturnType,
  verifyTask,
} from './actions/verifyTask.ts';
export {
  type FinalityProgress,
  type WaitForFinalityErrorType,
  type WaitForFinalityParameters,
  type WaitForFinalityReturnType,
  waitForFinality,
} from './actions/waitForFinality.ts';
export {
  type WaitForResultErrorType,
  type WaitForResultParameters,
  type WaitForResultReturnType,
  waitForResult,
} from './actions/waitForResult.ts';
export {
  type WatchedTask,
  type WatchTasksErrorType,
  type WatchTasksParameters,
  type WatchTasksReturnType,
  watchTasks,
} from './actions/watchTasks.ts';
export {
  type CreateVerinferClientParameters,
  createVerinferClient,
  type VerinferBaseClient,
  type VerinferClient,
  type VerinferConfig,
  type VerinferContractAddresses,
} from './createVerinferClient.ts';
export { type VerinferActions, verinferActions } from './decorators/verinfer.ts';
export {
  ContractRevertError,
  DisputeNotFoundError,
  EmptyInputError,
  InputShapeError,
  InputTooLargeError,
  NoStakeError,
  RpcUnreachableError,
  StakeTooLowError,
  TaskConvictedError,
  TaskExpiredError,
  TaskNotFoundError,
  TimeoutError,
  UnknownModelError,
} from './errors.ts';
export { AccountRequiredError } from './utils/guard.ts';
export { MAX_INLINE_INPUT_BYTES, type TaskInput } from './utils/input.ts';
export { AUDIT_STATES, type AuditStateName, TASK_STATUSES, type TaskStatus } from './utils/tasks.ts';
