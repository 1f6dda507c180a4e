// A batch verifier: watches BatchPosted, fetches each batch's contents from its worker (checked
// against the on-chain root), re-executes every leaf (or a share of them) with the exact engine,
// and challenges the first wrong leaf alone, then plays the game to the end. When the worker
// withholds the contents, a verifier that is the batch's requester forces the leaves on chain with
// demandLeaves and checks them against its own requests; an unanswered demand convicts the batch.
// A conviction's beneficiary share is escrowed by the market until every claim open at the
// conviction has resolved, then split per winning claim: the verifier claims its part
// (claimBounty) and withdraws it, with its returned game bonds.
import {
  type Account,
  type Address,
  type Chain,
  getAddress,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from 'viem';
import { buildBatchTree, PAGE_SIZE, requestHashOf } from '../chain/bindings/commitments.ts';
import { type LeafArgs, NATIVE } from '../chain/bindings/types.ts';
import { abis, bindVerinfer, type VerinferAddresses } from '../chain/deployVerinfer.ts';
import { traceProvider } from '../dispute/party.ts';
import { type GameClient, gameIdFromLogs } from '../dispute/play.ts';
import type { Model } from '../engine/graph.ts';
import type { Backend } from '../engine/interpreter.ts';
import type { PeerHost } from '../p2p/host.ts';
import { parseEndpoint } from '../p2p/identity.ts';
import type { PeerTarget } from '../p2p/rpc.ts';
import { type BatchItem, fetchBatchContents } from './contents.ts';
import { unservedModel } from './errors.ts';
import { type GameSide, playTurn } from './game.ts';
import { inputTensorOf, runLeaf } from './run.ts';
import { type BatchVerifierStore, scanRange, type WatchedRecord } from './store.ts';

type Wallet = WalletClient<Transport, Chain, Account>;

export interface BatchVerifierOptions {
  host: PeerHost;
  publicClient: PublicClient<Transport, Chain>;
  wallet: Wallet;
  addresses: VerinferAddresses;
  models: ReadonlyMap<Hex, Model>;
  backend: Backend;
  /** Share of each batch's leaves re-executed, in (0, 1] (default 1: all). */
  share?: number;
  /** Seed of the leaf sample when share < 1. */
  seed?: number;
  /** Where a worker's contents are fetched; default: its AgentRegistry endpoint. */
  workerPeer?: (worker: Address) => PeerTarget | Promise<PeerTarget>;
  /** The requests and inputs this node holds itself (a requester's), for leaves forced on chain. */
  knownContents?: (batchId: bigint) => readonly Omit<BatchItem, 'leaf'>['request'][] | undefined;
  /** Only batches posted by these workers are checked (default: all). */
  workers?: readonly Address[];
  /** Withdraw bounties, returned bonds and game credits once claimed (default true). */
  autoWithdraw?: boolean;
  pollIntervalMs?: number;
  /** The first block scanned (default: the block at start; a store's cursor wins). */
  fromBlock?: bigint;
  /**
   * Keeps the games, the unfinished checks and the scan cursor across restarts (src/batch/store.ts).
   * Without it a restart forgets the games this verifier must finish.
   */
  store?: BatchVerifierStore;
  onEvent?: (event: BatchVerifierEvent) => void;
}

export type BatchVerifierEvent =
  | { type: 'checked'; batchId: bigint; checked: number; wrong: number[] }
  | { type: 'challenged'; batchId: bigint; index: number; gameId: bigint }
  | { type: 'game-over'; gameId: bigint; outcome: number }
  | { type: 'withheld'; batchId: bigint; error: unknown }
  | { type: 'demanded'; batchId: bigint; queryId: bigint }
  | { type: 'expired'; batchId: bigint; queryId: bigint }
  | { type: 'bounty'; batchId: bigint; amount: bigint }
  | { type: 'withdrawn'; amount: bigint }
  | { type: 'error'; error: unknown };

interface Watched extends Omit<WatchedRecord, 'state'> {
  state: WatchedRecord['state'] | 'done';
  pages: Map<number, LeafArgs[]>;
}

export interface BatchVerifier {
  start(): Promise<void>;
  stop(): Promise<void>;
  poll(): Promise<void>;
}

/** mulberry32: a small seeded generator for the leaf sample (not for anything secret). */
function sampler(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

export function createBatchVerifier(options: BatchVerifierOptions): BatchVerifier {
  const { host, publicClient, wallet, addresses, models, backend } = options;
  const me = getAddress(wallet.account.address);
  const chainId = wallet.chain.id;
  const market = addresses.batchMarket;
  const c = bindVerinfer(addresses, publicClient, wallet);
  const gameClient: GameClient = { disputeGame: c.disputeGame, addresses };
  const share = options.share ?? 1;
  if (!(share > 0 && share <= 1)) throw new RangeError(`share must be in (0, 1], not ${share}.`);
  const random = sampler(options.seed ?? 1);
  const onlyWorkers = options.workers && new Set(options.workers.map((w) => w.toLowerCase()));
  const watched = new Map<bigint, Watched>();
  const games = new Map<bigint, GameSide>();
  /** Batches this node made a claim on (a game, a demand), until their escrow is settled. */
  const claimed = new Set<bigint>();
  const store = options.store;
  let restored = false;
  const emit = (e: BatchVerifierEvent) => options.onEvent?.(e);
  let nextBlock = options.fromBlock;
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;
  let stopped = true;

  async function send(hash: Promise<Hex>) {
    const r = await publicClient.waitForTransactionReceipt({ hash: await hash });
    if (r.status !== 'success') throw new Error(`Transaction ${r.transactionHash} reverted.`);
    return r;
  }

  async function peerOf(worker: Address): Promise<PeerTarget> {
    if (options.workerPeer) return options.workerPeer(worker);
    const info = await c.agentRegistry.read.agentInfo([worker]);
    return parseEndpoint(info.endpoint).multiaddr;
  }

  async function scanEvents(): Promise<void> {
    const latest = await publicClient.getBlockNumber();
    const range = scanRange(nextBlock ?? latest, latest);
    if (!range) return;
    const logs = await publicClient.getContractEvents({ address: market, abi: abis.batchMarket, ...range });
    // Replayed after a crash before the cursor moves: a batch already watched is not reset.
    for (const log of logs) {
      if (log.eventName === 'BatchPosted') {
        const h = log.args.header!;
        const batchId = log.args.batchId!;
        if (onlyWorkers && !onlyWorkers.has(h.worker.toLowerCase())) continue;
        if (watched.has(batchId)) continue;
        const batch = {
          requester: h.requester,
          worker: h.worker,
          feeToken: h.feeToken,
          root: h.root,
          count: h.count,
        };
        const w: Watched = { batchId, batch, fromBlock: log.blockNumber, state: 'new', pages: new Map() };
        save(w);
        watched.set(batchId, w);
      } else if (log.eventName === 'LeavesPublished') {
        const w = watched.get(log.args.batchId!);
        if (w?.state === 'demanded') w.pages.set(Number(log.args.page), [...log.args.leaves!]);
      }
    }
    nextBlock = range.toBlock + 1n;
    store?.setCursor(nextBlock);
  }

  function save(w: Watched): void {
    if (!store) return;
    if (w.state === 'done') {
      store.dropWatched(w.batchId);
      return;
    }
    const { pages: _, ...record } = w;
    store.saveWatched({ ...record, state: w.state });
  }

  function finish(w: Watched): void {
    w.state = 'done';
    save(w);
    watched.delete(w.batchId);
  }

  /** The games and the unfinished checks from the store, once; a demand's pages are read back from its logs. */
  async function restore(): Promise<void> {
    if (!store || restored) return;
    for (const g of store.loadGames()) {
      if (games.has(g.gameId)) continue;
      const model = models.get(g.item.request.request.modelRoot);
      if (!model) {
        emit({
          type: 'error',
          error: unservedModel(`dispute game ${g.gameId}`, g.item.request.request.modelRoot),
        });
        continue;
      }
      games.set(g.gameId, await challengerSide(g.gameId, model, g.item));
      // Its bounty, if the game convicts, is claimed after the restart too.
      claimed.add(g.batchId);
    }
    for (const r of store.loadWatched()) {
      if (watched.has(r.batchId)) continue;
      const w: Watched = { ...r, pages: new Map() };
      if (w.state === 'demanded') await readPages(w);
      watched.set(r.batchId, w);
    }
    restored = true;
  }

  /** A demand's pages on chain (after a restart, its earlier LeavesPublished logs are behind the cursor). */
  async function readPages(w: Watched): Promise<void> {
    const published = await publicClient.getContractEvents({
      address: market,
      abi: abis.batchMarket,
      eventName: 'LeavesPublished',
      args: { batchId: w.batchId },
      fromBlock: w.fromBlock,
    });
    for (const log of published) w.pages.set(Number(log.args.page), [...log.args.leaves!]);
  }

  async function challengerSide(gameId: bigint, model: Model, item: BatchItem): Promise<GameSide> {
    const input = inputTensorOf(model, item.request.input);
    const { trace } = await backend.run(model, input);
    return { gameId, role: 'challenger', player: { wallet, trace: traceProvider(model, input, trace) } };
  }

  /** Re-executes the chosen leaves; challenges the first wrong one while the window is open. */
  async function check(w: Watched, items: readonly BatchItem[]): Promise<void> {
    const wrong: number[] = [];
    let checked = 0;
    let first: number | undefined;
    for (const [i, item] of items.entries()) {
      if (share < 1 && random() >= share) continue;
      const model = models.get(item.request.request.modelRoot);
      if (!model) continue;
      let input: ReturnType<typeof inputTensorOf>;
      try {
        input = inputTensorOf(model, item.request.input);
      } catch {
        // No game can settle a result for an input the model cannot take.
        continue;
      }
      checked += 1;
      const run = await runLeaf(backend, model, input, item.leaf.requestHash, item.leaf.fee);
      if (run.leaf.outputRoot === item.leaf.outputRoot) continue;
      wrong.push(i);
      first ??= i;
    }
    emit({ type: 'checked', batchId: w.batchId, checked, wrong });
    if (first === undefined) return finish(w);
    const index = first;
    const tree = buildBatchTree(items.map((x) => x.leaf));
    // Saved before it is sent: a verifier killed while challengeResult is in flight finds its
    // game in the logs after a restart, and does not open a second one.
    w.state = 'challenging';
    w.challenge = { index, item: items[index], proof: tree.proof(index) };
    save(w);
    return challenge(w);
  }

  /** Opens the game on the saved wrong leaf, or adopts the one this verifier already opened. */
  async function challenge(w: Watched): Promise<void> {
    const { index, item, proof } = w.challenge!;
    const model = models.get(item.request.request.modelRoot)!;
    const mine = await publicClient.getContractEvents({
      address: market,
      abi: abis.batchMarket,
      eventName: 'ResultChallenged',
      args: { batchId: w.batchId, challenger: me },
      fromBlock: w.fromBlock,
    });
    let gameId = mine[0]?.args.gameId;
    if (gameId === undefined) {
      const b = await c.batchMarket.read.batch([w.batchId]);
      const now = (await publicClient.getBlock()).timestamp;
      if (b.status !== 1 || now >= BigInt(b.deadline)) return finish(w);
      const bond = await c.batchMarket.read.challengeBond();
      const receipt = await send(
        c.batchMarket.write.challengeResult(
          [w.batchId, item.leaf, BigInt(index), proof, item.request.request],
          {
            value: bond,
          },
        ),
      );
      gameId = gameIdFromLogs(receipt.logs, addresses.disputeGame);
    }
    claimed.add(w.batchId);
    store?.saveGame({ gameId, batchId: w.batchId, index, item });
    games.set(gameId, await challengerSide(gameId, model, item));
    finish(w);
    emit({ type: 'challenged', batchId: w.batchId, index, gameId });
  }

  async function fetchOrDemand(w: Watched): Promise<void> {
    try {
      const target = await peerOf(w.batch.worker);
      const items = await fetchBatchContents(host, target, {
        chainId,
        market,
        batchId: w.batchId,
        batch: w.batch,
      });
      return check(w, items);
    } catch (error) {
      const own = options.knownContents?.(w.batchId);
      if (getAddress(w.batch.requester) !== me || !own) {
        emit({ type: 'withheld', batchId: w.batchId, error });
        return finish(w);
      }
      // A demand sent before a crash (one per batch) is adopted rather than sent again, even
      // when it is closed already; its pages are then in its LeavesPublished logs.
      let queryId = await c.batchMarket.read.openDemand([w.batchId]);
      if (queryId === 0n && (await c.batchMarket.read.batch([w.batchId])).demanded) {
        const opened = await publicClient.getContractEvents({
          address: market,
          abi: abis.batchMarket,
          eventName: 'QueryOpened',
          args: { batchId: w.batchId },
          fromBlock: w.fromBlock,
        });
        queryId = opened.find((l) => Number(l.args.kind) === 1)?.args.queryId ?? 0n;
      }
      if (queryId === 0n) {
        const bond = await c.batchMarket.read.queryBond();
        await send(c.batchMarket.write.demandLeaves([w.batchId], { value: bond }));
        queryId = await c.batchMarket.read.openDemand([w.batchId]);
      }
      w.queryId = queryId;
      claimed.add(w.batchId);
      w.state = 'demanded';
      await readPages(w);
      save(w);
      emit({ type: 'demanded', batchId: w.batchId, queryId: w.queryId });
    }
  }

  /** A demand: once every page is on chain (checked there against the root), check them; if the
   * worker lets the response window pass, expire the query, which convicts the batch. */
  async function followDemand(w: Watched): Promise<void> {
    const pageCount = Math.ceil(w.batch.count / PAGE_SIZE);
    if (w.pages.size === pageCount) {
      const leaves = Array.from({ length: pageCount }, (_, p) => w.pages.get(p)!).flat();
      const own = new Map(
        (options.knownContents?.(w.batchId) ?? []).map((r) => [requestHashOf(chainId, market, r.request), r]),
      );
      const items: BatchItem[] = [];
      for (const leaf of leaves) {
        const request = own.get(leaf.requestHash);
        // A leaf for a request this requester never signed could not have been posted with its consent.
        if (request) items.push({ leaf, request });
      }
      return check(w, items.length === leaves.length ? items : []);
    }
    const q = await c.batchMarket.read.query([w.queryId!]);
    if (q.status !== 1) {
      // Answered in full (its pages are read above) or closed by someone else.
      if (q.status !== 2) finish(w);
      return;
    }
    const now = (await publicClient.getBlock()).timestamp;
    if (now <= BigInt(q.deadline)) return;
    await send(c.batchMarket.write.expireQuery([w.queryId!]));
    finish(w);
    emit({ type: 'expired', batchId: w.batchId, queryId: w.queryId! });
  }

  /** Claims this node's part of each settled conviction escrow; then withdraws what it is owed. */
  async function collect(): Promise<void> {
    let settled = false;
    for (const batchId of claimed) {
      const { status } = await c.batchMarket.read.batch([batchId]);
      if (status === 1) continue;
      // Convicted: the escrow is split once no claim on the batch is open.
      if (status === 3 && (await c.batchMarket.read.disputes([batchId])).open !== 0n) continue;
      claimed.delete(batchId);
      settled = true;
      if (status !== 3 || (await c.batchMarket.read.bountyWins([batchId, me])) === 0n) continue;
      const before = await c.batchMarket.read.owed([NATIVE, me]);
      await send(c.batchMarket.write.claimBounty([batchId]));
      emit({ type: 'bounty', batchId, amount: (await c.batchMarket.read.owed([NATIVE, me])) - before });
    }
    if (!settled || options.autoWithdraw === false) return;
    const owed = await c.batchMarket.read.owed([NATIVE, me]);
    const credits = await c.disputeGame.read.credits([me]);
    if (owed !== 0n) await send(c.batchMarket.write.withdraw([NATIVE, me]));
    if (credits !== 0n) await send(c.disputeGame.write.claim([me]));
    if (owed + credits !== 0n) emit({ type: 'withdrawn', amount: owed + credits });
  }

  async function poll(): Promise<void> {
    if (polling) return polling;
    polling = (async () => {
      try {
        await restore();
        await scanEvents();
        for (const w of [...watched.values()]) {
          if (w.state === 'new') await fetchOrDemand(w);
          else if (w.state === 'demanded') await followDemand(w);
          else if (w.state === 'challenging') await challenge(w);
        }
        for (const side of games.values()) {
          const { resolved, outcome } = await playTurn(gameClient, publicClient, side);
          if (!resolved) continue;
          games.delete(side.gameId);
          store?.endGame(side.gameId);
          emit({ type: 'game-over', gameId: side.gameId, outcome });
        }
        await collect();
      } catch (error) {
        emit({ type: 'error', error });
      } finally {
        polling = undefined;
      }
    })();
    return polling;
  }

  return {
    poll,
    async start() {
      if (!stopped) return;
      stopped = false;
      nextBlock = store?.cursor() ?? nextBlock ?? (await publicClient.getBlockNumber());
      await restore().catch((error) => emit({ type: 'error', error }));
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
    },
  };
}
