// Binds the actions of ../actions to a client, as viem's publicActions does: `client.extend(verinferActions)`.
import type { Account, Chain, Client, Transport } from 'viem';
import { type ClaimParameters, type ClaimReturnType, claim } from '../actions/claim.ts';
import {
  type FinalizeTaskParameters,
  type FinalizeTaskReturnType,
  finalizeTask,
} from '../actions/finalizeTask.ts';
import { type GetDisputeParameters, type GetDisputeReturnType, getDispute } from '../actions/getDispute.ts';
import { type GetLineageParameters, type GetLineageReturnType, getLineage } from '../actions/getLineage.ts';
import { type GetTaskParameters, type GetTaskReturnType, getTask } from '../actions/getTask.ts';
import {
  type RegisterDatasetParameters,
  type RegisterDatasetReturnType,
  registerDataset,
} from '../actions/registerDataset.ts';
import {
  type RegisterModelParameters,
  type RegisterModelReturnType,
  registerModel,
} from '../actions/registerModel.ts';
import {
  type RequestInferenceParameters,
  type RequestInferenceReturnType,
  requestInference,
} from '../actions/requestInference.ts';
import { type StakeParameters, type StakeReturnType, stake } from '../actions/stake.ts';
import { type UnbondParameters, type UnbondReturnType, unbond } from '../actions/unbond.ts';
import { type VerifyTaskParameters, type VerifyTaskReturnType, verifyTask } from '../actions/verifyTask.ts';
import {
  type WaitForFinalityParameters,
  type WaitForFinalityReturnType,
  waitForFinality,
} from '../actions/waitForFinality.ts';
import {
  type WaitForResultParameters,
  type WaitForResultReturnType,
  waitForResult,
} from '../actions/waitForResult.ts';
import { type WatchTasksParameters, type WatchTasksReturnType, watchTasks } from '../actions/watchTasks.ts';
import type { VerinferBaseClient, VerinferConfig } from '../createVerinferClient.ts';

export type VerinferActions<
  _chain extends Chain | undefined = Chain | undefined,
  _account extends Account | undefined = Account | undefined,
> = {
  requestInference: (parameters: RequestInferenceParameters) => Promise<RequestInferenceReturnType>;
  waitForResult: (parameters: WaitForResultParameters) => Promise<WaitForResultReturnType>;
  waitForFinality: (parameters: WaitForFinalityParameters) => Promise<WaitForFinalityReturnType>;
  finalizeTask: (parameters: FinalizeTaskParameters) => Promise<FinalizeTaskReturnType>;
  getTask: (parameters: GetTaskParameters) => Promise<GetTaskReturnType>;
  watchTasks: (parameters: WatchTasksParameters) => WatchTasksReturnType;
  getDispute: (parameters: GetDisputeParameters) => Promise<GetDisputeReturnType>;
  verifyTask: (parameters: VerifyTaskParameters) => Promise<VerifyTaskReturnType>;
  registerModel: (parameters: RegisterModelParameters) => Promise<RegisterModelReturnType>;
  registerDataset: (parameters: RegisterDatasetParameters) => Promise<RegisterDatasetReturnType>;
  getLineage: (parameters: GetLineageParameters) => Promise<GetLineageReturnType>;
  stake: (parameters: StakeParameters) => Promise<StakeReturnType>;
  unbond: (parameters: UnbondParameters) => Promise<UnbondReturnType>;
  claim: (parameters?: ClaimParameters) => Promise<ClaimReturnType>;
};

/** The actions bound to `client`, which must carry the Verinfer config (`verinfer`). */
export function verinferActions<
  transport extends Transport,
  chain extends Chain | undefined,
  account extends Account | undefined,
>(client: Client<transport, chain, account> & { verinfer: VerinferConfig }): VerinferActions<chain, account> {
  const c = client as unknown as VerinferBaseClient;
  return {
    requestInference: (p) => requestInference(c, p),
    waitForResult: (p) => waitForResult(c, p),
    waitForFinality: (p) => waitForFinality(c, p),
    finalizeTask: (p) => finalizeTask(c, p),
    getTask: (p) => getTask(c, p),
    watchTasks: (p) => watchTasks(c, p),
    getDispute: (p) => getDispute(c, p),
    verifyTask: (p) => verifyTask(c, p),
    registerModel: (p) => registerModel(c, p),
    registerDataset: (p) => registerDataset(c, p),
    getLineage: (p) => getLineage(c, p),
    stake: (p) => stake(c, p),
    unbond: (p) => unbond(c, p),
    claim: (p) => claim(c, p),
  };
}
