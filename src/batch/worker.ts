// A batch worker: serves the batch protocols, runs every request of a bundle with the exact engine,
// proposes the header, posts it once the requester has signed it, and then looks after its batches
// from a polling loop: it answers request queries and leaf demands, defends challenged leaves in
// their dispute games (re-running the model on demand), finalizes batches after the window and
// withdraws its fees.
import { randomBytes } from 'node:crypto';
import type { PeerId } from '@libp2p/interface';
import {
  type Account,
  type Address,
  type Chain,
  getAddress,
  type Hex,
  type Log,
  type PublicClient,
  parseEventLogs,
  type Transport,
  type WalletClient,
} from 'viem';
import { buildBatchTree, headerHashOf } from '../chain/bindings/commitments.ts';
import { revertErrorName } from '../chain/bindings/errors.ts';
import { type BatchHeaderArgs, NATIVE } from '../chain/bindings/types.ts';
import { abis, bindVerinfer, type VerinferAddresses } from '../chain/deployVerinfer.ts';
import { outputChangingTrace, traceProvider } from '../dispute/party.ts';
import type { GameClient } from '../dispute/play.ts';
import type { Model } from '../engine/graph.ts';
import type { Backend } from '../engine/interpreter.ts';
import type { Tensor } from '../engine/tensor.ts';
import type { PeerHost } from '../p2p/host.ts';
import { type BatchItem, serveBatchContents } from './contents.ts';
import { unservedModel } from './errors.ts';
import { type GameSide, playTurn } from './game.ts';
import {
  type BatchAnswer,
  type BatchRefusal,
  type CheckedRequest,
  type SignAnswer,
  serveBatchBundles,
  serveHeaderSignatures,
} from './protocol.ts';
import { inputTensorOf, leafOfTrace, runLeaf } from './run.ts';
import { type BatchWorkerStore, scanRange } from './store.ts';
import { createWorkerBook, type PostedState } from './workerBook.ts';
import { createWorkerSettlement, type SettlementEvent } from './workerSettle.ts';

type Wallet = WalletClient<Transport, Chain, Account>;

export interface BatchWorkerOptions {
  host: PeerHost;
  publicClient: PublicClient<Transport, Chain>;
  wallet: Wallet;
  addresses: VerinferAddresses;
  /** The models this worker serves, by model root. */
  models: ReadonlyMap<Hex, Model>;
  backend: Backend;
  /** The smallest fee per request (default 1 wei: the market refuses an unpaid batch). */
  minFee?: bigint;
  /** Fee tokens accepted (default: the native currency). */
  feeTokens?: readonly Address[];
  /** Requests per bundle (default and most: MAX_BATCH_REQUESTS). */
  maxRequests?: number;
  /** Proposals awaiting a signature at once (default 8). */
  maxPending?: number;
  /** Seconds a proposed header stays valid (default 600). */
  headerTtlSeconds?: bigint;
  pollIntervalMs?: number;
  /** Withdraws fees as soon as they are owed (default true). */
  autoWithdraw?: boolean;
  /** Blocks before this one are not scanned for challenges (default: the block at start; a store's cursor wins). */
  fromBlock?: bigint;
  /**
   * Keeps the posted batches, the games and the scan cursor across restarts (src/batch/store.ts).
   * Without it a restart forgets the batches this worker must answer for and defend.
   */
  store?: BatchWorkerStore;
  /**
   * Tests and devnets only: commit a wrong output (outputChangingTrace at the middle op) for the
   * requests at these positions of every bundle, and defend that trace; `withhold` refuses to serve
   * contents.
   */
  cheat?: { indices: readonly number[]; withhold?: boolean };
  onEvent?: (event: BatchWorkerEvent) => void;
}

export type BatchWorkerEvent =
  | { type: 'proposed'; header: BatchHeaderArgs }
  | { type: 'posted'; batchId: bigint; transactionHash: Hex; gasCost: bigint }
  | SettlementEvent
  | { type: 'defending'; batchId: bigint; index: number; gameId: bigint }
  | { type: 'game-over'; gameId: bigint; outcome: number }
  | { type: 'error'; error: unknown };

