// The structs of the settlement contracts as viem arguments, and the default parameters.
import type { Address, Hex } from 'viem';
import { parseEther } from 'viem';

/** TaskMarket.Task: a task is identified by the hash of these fields (see taskIdOf). */
export interface TaskArgs {
  requester: Address;
  modelRoot: Hex;
  inputRoot: Hex;
  /** The zero address for the native currency. */
  feeToken: Address;
  fee: bigint;
  takeDeadline: bigint;
  /** An IVerinferConsumer, or the zero address. */
  consumer: Address;
  callbackGasLimit: number;
  salt: Hex;
}

/** TaskMarket.Result: a posted result, passed back to every call after postResult. */
export interface TaskResultArgs {
  worker: Address;
  /** keccak256(abi.encode(taskId, inputRoot, outputRoot, checkpointRoot)). */
  commitment: Hex;
  outputRoot: Hex;
}

/** TaskMarket.FeeToken: a fee currency allowed at deployment and its smallest fee. */
export interface FeeTokenArgs {
  /** The zero address for the native currency. */
  token: Address;
  minFee: bigint;
}

/** BatchMarket.Request, signed by the requester with EIP-712. */
export interface RequestArgs {
  requester: Address;
  worker: Address;
  modelRoot: Hex;
  inputRoot: Hex;
  feeToken: Address;
  fee: bigint;
  nonce: bigint;
  deadline: bigint;
}

/** BatchMarket.Leaf: leaf hash = keccak256(abi.encode(requestHash, resultCommitment, outputRoot, fee)). */
export interface LeafArgs {
  requestHash: Hex;
  resultCommitment: Hex;
  outputRoot: Hex;
  fee: bigint;
}

/** BatchMarket.BatchHeader, signed by the requester with EIP-712 (its consent to the batch). */
export interface BatchHeaderArgs {
  requester: Address;
  worker: Address;
  feeToken: Address;
  root: Hex;
  count: number;
  totalFee: bigint;
  nonce: bigint;
  deadline: bigint;
}

/** MarketParams.Task (see docs/protocol.md for the reasoning behind the defaults). */
export interface TaskMarketParams {
  workerStake: bigint;
  auditStake: bigint;
  challengeBond: bigint;
  resultWindow: bigint;
  challengeWindow: bigint;
  auditWindow: bigint;
  auditBps: number;
  auditRewardBps: number;
  slashBeneficiaryBps: number;
  maxCallbackGas: number;
}

/** MarketParams.Batch. */
export interface BatchMarketParams {
  batchStakeBase: bigint;
  batchStakePerResult: bigint;
  challengeBond: bigint;
  queryBond: bigint;
  challengeWindow: bigint;
  responseWindow: bigint;
  withdrawalDelay: bigint;
  slashBeneficiaryBps: number;
  bondWorkerBps: number;
  maxBatchSize: number;
}

export interface VerinferParams {
  minStake: bigint;
  /**
   * AgentRegistry.auditThreshold: the free stake an active agent needs to be drawn as an auditor.
   * The TaskMarket's auditStake must not exceed it (deployVerinfer defaults it to that auditStake).
   */
  auditThreshold: bigint;
  unbondingDelay: bigint;
  /** Seconds each party of a dispute game may spend on its moves. */
  clockBudget: bigint;
  /** Share of a losing challenger's bond paid to the worker (the rest is burnt). */
  gameWorkerShareBps: number;
  task: TaskMarketParams;
  /** TaskMarket's fee currencies, fixed at deployment (non-standard ERC-20s would break solvency). */
  feeTokens: FeeTokenArgs[];
  batch: BatchMarketParams;
}

const MINUTE = 60n;
const HOUR = 60n * MINUTE;
const DAY = 24n * HOUR;

export const NATIVE: Address = '0x0000000000000000000000000000000000000000';

/** The parameters of docs/protocol.md. */
export const DEFAULT_PARAMS: VerinferParams = {
  minStake: parseEther('1'),
  auditThreshold: parseEther('0.2'),
  unbondingDelay: 7n * DAY,
  clockBudget: DAY,
  gameWorkerShareBps: 5_000,
  task: {
    workerStake: parseEther('1'),
    auditStake: parseEther('0.2'),
    challengeBond: parseEther('0.1'),
    resultWindow: 10n * MINUTE,
    challengeWindow: 30n * MINUTE,
    auditWindow: 20n * MINUTE,
    auditBps: 1_000,
    auditRewardBps: 5_000,
    slashBeneficiaryBps: 5_000,
    maxCallbackGas: 500_000,
  },
  feeTokens: [{ token: NATIVE, minFee: parseEther('0.001') }],
  batch: {
    batchStakeBase: parseEther('0.5'),
    batchStakePerResult: parseEther('0.0001'),
    challengeBond: parseEther('0.1'),
    queryBond: parseEther('0.01'),
    challengeWindow: 30n * MINUTE,
    responseWindow: 20n * MINUTE,
    withdrawalDelay: DAY,
    slashBeneficiaryBps: 5_000,
    bondWorkerBps: 5_000,
    maxBatchSize: 4_096,
  },
};

export const ZERO_BYTES32: Hex = '0x0000000000000000000000000000000000000000000000000000000000000000';
export const BURN_ADDRESS: Address = '0x000000000000000000000000000000000000dEaD';
