// What a Verinfer deployment looks like right now, read from the chain alone: agents with stake,
// earnings, slashes and reputation; tasks and batches by status; open and resolved disputes.
import type { Address, Hex, PublicClient } from 'viem';
import type { Deployment } from './deploymentFile.ts';
import { abis } from './deployVerinfer.ts';

export const TASK_STATUS = ['none', 'open', 'taken', 'posted', 'finalized', 'expired', 'convicted'] as const;
export const GAME_OUTCOME = ['unresolved', 'challenger won', 'worker won', 'moot'] as const;

export interface AgentStatus {
  address: Address;
  endpoint: string;
  stake: bigint;
  locked: bigint;
  unbonding: bigint;
  /** Fees paid to it for finalized tasks and batches, and audit rewards. */
  earned: bigint;
  /** Stake taken from it by slashes, and how many times. */
  slashed: bigint;
  slashes: number;
  reputation: { resultsAccepted: bigint; auditsPassed: bigint; disputesWon: bigint; disputesLost: bigint };
}

export interface DisputeStatus {
  gameId: bigint;
  arena: Address;
  subject: Hex;
  outcome: (typeof GAME_OUTCOME)[number];
}

export interface NetworkStatus {
  blockNumber: bigint;
  agents: AgentStatus[];
  tasks: Record<(typeof TASK_STATUS)[number], number>;
  batches: { posted: number; finalized: number; convicted: number };
  disputes: { open: DisputeStatus[]; resolved: DisputeStatus[] };
}

/** Log queries span at most this many blocks, which every common RPC provider accepts. */
const LOG_RANGE = 10_000n;

async function eventsOf<T>(
  fetch: (fromBlock: bigint, toBlock: bigint) => Promise<T[]>,
  head: bigint,
): Promise<T[]> {
  const out: T[] = [];
  for (let from = 0n; from <= head; from += LOG_RANGE) {
    const to = from + LOG_RANGE - 1n < head ? from + LOG_RANGE - 1n : head;
    out.push(...(await fetch(from, to)));
  }
  return out;
}

export async function getNetworkStatus(client: PublicClient, d: Deployment): Promise<NetworkStatus> {
  const head = await client.getBlockNumber();
  const a = d.addresses;
  const logs = (address: Address, abi: readonly unknown[]) =>
    eventsOf(
      (fromBlock, toBlock) =>
        client.getContractEvents({ address, abi: abi as never, fromBlock, toBlock }) as Promise<
          { eventName: string; args: Record<string, unknown> }[]
        >,
      head,
    );
  const [registryLogs, taskLogs, batchLogs, gameLogs] = await Promise.all([
    logs(a.agentRegistry, abis.agentRegistry),
    logs(a.taskMarket, abis.taskMarket),
    logs(a.batchMarket, abis.batchMarket),
    logs(a.disputeGame, abis.disputeGame),
  ]);

  const earned = new Map<string, bigint>();
  const slashed = new Map<string, { amount: bigint; count: number }>();
  const add = (who: unknown, amount: unknown) => {
    const k = String(who).toLowerCase();
    earned.set(k, (earned.get(k) ?? 0n) + (amount as bigint));
  };
  const agents: Address[] = [];
  for (const l of registryLogs) {
    if (l.eventName === 'AgentRegistered') agents.push(l.args.agent as Address);
    if (l.eventName === 'StakeSlashed') {
      const k = String(l.args.agent).toLowerCase();
      const s = slashed.get(k) ?? { amount: 0n, count: 0 };
      slashed.set(k, { amount: s.amount + (l.args.amount as bigint), count: s.count + 1 });
    }
  }
  const taskIds = new Set<Hex>();
  const auditors = new Map<Hex, Address>();
  for (const l of taskLogs) {
    if (l.eventName === 'TaskCreated' || l.eventName === 'SignedTaskPosted')
      taskIds.add(l.args.taskId as Hex);
    if (l.eventName === 'AuditAttested') auditors.set(l.args.taskId as Hex, l.args.auditor as Address);
  }
  for (const l of taskLogs) {
    if (l.eventName !== 'TaskFinalized') continue;
    add(l.args.worker, l.args.workerPay);
    const auditor = auditors.get(l.args.taskId as Hex);
    if (auditor && (l.args.auditReward as bigint) > 0n) add(auditor, l.args.auditReward);
  }
  const batches = { posted: 0, finalized: 0, convicted: 0 };
  for (const l of batchLogs) {
    if (l.eventName === 'BatchPosted') batches.posted += 1;
    if (l.eventName === 'BatchFinalized') {
      batches.finalized += 1;
      add(l.args.worker, l.args.totalFee);
    }
    if (l.eventName === 'BatchConvicted') batches.convicted += 1;
  }

  const tasks = Object.fromEntries(TASK_STATUS.map((s) => [s, 0])) as NetworkStatus['tasks'];
  const states = await Promise.all(
    [...taskIds].map((id) =>
      client.readContract({
        address: a.taskMarket,
        abi: abis.taskMarket,
        functionName: 'taskState',
        args: [id],
      }),
    ),
  );
  for (const s of states) tasks[TASK_STATUS[s.status] ?? 'none'] += 1;

  const games = new Map<bigint, DisputeStatus>();
  for (const l of gameLogs) {
    const gameId = l.args.gameId as bigint;
    if (l.eventName === 'GameOpened')
      games.set(gameId, {
        gameId,
        arena: l.args.arena as Address,
        subject: l.args.subject as Hex,
        outcome: 'unresolved',
      });
    if (l.eventName === 'GameResolved') {
      const g = games.get(gameId);
      if (g) g.outcome = GAME_OUTCOME[Number(l.args.outcome)] ?? 'unresolved';
    }
  }
  const all = [...games.values()];

  const agentStatus = await Promise.all(
    agents.map(async (address): Promise<AgentStatus> => {
      const [info, rep] = await Promise.all([
        client.readContract({
          address: a.agentRegistry,
          abi: abis.agentRegistry,
          functionName: 'agentInfo',
          args: [address],
        }),
        client.readContract({
          address: a.agentRegistry,
          abi: abis.agentRegistry,
          functionName: 'reputation',
          args: [address],
        }),
      ]);
      const k = address.toLowerCase();
      return {
        address,
        endpoint: info.endpoint,
        stake: info.stake,
        locked: info.locked,
        unbonding: info.unbonding,
        earned: earned.get(k) ?? 0n,
        slashed: slashed.get(k)?.amount ?? 0n,
        slashes: slashed.get(k)?.count ?? 0,
        reputation: {
          resultsAccepted: BigInt(rep.resultsAccepted),
          auditsPassed: BigInt(rep.auditsPassed),
          disputesWon: BigInt(rep.disputesWon),
          disputesLost: BigInt(rep.disputesLost),
        },
      };
    }),
  );
  return {
    blockNumber: head,
    agents: agentStatus,
    tasks,
    batches,
    disputes: {
      open: all.filter((g) => g.outcome === 'unresolved'),
      resolved: all.filter((g) => g.outcome !== 'unresolved'),
    },
  };
}
