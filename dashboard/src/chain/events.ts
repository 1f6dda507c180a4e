// How each decoded event of the Verinfer contracts changes what the page knows (model.ts). The live
// sync (sync.ts) applies every event in chain order; older task pages (taskPages.ts) rebuild their
// rows with the same row rules. Pure: no reads, so a recorded event list replays exactly.
import type { Address, Hex, Log } from 'viem';
import type { ChainState, Move, OpenTask, TaskRow, Tick, Tx } from './model.ts';

/** Task rows kept live: the newest ones, one page of the task list. */
export const KEPT_TASKS = 100;

const WORKER_MOVES = new Set([
  'TraceRevealed',
  'NodesRevealed',
  'TensorRevealed',
  'ChunkRevealed',
  'PrefixRevealed',
]);
const CHALLENGER_MOVES = new Set(['ChildPicked', 'OpNamed', 'ElementNamed']);
/** The moves of a game, in the order they can come; the steps may be sent by anyone. */
export const GAME_MOVES = new Set([...WORKER_MOVES, ...CHALLENGER_MOVES, 'StepVerified', 'SegmentVerified']);

/** The contracts' addresses, lower-case, for events that name a contract as a party. */
export interface Parties {
  taskMarket: string;
  batchMarket: string;
}

const NATIVE = 0n;
const isNative = (token: unknown) => BigInt(String(token ?? '0x0')) === NATIVE;

export function timeOf(state: ChainState, block: bigint): number {
  const known = state.blockTimes.get(block);
  if (known !== undefined) return known;
  // One block a second on a devnet; elsewhere this only places a point on the chart.
  return state.headTime - Number(state.head - block);
}

/** A task's row from its TaskCreated or SignedTaskPosted event. */
export function newRow(a: Record<string, unknown>, at: Tx): TaskRow {
  const terms = a.task as { inputRoot: Hex; fee: bigint; modelRoot: Hex };
  return {
    id: a.taskId as Hex,
    created: at,
    requester: a.requester as Address,
    modelRoot: terms.modelRoot.toLowerCase() as Hex,
    inputRoot: terms.inputRoot,
    fee: terms.fee,
    inline: (a.inlineInput as Hex | undefined) ?? '0x',
    challenges: [],
  };
}

/** One TaskMarket event of task `t` applied to its row. */
export function applyToRow(t: TaskRow, name: string, a: Record<string, unknown>, at: Tx): void {
  if (name === 'SignedTaskPosted' || name === 'ResultPosted')
    t.posted = {
      ...at,
      worker: a.worker as Address,
      outputRoot: a.outputRoot as Hex,
      commitment: a.resultCommitment as Hex,
      output: a.output as Hex,
    };
  else if (name === 'TaskTaken') t.taken = { ...at, worker: a.worker as Address };
  else if (name === 'AuditDrawn')
    t.audit = {
      ...at,
      selected: !!a.selected,
      auditor: a.auditor as Address,
      deadline: a.deadline as bigint,
    };
  else if (name === 'AuditAttested') t.attested = { ...at, auditor: a.auditor as Address };
  else if (name === 'AuditorSlashed') t.auditorSlashed = at;
  else if (name === 'TaskChallenged')
    t.challenges.push({ ...at, gameId: a.gameId as bigint, challenger: a.challenger as Address });
  else if (name === 'TaskConvicted') t.convicted = { ...at, challenger: a.challenger as Address };
  else if (name === 'TaskExpired') t.expired = at;
  else if (name === 'TaskFinalized') t.finalized = { ...at, workerPay: a.workerPay as bigint };
}

