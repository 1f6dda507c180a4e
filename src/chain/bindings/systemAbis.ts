// The ABIs of the deployed system, each with every custom error of the system appended, so that a
// revert that bubbles up from another contract (a market calling the registry) still decodes.
import type { Abi } from 'viem';
import {
  agentRegistryAbi,
  batchMarketAbi,
  dataRegistryAbi,
  disputeGameAbi,
  modelRegistryAbi,
  taskMarketAbi,
} from './abis.ts';

/** Every custom error of the system. */
export const verinferErrorsAbi = [
  ...agentRegistryAbi,
  ...modelRegistryAbi,
  ...dataRegistryAbi,
  ...taskMarketAbi,
  ...batchMarketAbi,
  ...disputeGameAbi,
].filter((item) => item.type === 'error');

const withErrors = <const T extends Abi>(abi: T) => [...abi, ...verinferErrorsAbi] as const;

export const abis = {
  agentRegistry: withErrors(agentRegistryAbi),
  modelRegistry: withErrors(modelRegistryAbi),
  dataRegistry: withErrors(dataRegistryAbi),
  taskMarket: withErrors(taskMarketAbi),
  batchMarket: withErrors(batchMarketAbi),
  disputeGame: withErrors(disputeGameAbi),
} as const;

export type VerinferAbis = typeof abis;
