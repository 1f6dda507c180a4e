// Plays a dispute game on chain between two strategies. The chain is the source of truth: before
// each move the game's state and the worker's reveals are read back from the contract and its
// logs, so a game played part way (or by another process) resumes where it stands.
import type { Account, Chain, Hex, PublicClient, Transport, WalletClient } from 'viem';
import { decodeEventLog, numberToHex, parseEventLogs } from 'viem';
import { disputeGameAbi } from '../chain/bindings/abis.ts';
import type { VerinferDeployment } from '../chain/deployVerinfer.ts';
import { type DisputeState, MOVER, stateOfPhase } from './machine.ts';
import {
  nameElementArgs,
  nameOpArgs,
  pickArgs,
  revealChunkArgs,
  revealNodesArgs,
  revealPrefixArgs,
  revealTensorArgs,
  revealTraceArgs,
  segmentStepArgs,
} from './moves.ts';
import type { TraceProvider } from './party.ts';
import { RevealedTree } from './tree.ts';

type Wallet = WalletClient<Transport, Chain, Account>;
type GameStruct = Awaited<ReturnType<VerinferDeployment['disputeGame']['read']['game']>>;
/** What playing a game needs of a deployment: the game contract and its address. */
export type GameClient = Pick<VerinferDeployment, 'disputeGame' | 'addresses'>;

/** What a party sees before it moves: the game's storage and what the worker has revealed. */
export interface GameView {
  gameId: bigint;
  state: DisputeState;
  game: GameStruct;
  /** The children of the worker's latest reveal (what the challenger picks from). */
  children: Hex[];
  /** The worker's revealed chunk, once it has revealed one. */
  chunk: Hex;
  /** The worker's trace tree as far as it was revealed (undefined before move 1). */
  traceTree: RevealedTree | undefined;
  /** The worker's partial-sum tree as far as it was revealed (undefined before revealPrefix). */
  prefixTree: RevealedTree | undefined;
}

/** One call to the game. `delaySeconds` lets time pass first (a party that plays for time). */
export type Move = { fn: GameFunction; args: readonly unknown[]; delaySeconds?: number };
export type GameFunction =
  | 'revealTrace'
  | 'revealNodes'
  | 'pick'
  | 'nameOp'
  | 'revealTensor'
  | 'revealChunk'
  | 'nameElement'
  | 'submitStep'
  | 'revealPrefix'
  | 'submitSegmentStep';

/** Chooses a party's next move; undefined means it does not move (its clock runs). */
export interface Strategy {
  move(view: GameView): Move | undefined;
}

export interface Player {
  wallet: Wallet;
  /** The party's own run; with no strategy the party plays honestly from it. */
  trace?: TraceProvider;
  strategy?: Strategy;
  /** Never moves: lets its clock run out. */
  silent?: boolean;
}

export interface PlayedMove {
  by: 'worker' | 'challenger';
  move: GameFunction;
  gasUsed: bigint;
  /** The custom error's name when the move reverted (only a dishonest strategy's moves may). */
  reverted?: string;
}

export interface PlayResult {
  /** IDisputeArena.Outcome: 1 challenger won, 2 worker won, 3 moot; 0 while unresolved. */
  outcome: number;
  moves: PlayedMove[];
  /** The state where the game stopped waiting (a silent party's turn), or 'resolved'. */
  state: DisputeState;
  totalGas: bigint;
}

export interface PlayOptions {
  /** Advances the chain's clock (needed for strategies that delay). */
  advance?: (seconds: number) => Promise<void>;
  /** Reverting moves a party may make in a row before it counts as silent. */
  maxRevertsInARow?: number;
  /** Returns after this many moves (to interleave several games); unlimited by default. */
  maxMoves?: number;
}

