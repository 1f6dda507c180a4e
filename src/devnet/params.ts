// The devnet's parameters: the defaults of docs/protocol.md with windows of seconds instead of
// minutes, so that a newcomer sees a task finalize and a cheater convicted within a minute.
import type { DeployVerinferOptions } from '../chain/deployVerinfer.ts';

/** A block every second: windows below are whole multiples of it. */
export const DEVNET_BLOCK_MS = 1_000;

export const DEVNET_PARAMS: NonNullable<DeployVerinferOptions['params']> = {
  unbondingDelay: 60n,
  // Each party of a game has two minutes for all its moves; a move takes a block.
  clockBudget: 120n,
  task: {
    resultWindow: 30n,
    challengeWindow: 12n,
    auditWindow: 20n,
  },
  batch: {
    challengeWindow: 12n,
    responseWindow: 20n,
    withdrawalDelay: 60n,
  },
};