/** Applies one decoded event of contract `contract` (a key of the deployment) to `state`. */
export function applyEvent(
  state: ChainState,
  parties: Parties,
  contract: string,
  name: string,
  a: Record<string, unknown>,
  log: Pick<Log, 'blockNumber' | 'transactionHash'>,
): void {
  const at = { block: log.blockNumber!, tx: log.transactionHash! };
  const L = state.ledger;
  const agent = (address: unknown) => state.agents.get(String(address).toLowerCase() as Address);
  const active = (address: unknown) => {
    const ag = agent(address);
    if (ag) ag.lastActive = at.block;
  };
  const tick = (kind: Tick['kind'], n = 1) => state.ticks.push({ t: timeOf(state, at.block), kind, n });
  /** Moves a drawn audit out of its worker's open audits, into `to` if given. */
  const countAudit = (open: OpenTask | undefined, to?: 'passed' | 'failed') => {
    if (!open?.audit || open.audit.counted) return;
    open.audit.counted = true;
    const w = agent(open.worker);
    if (!w) return;
    w.audits.open--;
    if (to) w.audits[to]++;
  };
  if (contract === 'taskMarket') {
    if (name === 'Deposited' || name === 'Withdrawn') {
      if (isNative(a.token))
        L.taskOwed += name === 'Deposited' ? (a.amount as bigint) : -(a.amount as bigint);
      return;
    }
    if (name === 'BountySettled') L.taskEscrow -= a.burnt as bigint;
    const id = String(a.taskId).toLowerCase() as Hex;
    if (name === 'TaskCreated' || name === 'SignedTaskPosted') {
      state.tasks.set(id, { ...newRow(a, at), id });
      // Only the newest rows are kept; the counts, the open work and the books cover them all.
      if (state.tasks.size > KEPT_TASKS) state.tasks.delete(state.tasks.keys().next().value as Hex);
      state.counts.tasks++;
      state.created.push(timeOf(state, at.block));
      const terms = a.task as { feeToken: Address; fee: bigint };
      const native = isNative(terms.feeToken);
      state.open.set(id, { nativeFee: native ? terms.fee : undefined });
      if (native) {
        L.taskFees += terms.fee;
        // A signed task's fee comes out of the requester's deposit.
        if (name === 'SignedTaskPosted') L.taskOwed -= terms.fee;
      }
    }
    const row = state.tasks.get(id);
    if (row) applyToRow(row, name, a, at);
    const open = state.open.get(id);
    const settle = () => {
      if (open?.nativeFee !== undefined) {
        L.taskFees -= open.nativeFee;
        L.taskOwed += open.nativeFee;
      }
      state.open.delete(id);
    };
    if (name === 'SignedTaskPosted' || name === 'ResultPosted') {
      if (open) open.worker = a.worker as Address;
      active(a.worker);
      tick('committed');
    } else if (name === 'TaskTaken') active(a.worker);
    else if (name === 'AuditDrawn' && a.selected) {
      tick('audited');
      if (open) {
        open.audit = {
          auditor: a.auditor as Address,
          deadline: a.deadline as bigint,
          answered: false,
          counted: false,
        };
        const w = agent(open.worker);
        if (w) w.audits.open++;
      }
    } else if (name === 'AuditAttested') {
      active(a.auditor);
      if (open?.audit) open.audit.answered = true;
      countAudit(open, 'passed');
    } else if (name === 'AuditorSlashed' && open?.audit && !open.audit.answered) {
      // A silent auditor: the result was not audited after all.
      open.audit.answered = true;
      countAudit(open);
    } else if (name === 'TaskChallenged') {
      active(a.challenger);
      tick('disputed');
      if (open?.audit) open.audit.answered = true;
    } else if (name === 'TaskConvicted') {
      state.counts.convicted++;
      countAudit(open, 'failed');
      settle();
    } else if (name === 'TaskExpired') settle();
    else if (name === 'TaskFinalized') {
      state.counts.final++;
      const w = agent(a.worker);
      if (w) w.earnings += a.workerPay as bigint;
      const v = agent(open?.audit?.auditor);
      if (v) v.earnings += a.auditReward as bigint;
      tick('finalized');
      settle();
    } else if (name === 'BountyClaimed') {
      L.taskEscrow -= a.amount as bigint;
      L.taskOwed += a.amount as bigint;
      const c = agent(a.challenger);
      if (c) c.earnings += a.amount as bigint;
    }
  } else if (contract === 'batchMarket') {
    const header = a.header as { count?: number } | undefined;
    if (name === 'Deposited' && isNative(a.token)) L.batchIn += a.amount as bigint;
    else if ((name === 'DepositWithdrawn' || name === 'Withdrawn') && isNative(a.token))
      L.batchOut += a.amount as bigint;
    else if (name === 'QueryOpened') L.batchQueries++;
    else if (name === 'QueryClosed' && Number(a.status) === 2) L.batchAnswered++;
    else if (name === 'BountySettled') L.batchOut += a.burnt as bigint;
    else if (name === 'BatchPosted') {
      tick('committed', Number(header?.count ?? 1));
      active(a.worker);
    } else if (name === 'BatchFinalized') {
      tick('finalized');
      const w = agent(a.worker);
      if (w) w.earnings += a.totalFee as bigint;
    } else if (name === 'ResultChallenged') tick('disputed');
  } else if (contract === 'agentRegistry') applyRegistry(state, parties, name, a, at);
  else if (contract === 'modelRegistry' && name === 'ModelPublished') {
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
  } else if (contract === 'disputeGame') applyGame(state, name, a, at);
}

function applyRegistry(
  state: ChainState,
  parties: Parties,
  name: string,
  a: Record<string, unknown>,
  at: Tx,
) {
  // The markets' conviction escrows arrive from the registry (ConvictionBounty.collect).
  if (name === 'SlashProceedsClaimed') {
    const to = String(a.to).toLowerCase();
    if (to === parties.taskMarket) state.ledger.taskEscrow += a.amount as bigint;
    else if (to === parties.batchMarket) state.ledger.batchIn += a.amount as bigint;
    return;
  }
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
  if (name === 'AgentRegistered')
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
      audits: { passed: 0, failed: 0, open: 0 },
    });
  const ag = state.agents.get(key);
  if (!ag) return;
  if (name === 'StakeAdded') ag.stake = a.stake as bigint;
  else if (name === 'EndpointSet') ag.endpoint = String(a.endpoint).slice(0, 200);
  else if (name === 'StakeSlashed') {
    ag.slashed += a.amount as bigint;
    ag.slashes++;
    ag.stake -= a.amount as bigint;
  } else if (name === 'OutcomeRecorded')
    ag.outcomes.push({ block: at.block, outcome: Number(a.outcome), count: a.count as bigint });
}

function applyGame(state: ChainState, name: string, a: Record<string, unknown>, at: Tx) {
  const L = state.ledger;
  if (name === 'CreditClaimed') {
    L.gameCredits -= a.amount as bigint;
    return;
  }
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
    L.gameBonds += a.bond as bigint;
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
    const r = {
      ...at,
      outcome: Number(a.outcome),
      toWorker: a.toWorker as bigint,
      toChallenger: a.toChallenger as bigint,
      burnt: a.burnt as bigint,
    };
    g.resolved = r;
    // The whole bond leaves the open bonds: to credits, and to the burn.
    L.gameBonds -= r.toWorker + r.toChallenger + r.burnt;
    L.gameCredits += r.toWorker + r.toChallenger;
  }
}
