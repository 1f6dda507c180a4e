// One sync path, as the nodes have: a cursor, and each new block's logs of the Verinfer contracts
// decoded and applied in order. A failed read marks the page disconnected (never stale-as-live);
// the next good read brings it back and resumes from the cursor.
import { type Abi, type Address, decodeEventLog, type Log } from 'viem';
import { abis } from '../../../src/chain/bindings/systemAbis.ts';
import { type BatchTerms, booksOf } from './books.ts';
import type { Client, DashboardConfig } from './config.ts';
import { applyEvent } from './events.ts';
import { type ChainState, emptyState, type NodeHealth } from './model.ts';

/** Blocks read per getLogs call while catching up. */
const RANGE = 2_000n;
/** Block timestamps fetched per sync; later ones are estimated from their neighbours. */
const MAX_BLOCK_READS = 64;
const POLL_MS = 1_000;

type Listener = () => void;

export interface Store {
  state: ChainState;
  version: number;
  subscribe(l: Listener): () => void;
  /** Asks for an immediate sync (after a write). */
  poke(): void;
}

export function startSync(config: DashboardConfig, client: Client): Store {
  const state = emptyState();
  const listeners = new Set<Listener>();
  const byAddress = new Map<string, { name: string; abi: Abi }>();
  for (const [name, abi] of Object.entries(abis)) {
    const address = (config.contracts as Record<string, Address>)[name];
    if (address) byAddress.set(address.toLowerCase(), { name, abi: abi as Abi });
  }
  const store: Store = {
    state,
    version: 0,
    subscribe: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    poke: () => {
      wake?.();
    },
  };
  const changed = () => {
    store.version++;
    for (const l of listeners) l();
  };
  let cursor = -1n;
  let wake: (() => void) | undefined;
  let rounds = 0;
  let batchTerms: BatchTerms | undefined;
  const parties = {
    taskMarket: config.contracts.taskMarket.toLowerCase(),
    batchMarket: config.contracts.batchMarket.toLowerCase(),
  };

  const readBatchTerms = async (): Promise<BatchTerms> => {
    const read = (functionName: 'queryBond' | 'bondWorkerBps') =>
      client.readContract({ address: config.contracts.batchMarket, abi: abis.batchMarket, functionName });
    return { queryBond: BigInt(await read('queryBond')), bondWorkerBps: BigInt(await read('bondWorkerBps')) };
  };

  const readBlockTimes = async (logs: Log[]) => {
    const blocks = [...new Set(logs.map((l) => l.blockNumber!))].filter((b) => !state.blockTimes.has(b));
    for (const b of blocks.slice(-MAX_BLOCK_READS)) {
      const blk = await client.getBlock({ blockNumber: b });
      state.blockTimes.set(b, Number(blk.timestamp));
    }
  };

  const refreshReads = async () => {
    for (const ag of state.agents.values()) {
      const info = await client.readContract({
        address: config.contracts.agentRegistry,
        abi: abis.agentRegistry,
        functionName: 'agentInfo',
        args: [ag.address],
      });
      ag.stake = info.stake;
    }
    state.openClocks.clear();
    for (const g of state.games.values()) {
      if (g.resolved) continue;
      const d = await client.getDispute({ gameId: g.id });
      if (d.clocks.secondsLeft !== undefined)
        state.openClocks.set(g.id, { secondsLeft: d.clocks.secondsLeft, mover: d.clocks.mover });
    }
    // Each contract's balance against the books its events add up to (books.ts).
    batchTerms ??= await readBatchTerms();
    const balance = (c: 'taskMarket' | 'batchMarket' | 'disputeGame') =>
      client.getBalance({ address: config.contracts[c] });
    state.books = booksOf(
      state.ledger,
      {
        taskMarket: await balance('taskMarket'),
        batchMarket: await balance('batchMarket'),
        disputeGame: await balance('disputeGame'),
      },
      batchTerms,
    );
  };

  const syncOnce = async () => {
    const head = await client.getBlockNumber({ cacheTime: 0 });
    if (head !== state.head || state.seenAt === 0) {
      const blk = await client.getBlock({ blockNumber: head });
      state.blockTimes.set(head, Number(blk.timestamp));
      state.head = head;
      state.headTime = Number(blk.timestamp);
    }
    while (cursor < head) {
      const from = cursor + 1n;
      const to = head - from + 1n > RANGE ? from + RANGE - 1n : head;
      const logs = await client.getLogs({
        address: [...byAddress.keys()] as Address[],
        fromBlock: from,
        toBlock: to,
      });
      await readBlockTimes(logs);
      for (const log of logs) {
        const c = byAddress.get(log.address.toLowerCase());
        if (!c) continue;
        let decoded: { eventName: string; args: unknown };
        try {
          decoded = decodeEventLog({ abi: c.abi, data: log.data, topics: log.topics }) as never;
        } catch {
          continue; // an event this page does not know (a newer contract): skip it, not the block
        }
        const args = (decoded.args ?? {}) as Record<string, unknown>;
        applyEvent(state, parties, c.name, decoded.eventName, args, log);
      }
      cursor = to;
    }
    if (rounds++ % 3 === 0) await refreshReads();
    state.seenAt = Date.now();
    state.status = 'live';
    state.error = undefined;
  };

  const pollNodes = async () => {
    try {
      const res = await fetch('./api/nodes', { cache: 'no-store', signal: AbortSignal.timeout(4_000) });
      if (!res.ok) throw new Error(`status ${res.status}`);
      const list = (await res.json()) as NodeHealth[];
      state.nodes = Array.isArray(list) ? list.slice(0, 256) : [];
      state.nodesError = undefined;
    } catch (error) {
      state.nodesError = `the dashboard server did not answer (${(error as Error).message})`;
    }
  };

  const loop = async () => {
    for (;;) {
      try {
        await syncOnce();
      } catch (error) {
        state.status = 'disconnected';
        state.error = (error as { shortMessage?: string }).shortMessage ?? String((error as Error).message);
      }
      if (rounds % 3 === 1 || state.status === 'disconnected') await pollNodes();
      changed();
      await new Promise<void>((r) => {
        const timer = setTimeout(r, POLL_MS);
        wake = () => {
          clearTimeout(timer);
          r();
        };
      });
    }
  };
  void loop();
  return store;
}
