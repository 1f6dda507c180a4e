// The task list past the newest KEPT_TASKS rows, read back from the chain a page at a time instead
// of keeping every task: the creation events going back from a block, then every event of those
// tasks (all TaskMarket task events have the task ID as their first topic), with the live sync's
// row rules (events.ts).
import {
  type AbiEvent,
  type Address,
  decodeEventLog,
  getAbiItem,
  type Hex,
  type Log,
  numberToHex,
  toEventSelector,
} from 'viem';
import { abis } from '../../../src/chain/bindings/systemAbis.ts';
import type { Client } from './config.ts';
import { applyToRow, newRow } from './events.ts';
import type { TaskRow } from './model.ts';

/** Tasks per page of the list. */
export const PAGE_SIZE = 100;
/** Blocks per getLogs call; ask-for-more RPCs reject wider ranges. */
const RANGE = 2_000n;
/** The most log windows one page may read going back, so a page of an empty chain ends. */
const MAX_WINDOWS = 500;

/** The topics of a task's creation: createTask's and postSigned's. */
const CREATED = (['TaskCreated', 'SignedTaskPosted'] as const).map((name) =>
  toEventSelector(getAbiItem({ abi: abis.taskMarket, name }) as AbiEvent),
);

export interface TaskPage {
  rows: TaskRow[];
  /** Where the next older page starts (exclusive), or undefined at the chain's first block. */
  before?: bigint;
}

async function logsOf(client: Client, params: Record<string, unknown>): Promise<Log[]> {
  return (await client.request({ method: 'eth_getLogs', params: [params] } as never)) as Log[];
}

/** The rows of `ids`, from their events in [from, to]. */
export async function readTasks(
  client: Client,
  market: Address,
  ids: Hex[],
  from: bigint,
  to: bigint,
): Promise<TaskRow[]> {
  const rows = new Map<string, TaskRow>();
  if (ids.length === 0) return [];
  for (let lo = from; lo <= to; lo += RANGE) {
    const hi = lo + RANGE - 1n < to ? lo + RANGE - 1n : to;
    const logs = await logsOf(client, {
      address: market,
      topics: [null, ids],
      fromBlock: numberToHex(lo),
      toBlock: numberToHex(hi),
    });
    for (const log of logs) {
      let d: { eventName: string; args: Record<string, unknown> };
      try {
        d = decodeEventLog({ abi: abis.taskMarket, data: log.data, topics: log.topics }) as never;
      } catch {
        continue;
      }
      const id = String(d.args.taskId ?? '').toLowerCase();
      const at = { block: BigInt(log.blockNumber as unknown as Hex), tx: log.transactionHash as Hex };
      if (d.eventName === 'TaskCreated' || d.eventName === 'SignedTaskPosted')
        rows.set(id, { ...newRow(d.args, at), id: id as Hex });
      const row = rows.get(id);
      if (row) applyToRow(row, d.eventName, d.args, at);
    }
  }
  return [...rows.values()];
}

/**
 * Up to `size` tasks created before block `before`, newest first, as of block `head` (more when
 * the page's oldest block holds more: a page ends at a block boundary).
 */
export async function olderTasks(
  client: Client,
  market: Address,
  before: bigint,
  head: bigint,
  size = PAGE_SIZE,
): Promise<TaskPage> {
  const found: { id: Hex; block: bigint }[] = [];
  let hi = before - 1n;
  let windows = 0;
  while (hi >= 0n && found.length < size && windows++ < MAX_WINDOWS) {
    const lo = hi - RANGE + 1n > 0n ? hi - RANGE + 1n : 0n;
    const logs = await logsOf(client, {
      address: market,
      topics: [CREATED],
      fromBlock: numberToHex(lo),
      toBlock: numberToHex(hi),
    });
    const ids = logs.map((l) => ({ id: l.topics[1] as Hex, block: BigInt(l.blockNumber as unknown as Hex) }));
    found.push(...ids.reverse());
    hi = lo - 1n;
  }
  // A page ends at a block boundary, so that the next page starts cleanly below it.
  let page = found.slice(0, size);
  let next = hi >= 0n ? hi + 1n : undefined;
  if (found.length > size) {
    const cut = found[size - 1].block;
    page = found.filter((f) => f.block >= cut);
    next = cut;
  }
  if (page.length === 0) return { rows: [], before: next };
  const first = page[page.length - 1].block;
  const rows = await readTasks(
    client,
    market,
    page.map((p) => p.id),
    first,
    head,
  );
  rows.sort((x, y) => (x.created.block === y.created.block ? 0 : x.created.block > y.created.block ? -1 : 1));
  return { rows, before: next };
}
