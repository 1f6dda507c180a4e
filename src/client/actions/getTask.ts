// Everything the chain knows about one task: its word of state, its terms and inline input (from
// its events), its result, its audit and its disputes.
import type { Address, Hex } from 'viem';
import { getContractEvents, readContract } from 'viem/actions';
import { abis } from '../../chain/bindings/systemAbis.ts';
import type { TaskArgs, TaskResultArgs } from '../../chain/bindings/types.ts';
import type { VerinferBaseClient } from '../createVerinferClient.ts';
import { type RpcUnreachableError, TaskNotFoundError } from '../errors.ts';
import { guard } from '../utils/guard.ts';
import {
  AUDIT_STATES,
  type AuditStateName,
  type FromBlock,
  findPostedResult,
  findTaskOpening,
  TASK_FLAGS,
  TASK_STATUSES,
  type TaskStatus,
} from '../utils/tasks.ts';

export interface GetTaskParameters {
  taskId: Hex;
  /** Where to start scanning the market's events (default: the first block). */
  fromBlock?: FromBlock;
}

export interface TaskDispute {
  gameId: bigint;
  challenger: Address;
}

export interface GetTaskReturnType {
  taskId: Hex;
  status: TaskStatus;
  /** The result deadline while taken, the end of the challenge window once posted. */
  deadline: bigint;
  flags: { inlineInput: boolean; disputed: boolean; auditDrawn: boolean; auditCertain: boolean };
  /** The task's terms (absent only if its opening event is older than `fromBlock`). */
  task?: TaskArgs;
  /** The committed input bytes published with the task, or '0x'. */
  inlineInput: Hex;
  /** The worker that took or posted the task. */
  worker?: Address;
  result?: TaskResultArgs;
  /** The output tensor's committed bytes, once posted. */
  output?: Hex;
  audit: { state: AuditStateName; auditor: Address; deadline: bigint };
  disputes: { open: bigint; winners: bigint; escrow: bigint; games: TaskDispute[] };
}

export type GetTaskErrorType = TaskNotFoundError | RpcUnreachableError;

export async function getTask(
  client: VerinferBaseClient,
  { taskId, fromBlock = 'earliest' }: GetTaskParameters,
): Promise<GetTaskReturnType> {
  const market = { address: client.verinfer.contracts.taskMarket, abi: abis.taskMarket } as const;
  const state = await guard('taskState', () =>
    readContract(client, { ...market, functionName: 'taskState', args: [taskId] }),
  );
  const status = TASK_STATUSES[state.status] ?? 'none';
  if (status === 'none') throw new TaskNotFoundError({ taskId });
  const [audit, pool, opening, posted, challenges] = await Promise.all([
    guard('audit', () => readContract(client, { ...market, functionName: 'audit', args: [taskId] })),
    guard('disputes', () => readContract(client, { ...market, functionName: 'disputes', args: [taskId] })),
    findTaskOpening(client, taskId, fromBlock),
    state.status >= 3 ? findPostedResult(client, taskId, fromBlock) : Promise.resolve(undefined),
    guard('TaskChallenged logs', () =>
      getContractEvents(client, { ...market, eventName: 'TaskChallenged', args: { taskId }, fromBlock }),
    ),
  ]);
  const taken =
    status === 'taken' ? (`0x${state.key.slice(2).padStart(40, '0')}` as Address) : posted?.result.worker;
  return {
    taskId,
    status,
    deadline: BigInt(state.deadline),
    flags: {
      inlineInput: (state.flags & TASK_FLAGS.inlineInput) !== 0,
      disputed: (state.flags & TASK_FLAGS.disputed) !== 0,
      auditDrawn: (state.flags & TASK_FLAGS.auditDrawn) !== 0,
      auditCertain: (state.flags & TASK_FLAGS.auditCertain) !== 0,
    },
    task: opening?.task,
    inlineInput: opening?.inlineInput ?? '0x',
    worker: taken,
    result: posted?.result,
    output: posted?.output,
    audit: {
      state:
        (state.flags & TASK_FLAGS.auditDrawn) !== 0 ? (AUDIT_STATES[audit.state] ?? 'undrawn') : 'undrawn',
      auditor: audit.auditor,
      deadline: BigInt(audit.deadline),
    },
    disputes: {
      open: BigInt(pool.open),
      winners: BigInt(pool.winners),
      escrow: pool.escrow,
      games: challenges.map((c) => ({ gameId: c.args.gameId!, challenger: c.args.challenger! })),
    },
  };
}
