// What the TaskMarket stores about a task is one word; the task's terms, its inline input and its
// result live in the market's events. These helpers read both.
import type { BlockNumber, BlockTag, Hex } from 'viem';
import { getContractEvents } from 'viem/actions';
import { abis } from '../../chain/bindings/systemAbis.ts';
import type { TaskArgs, TaskResultArgs } from '../../chain/bindings/types.ts';
import type { VerinferBaseClient } from '../createVerinferClient.ts';
import { guard } from './guard.ts';

/** ITaskMarket.Status, by its on-chain number. */
export const TASK_STATUSES = [
  'none',
  'open',
  'taken',
  'posted',
  'finalized',
  'expired',
  'convicted',
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** ITaskMarket.AuditState, by its on-chain number. */
export const AUDIT_STATES = [
  'undrawn',
  'skipped',
  'assigned',
  'attested',
  'challenged',
  'silenced',
  'closed',
  'attestedUnpaid',
] as const;
export type AuditStateName = (typeof AUDIT_STATES)[number];

export const TASK_FLAGS = { inlineInput: 1, disputed: 2, auditDrawn: 4, auditCertain: 8 } as const;

export type FromBlock = BlockNumber | BlockTag;

export interface TaskOpening {
  task: TaskArgs;
  /** The committed input bytes published with the task ('0x' if the requester kept it off chain). */
  inlineInput: Hex;
  /** True for a requester-signed task posted by its worker in one transaction. */
  signed: boolean;
}

export interface PostedResult {
  result: TaskResultArgs;
  /** The output tensor's committed bytes. */
  output: Hex;
  txHash: Hex;
  blockNumber: bigint;
}

const market = (client: VerinferBaseClient) => ({
  address: client.verinfer.contracts.taskMarket,
  abi: abis.taskMarket,
});

/** The task's terms and inline input, from TaskCreated or SignedTaskPosted. */
export async function findTaskOpening(
  client: VerinferBaseClient,
  taskId: Hex,
  fromBlock: FromBlock = 'earliest',
): Promise<TaskOpening | undefined> {
  const created = await guard('TaskCreated logs', () =>
    getContractEvents(client, { ...market(client), eventName: 'TaskCreated', args: { taskId }, fromBlock }),
  );
  const c = created[0];
  if (c) return { task: { ...c.args.task! }, inlineInput: c.args.inlineInput!, signed: false };
  const signed = await guard('SignedTaskPosted logs', () =>
    getContractEvents(client, {
      ...market(client),
      eventName: 'SignedTaskPosted',
      args: { taskId },
      fromBlock,
    }),
  );
  const s = signed[0];
  if (s) return { task: { ...s.args.task! }, inlineInput: '0x', signed: true };
  return undefined;
}

/** The posted result, from ResultPosted or SignedTaskPosted. */
export async function findPostedResult(
  client: VerinferBaseClient,
  taskId: Hex,
  fromBlock: FromBlock = 'earliest',
): Promise<PostedResult | undefined> {
  const posted = await guard('ResultPosted logs', () =>
    getContractEvents(client, { ...market(client), eventName: 'ResultPosted', args: { taskId }, fromBlock }),
  );
  const p = posted[0];
  if (p) {
    return {
      result: {
        worker: p.args.worker!,
        commitment: p.args.resultCommitment!,
        outputRoot: p.args.outputRoot!,
      },
      output: p.args.output!,
      txHash: p.transactionHash!,
      blockNumber: p.blockNumber!,
    };
  }
  const signed = await guard('SignedTaskPosted logs', () =>
    getContractEvents(client, {
      ...market(client),
      eventName: 'SignedTaskPosted',
      args: { taskId },
      fromBlock,
    }),
  );
  const s = signed[0];
  if (s) {
    return {
      result: {
        worker: s.args.worker!,
        commitment: s.args.resultCommitment!,
        outputRoot: s.args.outputRoot!,
      },
      output: s.args.output!,
      txHash: s.transactionHash!,
      blockNumber: s.blockNumber!,
    };
  }
  return undefined;
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