/** The honest worker: defends its own trace, and submits the step when its byte is right. */
export function honestWorker(trace: TraceProvider): Strategy {
  return {
    move(view) {
      const g = view.game;
      const k = Number(g.opIndex);
      switch (view.state) {
        case 'awaitWorkerTrace':
          return { fn: 'revealTrace', args: revealTraceArgs(trace) };
        case 'awaitWorkerOpNodes':
          return {
            fn: 'revealNodes',
            args: [revealNodesArgs(trace.traceTree, g.height, Number(g.position))],
          };
        case 'awaitWorkerTensor':
          return { fn: 'revealTensor', args: revealTensorArgs(trace, k) };
        case 'awaitWorkerChunkNodes':
          return {
            fn: 'revealNodes',
            args: [revealNodesArgs(trace.chunkTree(k), g.height, Number(g.position))],
          };
        case 'awaitWorkerChunk':
          return { fn: 'revealChunk', args: [revealChunkArgs(trace, k, Number(g.position))] };
        case 'awaitStep': {
          const element = Number(g.element);
          if (trace.opBytes(k)[element] !== Number(g.workerByte)) return undefined;
          // A split reduction: one step of the whole sum would not fit a transaction.
          if (trace.prefix(k, element))
            return { fn: 'revealPrefix', args: revealPrefixArgs(trace, k, element) };
          return { fn: 'submitStep', args: [trace.step(k, element)] };
        }
        case 'awaitWorkerPrefixNodes': {
          const p = trace.prefix(k, Number(g.element));
          return p && { fn: 'revealNodes', args: [revealNodesArgs(p.tree, g.height, Number(g.position))] };
        }
        case 'awaitPrefixStep': {
          const element = Number(g.element);
          if (!trace.prefix(k, element)) return undefined;
          return {
            fn: 'submitSegmentStep',
            args: segmentStepArgs(trace, k, element, Number(g.position), undefined),
          };
        }
        default:
          return undefined;
      }
    },
  };
}

/** The honest challenger: walks into the first disagreement with its own trace, and submits the
 * step itself if the worker does not. */
export function honestChallenger(trace: TraceProvider): Strategy {
  return {
    move(view) {
      const g = view.game;
      const k = Number(g.opIndex);
      const position = Number(g.position);
      switch (view.state) {
        case 'awaitChallengerOpPick': {
          const args = pickArgs(trace.traceTree, g.height, position, view.children);
          return args && { fn: 'pick', args };
        }
        case 'awaitChallengerOp':
          if (!view.traceTree) return undefined;
          return { fn: 'nameOp', args: nameOpArgs(trace, position, view.traceTree) };
        case 'awaitChallengerChunkPick': {
          const args = pickArgs(trace.chunkTree(k), g.height, position, view.children);
          return args && { fn: 'pick', args };
        }
        case 'awaitChallengerElement': {
          const args = nameElementArgs(trace.chunk(k, position), view.chunk);
          return args && { fn: 'nameElement', args };
        }
        case 'awaitStep':
          // A split reduction is the worker's to open (revealPrefix); its clock runs meanwhile.
          if (trace.prefix(k, Number(g.element))) return undefined;
          return { fn: 'submitStep', args: [trace.step(k, Number(g.element))] };
        case 'awaitChallengerPrefixPick': {
          const p = trace.prefix(k, Number(g.element));
          const args = p && pickArgs(p.tree, g.height, position, view.children);
          return args && { fn: 'pick', args };
        }
        case 'awaitPrefixStep': {
          const element = Number(g.element);
          if (!trace.prefix(k, element) || !view.prefixTree) return undefined;
          return {
            fn: 'submitSegmentStep',
            args: segmentStepArgs(trace, k, element, position, view.prefixTree),
          };
        }
        default:
          return undefined;
      }
    },
  };
}

function strategyOf(p: Player, role: 'worker' | 'challenger'): Strategy | undefined {
  if (p.silent) return undefined;
  if (p.strategy) return p.strategy;
  if (!p.trace) throw new Error(`The ${role} needs a trace or a strategy.`);
  return role === 'worker' ? honestWorker(p.trace) : honestChallenger(p.trace);
}

