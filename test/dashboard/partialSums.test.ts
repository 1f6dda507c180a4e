// The dispute replay's page model on a recorded chain (fixtures/partialSumGames.json, recorded by
// recordPartialSumGames.ts): two games over a conv split into 8 segments, which the devnet's
// cheater games never reach. The recorded logs go through the sync's own decoding and event rules;
// the replay then narrows to one partial-sum leaf and shows the segment step, and the books the
// events add up to equal the balances recorded from the chain.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { type Abi, decodeEventLog, type Hex } from 'viem';
import { booksOf } from '../../dashboard/src/chain/books.ts';
import { prefixClaims, ranges, segmentStep, valueLeaf } from '../../dashboard/src/chain/dissection.ts';
import { applyEvent, timeOf } from '../../dashboard/src/chain/events.ts';
import { emptyState } from '../../dashboard/src/chain/model.ts';
import { abis } from '../../src/chain/bindings/systemAbis.ts';

interface Fixture {
  addresses: Record<string, Hex>;
  logs: { address: Hex; topics: [Hex, ...Hex[]]; data: Hex; blockNumber: string; transactionHash: Hex }[];
  blockTimes: Record<string, number>;
  transactions: Record<string, { input?: Hex; gasUsed: string }>;
  head: string;
  balances: Record<'taskMarket' | 'batchMarket' | 'disputeGame', string>;
}

const f = JSON.parse(
  readFileSync(new URL('./fixtures/partialSumGames.json', import.meta.url), 'utf8'),
) as Fixture;

function replay() {
  const state = emptyState();
  state.head = BigInt(f.head);
  for (const [b, t] of Object.entries(f.blockTimes)) state.blockTimes.set(BigInt(b), t);
  const names = new Map(Object.entries(f.addresses).map(([k, v]) => [v.toLowerCase(), k]));
  const parties = {
    taskMarket: f.addresses.taskMarket.toLowerCase(),
    batchMarket: f.addresses.batchMarket.toLowerCase(),
  };
  for (const log of f.logs) {
    const name = names.get(log.address.toLowerCase())!;
    const abi = (abis as Record<string, Abi>)[name];
    let d: { eventName: string; args: Record<string, unknown> };
    try {
      d = decodeEventLog({ abi, data: log.data, topics: log.topics }) as never;
    } catch {
      continue;
    }
    const at = { blockNumber: BigInt(log.blockNumber), transactionHash: log.transactionHash };
    applyEvent(state, parties, name, d.eventName, d.args, at);
  }
  return state;
}

describe('the replay of a partial-sum dispute (recorded)', () => {
  const state = replay();
  const [lost, won] = [state.games.get(1n)!, state.games.get(2n)!];

  it('keeps every move, the partial-sum ones included', () => {
    assert.deepEqual(
      lost.moves.map((m) => `${m.by} ${m.kind}`),
      [
        'worker TraceRevealed',
        'challenger OpNamed',
        'worker TensorRevealed',
        'challenger ChildPicked',
        'worker ChunkRevealed',
        'challenger ElementNamed',
        'worker PrefixRevealed',
        'challenger ChildPicked',
        'anyone SegmentVerified',
      ],
    );
    assert.equal(lost.resolved?.outcome, 1, 'the challenger won');
    assert.equal(won.resolved?.outcome, 2, 'the worker won');
  });

  it('narrows over the op, its chunks, a byte, then the partial sums to one leaf', () => {
    const r = ranges(lost).map((x) => `${x.level} ${x.lo}-${x.hi}/${x.size}`);
    assert.deepEqual(r, [
      'ops 0-1/1', // one op: the trace tree is a single leaf
      'ops 0-1/1',
      'chunks 0-8/8', // 8 KiB of output
      'chunks 0-1/8',
      'bytes 0-1024/1024',
      'bytes 100-101/1024',
      'partial sums 0-9/9', // 8 segments: 8 prefix sums and the byte
      'partial sums 2-3/9', // the first wrong sum, segment 2
      'partial sums 2-3/9',
    ]);
    assert.deepEqual(
      ranges(won)
        .slice(-3)
        .map((x) => `${x.level} ${x.lo}-${x.hi}/${x.size}`),
      [
        'partial sums 0-9/9',
        'partial sums 8-9/9', // the last leaf: the byte
        'partial sums 8-9/9',
      ],
    );
  });

  it("shows the worker's claim at the picked leaf, and the segment step that refutes it", () => {
    const claims = prefixClaims(lost);
    assert.equal(claims.length, 1);
    assert.equal(claims[0].lo, 2n);
    assert.equal(claims[0].hi, 3n);
    const step = segmentStep(lost, f.transactions[lost.moves.at(-1)!.tx].input);
    assert.ok(step);
    assert.equal(step.final, false);
    assert.equal(step.segment, 2n);
    assert.equal(step.segments, 8n);
    assert.equal(step.value, 196n);
    assert.equal(step.recomputedLeaf, valueLeaf(196n));
    assert.equal(step.claimed, claims[0].node);
    assert.notEqual(step.claimed, step.recomputedLeaf, "the worker's sum is not the recomputed one");
    assert.equal(step.workerLost, true);
    // The sum before segment 2 is the worker's own proven leaf 1 (it was right up to there).
    assert.equal(typeof step.before, 'bigint');
    assert.equal(segmentStep(lost)?.before, undefined, 'without the calldata the sum before is not shown');
    assert.ok(BigInt(f.transactions[lost.moves.at(-1)!.tx].gasUsed) > 21_000n, 'the step has its gas');
  });

  it('shows the final step as the requantized byte against the worker’s byte', () => {
    const step = segmentStep(won, f.transactions[won.moves.at(-1)!.tx].input)!;
    assert.equal(step.final, true);
    assert.equal(step.segment, 8n);
    assert.equal(step.value, 82n);
    assert.equal(step.claimed, 82n);
    assert.equal(step.workerLost, false);
    assert.equal(typeof step.before, 'bigint', 'the proven total before the requantization');
  });

  it("adds up each contract's books from the events to its recorded balance", () => {
    const books = booksOf(
      state.ledger,
      {
        taskMarket: BigInt(f.balances.taskMarket),
        batchMarket: BigInt(f.balances.batchMarket),
        disputeGame: BigInt(f.balances.disputeGame),
      },
      { queryBond: 10n ** 17n, bondWorkerBps: 5_000n },
    );
    for (const b of books) assert.equal(b.books, b.balance, `${b.contract}: ${b.parts.join(' ')}`);
    const task = books.find((b) => b.contract === 'taskMarket')!;
    // One fee still open (the task the worker defended), one refunded on conviction, and the
    // settled escrow of the convicted worker's slash waiting for its challenger.
    assert.deepEqual(
      task.parts.map(([, v]) => v > 0n),
      [true, true, true],
    );
    assert.equal(state.counts.tasks, 2);
    assert.equal(state.counts.convicted, 1);
    assert.equal(state.open.size, 1, 'the defended task is not settled yet');
    assert.ok(timeOf(state, lost.opened.block) > 0);
  });

  it('turns a book red when the balance differs by one wei', () => {
    const books = booksOf(
      state.ledger,
      {
        taskMarket: BigInt(f.balances.taskMarket) + 1n,
        batchMarket: 0n,
        disputeGame: BigInt(f.balances.disputeGame),
      },
      { queryBond: 0n, bondWorkerBps: 0n },
    );
    assert.deepEqual(
      books.map((b) => b.balance === b.books),
      [false, true, true],
    );
  });
});