export interface BatchWorker {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** One round of the polling loop (the loop calls it; tests may too). */
  poll(): Promise<void>;
  /** The batches this worker posted, by id. */
  readonly batches: ReadonlyMap<
    bigint,
    { header: BatchHeaderArgs; items: readonly BatchItem[]; done: boolean }
  >;
}

export function createBatchWorker(options: BatchWorkerOptions): BatchWorker {
  const { host, publicClient, wallet, addresses, models, backend } = options;
  const me = getAddress(wallet.account.address);
  const chainId = wallet.chain.id;
  const market = addresses.batchMarket;
  const c = bindVerinfer(addresses, publicClient, wallet);
  const gameClient: GameClient = { disputeGame: c.disputeGame, addresses };
  const minFee = options.minFee ?? 1n;
  const feeTokens = new Set((options.feeTokens ?? [NATIVE]).map((t) => t.toLowerCase()));
  const ttl = options.headerTtlSeconds ?? 600n;
  const cheatAt = new Set(options.cheat?.indices ?? []);
  const store = options.store;
  const book = createWorkerBook(store);
  const { pending, posted, taken } = book;
  const games = new Map<bigint, GameSide>();
  const handledQueries = new Set<bigint>();
  let restored = false;
  const emit = (e: BatchWorkerEvent) => options.onEvent?.(e);
  let nextBlock = options.fromBlock;
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;
  let stopped = true;
  const unhandle: (() => Promise<void>)[] = [];

  const chainTime = async () => (await publicClient.getBlock()).timestamp;

  async function send(hash: Promise<Hex>): Promise<{ hash: Hex; gasCost: bigint; logs: Log[] }> {
    const h = await hash;
    const r = await publicClient.waitForTransactionReceipt({ hash: h });
    if (r.status !== 'success') throw new Error(`Transaction ${h} reverted.`);
    return { hash: h, gasCost: r.gasUsed * r.effectiveGasPrice, logs: r.logs };
  }

  const { answerQuery, settle } = createWorkerSettlement({
    c,
    me,
    book,
    feeTokens,
    autoWithdraw: options.autoWithdraw !== false,
    chainTime,
    send,
    emit,
  });

  async function decide(bundle: {
    requester: Address;
    feeToken: Address;
    requests: CheckedRequest[];
  }): Promise<BatchAnswer> {
    const no = (refusal: BatchRefusal, reason: string, index?: number): BatchAnswer => ({
      accepted: false,
      refusal,
      reason,
      ...(index === undefined ? {} : { index }),
    });
    if (stopped) return no('not-accepting', 'the worker is stopping');
    if (pending.size >= (options.maxPending ?? 8)) return no('busy', 'too many proposals await a signature');
    if (!feeTokens.has(bundle.feeToken.toLowerCase())) return no('fee-token-not-accepted', bundle.feeToken);
    const now = await chainTime();
    const inputs: Tensor[] = [];
    let total = 0n;
    let deadline = now + ttl;
    for (const [i, { request }] of bundle.requests.entries()) {
      const model = models.get(request.modelRoot);
      if (!model) return no('unknown-model', `model ${request.modelRoot} is not served`, i);
      if (request.fee < minFee) return no('fee-too-low', `at least ${minFee} per request`, i);
      // A request must outlive the header, or a query after posting could not be answered.
      if (request.deadline <= now + 60n) return no('deadline-passed', 'the deadline is past or too close', i);
      if (taken.has(`${bundle.requester}:${request.nonce}`))
        return no('duplicate', 'this request was taken before', i);
      try {
        inputs.push(inputTensorOf(model, bundle.requests[i].input));
      } catch (err) {
        return no('bad-input', (err as Error).message.slice(0, 200), i);
      }
      total += request.fee;
      if (request.deadline < deadline) deadline = request.deadline;
    }
    const deposit = await c.batchMarket.read.deposits([bundle.feeToken, bundle.requester]);
    if (deposit.available < total)
      return no('deposit-too-low', `${deposit.available} available, ${total} needed`);
    const keys = bundle.requests.map((r) => `${bundle.requester}:${r.request.nonce}`);
    for (const k of keys) taken.add(k);
    const items: BatchItem[] = [];
    const outputs: Uint8Array[] = [];
    const cheated = new Set<number>();
    for (const [i, r] of bundle.requests.entries()) {
      const model = models.get(r.request.modelRoot)!;
      let run: { leaf: BatchItem['leaf']; output: Uint8Array };
      if (cheatAt.has(i)) {
        cheated.add(i);
        run = leafOfTrace(r.requestHash, r.request.fee, inputs[i], cheatTrace(model, inputs[i]));
      } else run = await runLeaf(backend, model, inputs[i], r.requestHash, r.request.fee);
      items.push({ leaf: run.leaf, request: r });
      outputs.push(run.output);
    }
    const tree = buildBatchTree(items.map((x) => x.leaf));
    const header: BatchHeaderArgs = {
      requester: bundle.requester,
      worker: me,
      feeToken: bundle.feeToken,
      root: tree.root,
      count: items.length,
      totalFee: tree.totalFee,
      nonce: BigInt(`0x${randomBytes(32).toString('hex')}`),
      deadline,
    };
    pending.set(headerHashOf(chainId, market, header), { header, items, cheated, keys });
    emit({ type: 'proposed', header });
    return {
      accepted: true,
      proposal: header,
      leaves: items.map((x, i) => ({ leaf: x.leaf, output: outputs[i] })),
    };
  }

  async function postSigned(header: BatchHeaderArgs, signature: Hex, _peer: PeerId): Promise<SignAnswer> {
    const key = headerHashOf(chainId, market, header);
    const proposal = pending.get(key);
    if (!proposal)
      return { posted: false, refusal: 'unknown-proposal', reason: 'no such proposal is pending' };
    const head = await publicClient.getBlock();
    if (head.timestamp > header.deadline)
      return { posted: false, refusal: 'expired', reason: 'the header expired' };
    try {
      await c.batchMarket.simulate.postBatch([header, signature], { account: wallet.account.address });
    } catch (err) {
      const name = revertErrorName(err);
      if (name === 'BatchMarketBadSignature') return { posted: false, refusal: 'bad-signature' };
      return {
        posted: false,
        refusal: 'post-failed',
        reason: (name ?? 'the simulation failed').slice(0, 200),
      };
    }
    // Taken off the pending list first, so that one signature posts once however many times it
    // is sent; and saved before it is sent, so that a worker killed while postBatch is in flight
    // still holds the inputs it must answer for (it adopts the batch from its BatchPosted log).
    book.posting(key, proposal, head.number);
    const tx = await send(c.batchMarket.write.postBatch([header, signature]));
    const [log] = parseEventLogs({ abi: abis.batchMarket, logs: tx.logs, eventName: 'BatchPosted' });
    const batchId = log.args.batchId;
    book.adopt(key, batchId);
    emit({ type: 'posted', batchId, transactionHash: tx.hash, gasCost: tx.gasCost });
    return { posted: true, batchId, transactionHash: tx.hash };
  }

  /**
   * Rebuilds the posted batches, the taken requests and the games from the store, once (a failed
   * attempt is retried by the next poll). A posting whose postBatch was in flight at the crash is
   * adopted from its BatchPosted log, looked up from the block it was saved at: the saved cursor
   * may be later.
   */
  async function restore(): Promise<void> {
    if (!store || restored) return;
    book.restore();
    const from = book.unseenFrom();
    if (from !== undefined) {
      const logs = await publicClient.getContractEvents({
        address: market,
        abi: abis.batchMarket,
        eventName: 'BatchPosted',
        args: { worker: me },
        fromBlock: from,
      });
      for (const log of logs) book.adopt(headerHashOf(chainId, market, log.args.header!), log.args.batchId!);
    }
    for (const g of store.loadGames()) {
      const state = posted.get(g.batchId);
      if (!state) {
        store.endGame(g.gameId);
        continue;
      }
      try {
        const trace = await traceOf(state, g.index);
        games.set(g.gameId, { gameId: g.gameId, role: 'worker', player: { wallet, trace } });
      } catch (error) {
        // The model is no longer served (a config change): say so, and resume the others.
        emit({ type: 'error', error });
      }
    }
    restored = true;
  }

  function cheatTrace(model: Model, input: Tensor): Tensor[] {
    return outputChangingTrace(model, input, Math.floor(model.ops.length / 2), 3);
  }

  /** The trace of leaf `index` as committed: recomputed from the model and the input. */
  async function traceOf(state: PostedState, index: number) {
    const item = state.items[index];
    const model = models.get(item.request.request.modelRoot);
    if (!model) throw unservedModel(`batch ${state.batchId}`, item.request.request.modelRoot);
    const input = inputTensorOf(model, item.request.input);
    const trace = state.cheated.has(index)
      ? cheatTrace(model, input)
      : (await backend.run(model, input)).trace;
    return traceProvider(model, input, trace);
  }

  /** Reads the market's logs from the cursor; true once it has read up to the head. */
  async function scanEvents(): Promise<boolean> {
    const latest = await publicClient.getBlockNumber();
    const range = scanRange(nextBlock ?? latest, latest);
    if (!range) return true;
    const logs = await publicClient.getContractEvents({ address: market, abi: abis.batchMarket, ...range });
    // Every handler is idempotent: a crash before the cursor moves replays these logs.
    for (const log of logs) {
      if (log.eventName === 'BatchPosted') {
        const header = log.args.header!;
        if (getAddress(header.worker) === me)
          book.adopt(headerHashOf(chainId, market, header), log.args.batchId!);
      } else if (log.eventName === 'ResultChallenged') {
        const state = posted.get(log.args.batchId!);
        const gameId = log.args.gameId!;
        if (!state || games.has(gameId)) continue;
        const index = Number(log.args.index);
        store?.saveGame({ gameId, batchId: state.batchId, index });
        games.set(gameId, { gameId, role: 'worker', player: { wallet, trace: await traceOf(state, index) } });
        emit({ type: 'defending', batchId: state.batchId, index, gameId });
      } else if (log.eventName === 'QueryOpened') {
        const state = posted.get(log.args.batchId!);
        const queryId = log.args.queryId!;
        if (!state || handledQueries.has(queryId)) continue;
        handledQueries.add(queryId);
        await answerQuery(state, queryId, Number(log.args.kind), Number(log.args.index));
      }
    }
    nextBlock = range.toBlock + 1n;
    store?.setCursor(nextBlock);
    return range.toBlock === latest;
  }

  async function poll(): Promise<void> {
    if (polling) return polling;
    polling = (async () => {
      try {
        await restore();
        const now = await chainTime();
        book.expire(now, false);
        // Once the scan has read every block up to one at `now` or later.
        if (await scanEvents()) book.expire(now, true);
        for (const side of games.values()) {
          const { resolved, outcome } = await playTurn(gameClient, publicClient, side);
          if (!resolved) continue;
          games.delete(side.gameId);
          store?.endGame(side.gameId);
          emit({ type: 'game-over', gameId: side.gameId, outcome });
        }
        await settle();
      } catch (error) {
        emit({ type: 'error', error });
      } finally {
        polling = undefined;
      }
    })();
    return polling;
  }

  return {
    batches: posted,
    poll,
    async start() {
      if (!stopped) return;
      stopped = false;
      nextBlock = store?.cursor() ?? nextBlock ?? (await publicClient.getBlockNumber());
      await restore().catch((error) => emit({ type: 'error', error }));
      const contents = async (batchId: bigint) =>
        options.cheat?.withhold ? undefined : posted.get(batchId)?.items;
      unhandle.push(
        await serveBatchBundles(host, {
          chainId,
          market,
          worker: me,
          maxRequests: options.maxRequests,
          decide: (b) => decide(b),
        }),
        await serveHeaderSignatures(host, postSigned),
        await serveBatchContents(host, contents),
      );
      const tick = () => {
        if (stopped) return;
        void poll().finally(() => {
          if (!stopped) timer = setTimeout(tick, options.pollIntervalMs ?? 200);
        });
      };
      tick();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await polling;
      for (const u of unhandle.splice(0)) await u();
    },
  };
}