/** Per chain client, the block of each game's first event, so later reads scan only from there. */
const openedAtByClient = new WeakMap<object, Map<string, Hex>>();

/** Reads the game and the worker's reveals back from the chain. */
export async function readGameView(
  v: GameClient,
  client: PublicClient<Transport, Chain>,
  gameId: bigint,
): Promise<GameView> {
  const game = await v.disputeGame.read.game([gameId]);
  // Every event of the game carries its ID as the first indexed topic: filter on it, from the
  // block that opened the game (found once, then remembered).
  const topic = numberToHex(gameId, { size: 32 });
  const key = `${v.addresses.disputeGame}:${gameId}`;
  let openedAt = openedAtByClient.get(client);
  if (!openedAt) {
    openedAt = new Map();
    openedAtByClient.set(client, openedAt);
  }
  const query = (fromBlock: Hex) =>
    client.request({
      method: 'eth_getLogs',
      params: [{ address: v.addresses.disputeGame, fromBlock, topics: [null, topic] }],
    });
  const raw = await query(openedAt.get(key) ?? '0x0');
  const first = (raw as { blockNumber?: Hex }[])[0]?.blockNumber;
  if (first && !openedAt.has(key)) openedAt.set(key, first);
  const logs = parseEventLogs({ abi: disputeGameAbi, logs: raw as never });
  let children: Hex[] = [];
  let chunk: Hex = '0x';
  let traceTree: RevealedTree | undefined;
  let prefixTree: RevealedTree | undefined;
  for (const log of logs) {
    const ev = log as unknown as { eventName: string; args: Record<string, unknown> };
    if (ev.args.gameId !== gameId) continue;
    if (ev.eventName === 'TraceRevealed') {
      const opCount = Number(game.opCount);
      let height = 0;
      while (2 ** height < opCount) height += 1;
      traceTree = new RevealedTree(height, ev.args.traceTreeRoot as Hex);
      children = [...(ev.args.children as Hex[])];
      if (height > 0) traceTree.reveal(height, 0, children);
    } else if (ev.eventName === 'NodesRevealed') {
      children = [...(ev.args.children as Hex[])];
      // Phase.WorkerOpNodes = 3: a reveal inside the trace tree.
      if (Number(ev.args.phase) === 3) {
        traceTree?.reveal(Number(ev.args.height), Number(ev.args.position), children);
      }
      // Phase.WorkerPrefixNodes = 13: a reveal inside the partial-sum tree.
      if (Number(ev.args.phase) === 13) {
        prefixTree?.reveal(Number(ev.args.height), Number(ev.args.position), children);
      }
    } else if (ev.eventName === 'PrefixRevealed') {
      const leaves = Number(ev.args.segments) + 1;
      let height = 0;
      while (2 ** height < leaves) height += 1;
      prefixTree = new RevealedTree(height, ev.args.prefixRoot as Hex);
      children = [...(ev.args.children as Hex[])];
      if (height > 0) prefixTree.reveal(height, 0, children);
    } else if (ev.eventName === 'TensorRevealed') {
      children = [...(ev.args.children as Hex[])];
    } else if (ev.eventName === 'ChunkRevealed') {
      chunk = ev.args.chunk as Hex;
    }
  }
  return { gameId, state: stateOfPhase(Number(game.phase)), game, children, chunk, traceTree, prefixTree };
}

