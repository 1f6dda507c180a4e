// Records two dispute games that reach the partial-sum level (a 1x1 conv 64 -> 8 at 32x32, split
// into 8 segments) on an embedded chain, as the raw logs, transactions and receipts the dashboard
// reads, into fixtures/partialSumGames.json. The devnet's cheater games never reach that level,
// so the replay's page model is tested on this recording (pageModel.test.ts). Game 1: a worker
// with a wrong partial sum from segment 2 on loses at that segment's step. Game 2: a challenger
// that disputes a right byte loses at the final requantization step.
//   node test/dashboard/recordPartialSumGames.ts   (after `npx hardhat build`)
import { writeFile } from 'node:fs/promises';
import { type Hex, parseEther, toEventSelector } from 'viem';
import { modelDescriptorOf } from '../../src/chain/bindings/commitments.ts';
import { ZERO_BYTES32 } from '../../src/chain/bindings/types.ts';
import { toHex } from '../../src/commit/keccak.ts';
import { modelRoot } from '../../src/commit/modelRoot.ts';
import { corruptedTrace, honestParty, type TraceProvider, traceProvider } from '../../src/dispute/party.ts';
import { challengeTask, play, postTask } from '../game/support.ts';
import { advance, receiptOf, registerAgent, startWorld } from '../market/support.ts';
import { mulberry32, randomInput } from '../support/randomModel.ts';
import { wideConv } from '../support/wideModels.ts';

const OUT = new URL('./fixtures/partialSumGames.json', import.meta.url);
const REQ = 3;
const WORKER = 1;
const CHALLENGER = 2;

const w = await startWorld();
try {
  const model = wideConv(64, 8, 32, 32);
  const root = toHex(modelRoot(model));
  const info = { name: model.meta.name, version: '1', parent: ZERO_BYTES32, dataId: ZERO_BYTES32, uri: '' };
  await receiptOf(w, w.v.modelRegistry.write.register([modelDescriptorOf(model), info]));
  await registerAgent(w, WORKER, [root], parseEther('50'));
  await registerAgent(w, CHALLENGER, [root], parseEther('50'));

  const game = async (worker: TraceProvider, challenger: TraceProvider) => {
    const posted = await postTask(w, REQ, WORKER, worker, root);
    const gameId = await challengeTask(w, CHALLENGER, posted);
    await play(
      w,
      gameId,
      { wallet: w.chain.wallet(WORKER), trace: worker },
      { wallet: w.chain.wallet(CHALLENGER), trace: challenger },
    );
  };
  const input = (seed: number) => randomInput(model, 1, mulberry32(seed));
  const a = input(20);
  await game(
    traceProvider(model, a, corruptedTrace(model, a, 0, 100, { delta: 1 }), {
      prefixSums: (_k, _e, sums) => sums.map((v, i) => (i >= 2 ? v + 5 : v)),
    }),
    honestParty(model, a),
  );
  const b = input(30);
  await game(honestParty(model, b), traceProvider(model, b, corruptedTrace(model, b, 0, 5, { delta: 9 })));
  await advance(w, 1n);

  const c = w.chain.publicClient;
  const addresses = w.v.addresses as unknown as Record<string, Hex>;
  const logs = await c.getLogs({ address: Object.values(addresses), fromBlock: 0n });
  const segmentVerified = toEventSelector('SegmentVerified(uint256,uint256,int256)');
  const steps = new Set(logs.filter((l) => l.topics[0] === segmentVerified).map((l) => l.transactionHash));
  const txs: Record<string, { input?: Hex; gasUsed: string }> = {};
  const times: Record<string, number> = {};
  for (const l of logs) {
    times[String(l.blockNumber)] ??= Number((await c.getBlock({ blockNumber: l.blockNumber })).timestamp);
    if (txs[l.transactionHash]) continue;
    const [tx, receipt] = await Promise.all([
      c.getTransaction({ hash: l.transactionHash }),
      c.getTransactionReceipt({ hash: l.transactionHash }),
    ]);
    // Only the segment steps keep their calldata (the replay decodes the step's `before`).
    txs[l.transactionHash] = {
      input: steps.has(l.transactionHash) ? tx.input : undefined,
      gasUsed: String(receipt.gasUsed),
    };
  }
  const fixture = {
    note: 'Recorded by test/dashboard/recordPartialSumGames.ts; regenerate with it.',
    addresses,
    logs: logs.map((l) => ({
      address: l.address,
      topics: l.topics,
      data: l.data,
      blockNumber: String(l.blockNumber),
      transactionHash: l.transactionHash,
      logIndex: l.logIndex,
    })),
    blockTimes: times,
    head: String(await c.getBlockNumber()),
    balances: Object.fromEntries(
      await Promise.all(
        ['taskMarket', 'batchMarket', 'disputeGame'].map(
          async (k) => [k, String(await c.getBalance({ address: addresses[k] }))] as const,
        ),
      ),
    ),
    transactions: txs,
  };
  await writeFile(OUT, `${JSON.stringify(fixture, null, 1)}\n`);
  console.log(`recorded ${logs.length} logs of 2 games into ${OUT.pathname}`);
} finally {
  await w.close();
}
