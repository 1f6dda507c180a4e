// One sync path, as the nodes have: a cursor, and each new block's logs of the Verinfer contracts
// decoded and applied in order. A failed read marks the page disconnected (never stale-as-live);
// the next good read brings it back and resumes from the cursor.
import { type Abi, type Address, decodeEventLog, type Hex, type Log } from 'viem';
import { abis } from '../../../src/chain/bindings/systemAbis.ts';
import type { Client, DashboardConfig } from './config.ts';
import { type ChainState, emptyState, type Move, type NodeHealth, type Tick } from './model.ts';

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

const WORKER_MOVES = new Set(['TraceRevealed', 'NodesRevealed', 'TensorRevealed', 'ChunkRevealed']);
const CHALLENGER_MOVES = new Set(['ChildPicked', 'OpNamed', 'ElementNamed']);
const GAME_MOVES = new Set([...WORKER_MOVES, ...CHALLENGER_MOVES, 'StepVerified']);

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
  let claimed = 0n;

  const timeOf = (block: bigint) => {
    const known = state.blockTimes.get(block);
    if (known !== undefined) return known;
    // One block a second on a devnet; elsewhere this only places a point on the chart.
    return state.headTime - Number(state.head - block);
  };

  const tick = (kind: Tick['kind'], block: bigint, n = 1) => state.ticks.push({ t: timeOf(block), kind, n });

  const apply = (contract: string, name: string, a: Record<string, unknown>, log: Log) => {
    const at = { block: log.blockNumber!, tx: log.transactionHash! };
    const task = (id: unknown) => state.tasks.get(id as Hex);
    const agent = (address: unknown) => state.agents.get(String(address).toLowerCase() as Address);
    const active = (address: unknown) => {
      const ag = agent(address);
      if (ag) ag.lastActive = at.block;
    };
    if (contract === 'taskMarket') {
      if (name === 'TaskCreated' || name === 'SignedTaskPosted') {
        const terms = a.task as { inputRoot: Hex; fee: bigint; modelRoot: Hex };
        state.tasks.set(a.taskId as Hex, {
          id: a.taskId as Hex,
          created: at,
          requester: a.requester as Address,
          modelRoot: terms.modelRoot.toLowerCase() as Hex,
          inputRoot: terms.inputRoot,
          fee: terms.fee,
          inline: (a.inlineInput as Hex | undefined) ?? '0x',
          challenges: [],
        });
        state.created.push(timeOf(at.block));
      }
      const t = task(a.taskId);
      if (!t) return;
      if (name === 'SignedTaskPosted' || name === 'ResultPosted') {
        t.posted = {
          ...at,
          worker: a.worker as Address,
          outputRoot: a.outputRoot as Hex,
          commitment: a.resultCommitment as Hex,
          output: a.output as Hex,
        };
        active(a.worker);
        tick('committed', at.block);
      } else if (name === 'TaskTaken') {
        t.taken = { ...at, worker: a.worker as Address };
        active(a.worker);
      } else if (name === 'AuditDrawn') {
        t.audit = {
          ...at,
          selected: !!a.selected,
          auditor: a.auditor as Address,
          deadline: a.deadline as bigint,
        };
        if (a.selected) tick('audited', at.block);
      } else if (name === 'AuditAttested') {
        t.attested = { ...at, auditor: a.auditor as Address };
        active(a.auditor);
        const v = agent(a.auditor);
        if (v) v.earnings += (a.paid as bigint) ?? 0n;
      } else if (name === 'AuditorSlashed') t.auditorSlashed = at;
      else if (name === 'TaskChallenged') {
        t.challenges.push({ ...at, gameId: a.gameId as bigint, challenger: a.challenger as Address });
        active(a.challenger);
        tick('disputed', at.block);
      } else if (name === 'TaskConvicted') t.convicted = { ...at, challenger: a.challenger as Address };
      else if (name === 'TaskExpired') t.expired = at;
      else if (name === 'TaskFinalized') {
        t.finalized = { ...at, workerPay: a.workerPay as bigint };
        const w = agent(a.worker);
        if (w) w.earnings += a.workerPay as bigint;
        tick('finalized', at.block);
      } else if (name === 'BountyClaimed') {
        const c = agent(a.challenger);
        if (c) c.earnings += a.amount as bigint;
      }
    } else if (contract === 'batchMarket') {
      const header = a.header as { count?: number } | undefined;
      if (name === 'BatchPosted') {
        tick('committed', at.block, Number(header?.count ?? 1));
        active(a.worker);
      } else if (name === 'BatchFinalized') {
        tick('finalized', at.block);
        const w = agent(a.worker);
        if (w) w.earnings += a.totalFee as bigint;
      } else if (name === 'ResultChallenged') tick('disputed', at.block);
    } else if (contract === 'agentRegistry') {
      const key = String(a.agent ?? '').toLowerCase() as Address;
      if (name === 'StakeSlashed')
        state.slashEvents.push({
          ...at,
          agent: a.agent as Address,
          beneficiary: a.beneficiary as Address,
          amount: a.amount as bigint,
          toBeneficiary: a.toBeneficiary as bigint,
          burnt: a.burnt as bigint,
        });
      if (name === 'AgentRegistered') {
        state.agents.set(key, {
          address: a.agent as Address,
          endpoint: String(a.endpoint).slice(0, 200),
          registered: at,
          stake: a.stake as bigint,
          slashed: 0n,
          slashes: 0,
          earnings: 0n,
          outcomes: [],
          lastActive: at.block,
        });
      }
      const ag = state.agents.get(key);
      if (!ag) return;
      if (name === 'StakeAdded') ag.stake = a.stake as bigint;
      else if (name === 'StakeSlashed') {
        ag.slashed += a.amount as bigint;
        ag.slashes++;
        ag.stake -= a.amount as bigint;
      } else if (name === 'OutcomeRecorded')
        ag.outcomes.push({ block: at.block, outcome: Number(a.outcome), count: a.count as bigint });
    } else if (contract === 'modelRegistry' && name === 'ModelPublished') {
      const root = String(a.modelRoot).toLowerCase() as Hex;
      if (!state.models.has(root))
        state.models.set(root, {
          root,
          publisher: a.publisher as Address,
          parent: String(a.parent).toLowerCase() as Hex,
          name: String(a.name).slice(0, 64),
          version: String(a.version).slice(0, 32),
          dataId: String(a.dataId).toLowerCase() as Hex,
          uri: String(a.uri).slice(0, 200),
          published: at,
        });
    } else if (contract === 'dataRegistry') {
      const id = String(a.contentId).toLowerCase() as Hex;
      if (name === 'DatasetRegistered' && !state.datasets.has(id))
        state.datasets.set(id, {
          contentId: id,
          registrant: a.registrant as Address,
          uri: String(a.uri).slice(0, 200),
          registered: at,
          duplicates: [],
        });
      if (name === 'DuplicateDatasetLinked')
        state.datasets
          .get(id)
          ?.duplicates.push({ registrant: a.registrant as Address, registration: a.registration as bigint });
    } else if (contract === 'disputeGame') {
      const id = a.gameId as bigint;
      if (name === 'GameOpened') {
        state.games.set(id, {
          id,
          subject: a.subject as Hex,
          arena: a.arena as Address,
          bond: a.bond as bigint,
          opCount: a.opCount as bigint,
          opened: at,
          moves: [],
        });
      }
      const g = state.games.get(id);
      if (!g) return;
      if (GAME_MOVES.has(name)) {
        const by: Move['by'] = WORKER_MOVES.has(name)
          ? 'worker'
          : CHALLENGER_MOVES.has(name)
            ? 'challenger'
            : 'anyone';
        g.moves.push({ ...at, kind: name, by, args: a });
      } else if (name === 'GameResolved') {
        g.resolved = {
          ...at,
          outcome: Number(a.outcome),
          toWorker: a.toWorker as bigint,
          toChallenger: a.toChallenger as bigint,
          burnt: a.burnt as bigint,
        };
      }
    }
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
    // The game's books: every open bond plus every credit not yet claimed (GameResolved pays into
    // credits; CreditClaimed pays them out). Its ether balance must equal that.
    const balance = await client.getBalance({ address: config.contracts.disputeGame });
    let books = 0n;
    for (const g of state.games.values())
      books += g.resolved ? g.resolved.toWorker + g.resolved.toChallenger : g.bond;
    books -= claimed;
    state.gameBooks = { balance, books };
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
        if (c.name === 'disputeGame' && decoded.eventName === 'CreditClaimed')
          claimed += args.amount as bigint;
        apply(c.name, decoded.eventName, args, log);
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