/** Plays game `gameId` until it resolves or the party to move does not move. */
export async function playDispute(
  v: GameClient,
  client: PublicClient<Transport, Chain>,
  gameId: bigint,
  worker: Player,
  challenger: Player,
  options: PlayOptions = {},
): Promise<PlayResult> {
  const moves: PlayedMove[] = [];
  const parties = {
    worker: { player: worker, strategy: strategyOf(worker, 'worker') },
    challenger: { player: challenger, strategy: strategyOf(challenger, 'challenger') },
  };
  const maxReverts = options.maxRevertsInARow ?? 0;
  let reverts = 0;
  let lastState: DisputeState | undefined;
  for (;;) {
    const view = await readGameView(v, client, gameId);
    if (view.state === 'resolved') return finish(v, gameId, moves, view.state);
    if (view.state !== lastState) reverts = 0;
    lastState = view.state;
    const [, secondsLeft] = await v.disputeGame.read.clockOf([gameId]);
    if (secondsLeft === 0n) return finish(v, gameId, moves, view.state);
    // In the step phase the worker moves first; the challenger may finish the game for it.
    const order: ('worker' | 'challenger')[] =
      view.state === 'awaitStep' || view.state === 'awaitPrefixStep'
        ? ['worker', 'challenger']
        : [MOVER[view.state]];
    let sent = false;
    for (const role of order) {
      const move = parties[role].strategy?.move(view);
      if (!move) continue;
      if (move.delaySeconds) {
        if (!options.advance) throw new Error('A strategy that delays needs PlayOptions.advance.');
        await options.advance(move.delaySeconds);
      }
      const played = await send(v, client, gameId, parties[role].player.wallet, role, move);
      moves.push(played);
      if (played.reverted) {
        reverts += 1;
        if (reverts > maxReverts) return finish(v, gameId, moves, view.state);
      }
      sent = true;
      break;
    }
    if (!sent) return finish(v, gameId, moves, view.state);
    if (options.maxMoves !== undefined && moves.length >= options.maxMoves) {
      return finish(v, gameId, moves, (await readGameView(v, client, gameId)).state);
    }
  }
}

async function send(
  v: GameClient,
  client: PublicClient<Transport, Chain>,
  gameId: bigint,
  wallet: Wallet,
  by: 'worker' | 'challenger',
  move: Move,
): Promise<PlayedMove> {
  const request = {
    address: v.addresses.disputeGame,
    abi: disputeGameAbi,
    functionName: move.fn,
    args: [gameId, ...move.args],
    account: wallet.account,
    chain: wallet.chain,
  } as const;
  try {
    // viem cannot narrow a union of function names to one argument list; the strategies build
    // each move's arguments for exactly its function.
    const hash = await wallet.writeContract(request as never);
    const receipt = await client.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success')
      return { by, move: move.fn, gasUsed: receipt.gasUsed, reverted: 'unknown' };
    return { by, move: move.fn, gasUsed: receipt.gasUsed };
  } catch (err) {
    return { by, move: move.fn, gasUsed: 0n, reverted: revertName(err) };
  }
}

function revertName(err: unknown): string {
  let e: unknown = err;
  while (e && typeof e === 'object') {
    const data = (e as { data?: { errorName?: string } }).data;
    if (data?.errorName) return data.errorName;
    e = (e as { cause?: unknown }).cause;
  }
  return err instanceof Error ? err.message.split('\n')[0] : String(err);
}

async function finish(
  v: GameClient,
  gameId: bigint,
  moves: PlayedMove[],
  state: DisputeState,
): Promise<PlayResult> {
  const g = await v.disputeGame.read.game([gameId]);
  return {
    outcome: Number(g.outcome),
    moves,
    state: Number(g.phase) === 11 ? 'resolved' : state,
    totalGas: moves.reduce((s, m) => s + m.gasUsed, 0n),
  };
}

/** The game ID opened by a challenge transaction, from its GameOpened log. */
export function gameIdFromLogs(
  logs: readonly { data: Hex; topics: readonly Hex[]; address: Hex }[],
  game: Hex,
): bigint {
  for (const log of logs) {
    if (log.address.toLowerCase() !== game.toLowerCase()) continue;
    try {
      const ev = decodeEventLog({
        abi: disputeGameAbi,
        data: log.data,
        topics: log.topics as [Hex, ...Hex[]],
      });
      if (ev.eventName === 'GameOpened') return ev.args.gameId;
    } catch {
      // Another event of the game.
    }
  }
  throw new Error('The transaction opened no dispute game.');
}
