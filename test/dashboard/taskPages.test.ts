// Long chains: the page keeps the newest KEPT_TASKS rows only, while its counts cover every task;
// older pages are read back from the chain (taskPages.ts) and give the same rows as the live sync.
// The chain here is the recorded one of partialSums.test.ts, served by a stand-in eth_getLogs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { type Abi, decodeEventLog, type Hex, numberToHex } from 'viem';
import type { Client } from '../../dashboard/src/chain/config.ts';
import { applyEvent, KEPT_TASKS } from '../../dashboard/src/chain/events.ts';
import { emptyState } from '../../dashboard/src/chain/model.ts';
import { olderTasks, readTasks } from '../../dashboard/src/chain/taskPages.ts';
import { abis } from '../../src/chain/bindings/systemAbis.ts';

interface RawLog {
  address: Hex;
  topics: [Hex, ...Hex[]];
  data: Hex;
  blockNumber: string;
  transactionHash: Hex;
}
const f = JSON.parse(readFileSync(new URL('./fixtures/partialSumGames.json', import.meta.url), 'utf8')) as {
  addresses: Record<string, Hex>;
  logs: RawLog[];
  head: string;
};
const market = f.addresses.taskMarket;

/** eth_getLogs over the recorded logs: address, block range, and topic filters with OR-lists. */
function recordedChain(calls: { from: bigint; to: bigint }[]): Client {
  const request = async ({ params }: { method: string; params: [Record<string, unknown>] }) => {
    const q = params[0];
    const from = BigInt(q.fromBlock as Hex);
    const to = BigInt(q.toBlock as Hex);
    calls.push({ from, to });
    const topics = (q.topics ?? []) as (Hex | Hex[] | null)[];
    return f.logs
      .filter((l) => l.address.toLowerCase() === String(q.address).toLowerCase())
      .filter((l) => BigInt(l.blockNumber) >= from && BigInt(l.blockNumber) <= to)
      .filter((l) =>
        topics.every(
          (t, i) => t === null || (Array.isArray(t) ? t.includes(l.topics[i]) : t === l.topics[i]),
        ),
      )
      .map((l) => ({ ...l, blockNumber: numberToHex(BigInt(l.blockNumber)) }));
  };
  return { request } as unknown as Client;
}

function liveRows() {
  const state = emptyState();
  const parties = { taskMarket: market.toLowerCase(), batchMarket: f.addresses.batchMarket.toLowerCase() };
  for (const l of f.logs) {
    if (l.address.toLowerCase() !== market.toLowerCase()) continue;
    const d = decodeEventLog({ abi: abis.taskMarket as Abi, data: l.data, topics: l.topics }) as never as {
      eventName: string;
      args: Record<string, unknown>;
    };
    applyEvent(state, parties, 'taskMarket', d.eventName, d.args, {
      blockNumber: BigInt(l.blockNumber),
      transactionHash: l.transactionHash,
    });
  }
  return state;
}

describe('the task list on a long chain', () => {
  const head = BigInt(f.head);

  it('reads older pages, newest first, with the rows the live sync builds', async () => {
    const calls: { from: bigint; to: bigint }[] = [];
    const chain = recordedChain(calls);
    const live = [...liveRows().tasks.values()].reverse();
    assert.equal(live.length, 2);
    const first = await olderTasks(chain, market, head + 1n, head, 1);
    assert.deepEqual(
      first.rows.map((r) => r.id),
      [live[0].id],
    );
    assert.deepEqual(first.rows[0], live[0], 'the same row as the live sync');
    assert.equal(first.before, live[0].created.block, 'the next page starts below its block');
    const second = await olderTasks(chain, market, first.before!, head, 1);
    assert.deepEqual(second.rows, [live[1]]);
    // Its window reached block 0: there is no older page.
    assert.equal(second.before, undefined, 'the chain has no older task');
    assert.ok(
      calls.every((c) => c.to - c.from < 2_000n),
      'every read is bounded to 2,000 blocks',
    );
  });

  it('reads one task by its ID, as a task page does for a task not kept', async () => {
    const live = liveRows();
    const [id] = live.tasks.keys();
    const rows = await readTasks(recordedChain([]), market, [id], 0n, head);
    assert.deepEqual(rows, [live.tasks.get(id)]);
  });

  it('keeps the newest rows only, while the counts and the open work cover every task', () => {
    const state = emptyState();
    const parties = { taskMarket: market.toLowerCase(), batchMarket: '0x' };
    const n = KEPT_TASKS + 25;
    for (let i = 0; i < n; i++) {
      const taskId = numberToHex(i + 1, { size: 32 });
      const task = {
        modelRoot: `0x${'aa'.repeat(32)}`,
        inputRoot: taskId,
        fee: 1n,
        feeToken: `0x${'00'.repeat(20)}`,
      };
      const at = { blockNumber: BigInt(i + 1), transactionHash: taskId };
      applyEvent(state, parties, 'taskMarket', 'TaskCreated', { taskId, requester: '0x1', task }, at);
    }
    assert.equal(state.tasks.size, KEPT_TASKS);
    assert.equal(state.counts.tasks, n);
    assert.equal(state.open.size, n, 'every unsettled task stays in the open work');
    assert.equal([...state.tasks.keys()][0], numberToHex(26, { size: 32 }), 'the oldest rows went first');
    assert.equal(state.ledger.taskFees, BigInt(n), 'every open fee is on the books');
  });
});
