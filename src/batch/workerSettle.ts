// The batch worker's duties on chain once a batch is posted: it answers request queries and leaf
// demands, finalizes a batch after its window, and withdraws its fees. Each duty reads the chain
// first, so that after a restart nothing answered, published or finalized is sent again.
import type { Address, Hex } from 'viem';
import { buildBatchTree } from '../chain/bindings/commitments.ts';
import type { VerinferContracts } from '../chain/deployVerinfer.ts';
import type { PostedState, WorkerBook } from './workerBook.ts';

export type SettlementEvent =
  | { type: 'finalized'; batchId: bigint; gasCost: bigint }
  | { type: 'withdrawn'; token: Address; gasCost: bigint }
  | { type: 'answered'; batchId: bigint; queryId: bigint; gasCost: bigint };

export interface WorkerSettlementContext {
  c: VerinferContracts;
  me: Address;
  book: WorkerBook;
  feeTokens: ReadonlySet<string>;
  autoWithdraw: boolean;
  chainTime(): Promise<bigint>;
  send(hash: Promise<Hex>): Promise<{ gasCost: bigint }>;
  emit(event: SettlementEvent): void;
}

export function createWorkerSettlement(ctx: WorkerSettlementContext) {
  const { c, me, book, feeTokens, chainTime, send, emit } = ctx;
  /** Set when fees may be owed: after a finalize, and once after a (re)start. */
  let checkOwed = true;

  async function answerQuery(state: PostedState, queryId: bigint, kind: number, index: number) {
    // The chain says what is still owed: after a restart, a query may be answered or half answered.
    const q = await c.batchMarket.read.query([queryId]);
    if (q.status !== 1) return;
    let gasCost = 0n;
    if (kind === 0) {
      const request = state.items[index]?.request.request;
      if (!request) return;
      gasCost += (await send(c.batchMarket.write.revealRequest([queryId, request]))).gasCost;
    } else {
      const tree = buildBatchTree(state.items.map((x) => x.leaf));
      const { mask } = await c.batchMarket.read.pages([state.batchId]);
      for (let p = 0; p < tree.pageCount; p++) {
        if ((mask >> p) & 1) continue;
        const page = tree.page(p);
        gasCost += (
          await send(c.batchMarket.write.publishLeaves([state.batchId, BigInt(p), page.leaves, page.proof]))
        ).gasCost;
      }
    }
    emit({ type: 'answered', batchId: state.batchId, queryId, gasCost });
  }

  async function settle(): Promise<void> {
    const now = await chainTime();
    for (const state of book.posted.values()) {
      if (state.done) continue;
      const b = await c.batchMarket.read.batch([state.batchId]);
      // Only a batch that was claimed against has open claims (its ConvictionBounty pool).
      const open = b.claims !== 0 ? (await c.batchMarket.read.disputes([state.batchId])).open : 0n;
      if (b.status !== 1) {
        // Finalized (perhaps by this worker before a crash) or convicted; a claim still open on a
        // convicted batch keeps its inputs until it ends.
        if (open !== 0n) continue;
        book.markDone(state);
        checkOwed = true;
        continue;
      }
      if (now < BigInt(b.deadline) || open !== 0n) continue;
      const tx = await send(c.batchMarket.write.finalizeBatch([state.batchId]));
      book.markDone(state);
      checkOwed = true;
      emit({ type: 'finalized', batchId: state.batchId, gasCost: tx.gasCost });
    }
    book.prune(now);
    if (!checkOwed || !ctx.autoWithdraw) return;
    checkOwed = false;
    for (const token of feeTokens) {
      const owed = await c.batchMarket.read.owed([token as Address, me]);
      if (owed === 0n) continue;
      const tx = await send(c.batchMarket.write.withdraw([token as Address, me]));
      emit({ type: 'withdrawn', token: token as Address, gasCost: tx.gasCost });
    }
  }

  return { answerQuery, settle };
}
