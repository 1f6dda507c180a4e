// What the page knows, rebuilt from the contracts' events block by block (sync.ts): tasks, agents,
// dispute games, models and datasets. Nothing here comes from the dashboard server.
import type { Address, Hex } from 'viem';

export interface Tx {
  block: bigint;
  tx: Hex;
}

export interface TaskRow {
  id: Hex;
  created: Tx;
  requester: Address;
  modelRoot: Hex;
  inputRoot: Hex;
  fee: bigint;
  inline: Hex;
  taken?: Tx & { worker: Address };
  posted?: Tx & { worker: Address; outputRoot: Hex; commitment: Hex; output: Hex };
  audit?: Tx & { selected: boolean; auditor: Address; deadline: bigint };
  attested?: Tx & { auditor: Address };
  /** The assigned auditor let its deadline pass and was slashed for it. */
  auditorSlashed?: Tx;
  challenges: (Tx & { gameId: bigint; challenger: Address })[];
  finalized?: Tx & { workerPay: bigint };
  convicted?: Tx & { challenger: Address };
  expired?: Tx;
}

export interface AgentRow {
  address: Address;
  endpoint: string;
  registered: Tx;
  /** Bonded stake as last read from the registry (agentInfo). */
  stake: bigint;
  slashed: bigint;
  slashes: number;
  earnings: bigint;
  outcomes: { block: bigint; outcome: number; count: bigint }[];
  lastActive: bigint;
  /** Audits drawn on this agent's results: attested, convicted, or neither yet. */
  audits: { passed: number; failed: number; open: number };
}

/**
 * What the page keeps of a task that is not settled yet, whether or not its row is still kept:
 * the health cards, the audit pass rates and the market's books need it. Settled tasks drop out.
 */
export interface OpenTask {
  worker?: Address;
  /** The fee, when it is in the native currency (the books count native ether only). */
  nativeFee?: bigint;
  /**
   * A drawn audit: `answered` once attested or challenged (the health card), `counted` once it left
   * the worker's open audits (attested: passed; convicted first: failed; a silent auditor: neither).
   */
  audit?: { auditor: Address; deadline: bigint; answered: boolean; counted: boolean };
}

/**
 * Running sums of the native ether each contract's events say it holds, by the contracts' own
 * solvency rules (contracts/market/TaskMarket.sol, BatchMarket.sol, game/DisputeGame.sol).
 */
export interface Ledger {
  /** TaskMarket: fees of open native tasks, Σ owed (payouts, refunds, deposits), conviction escrows. */
  taskFees: bigint;
  taskOwed: bigint;
  taskEscrow: bigint;
  /** BatchMarket: what came in (deposits, query bonds, slash proceeds) less what went out. */
  batchIn: bigint;
  batchOut: bigint;
  /** BatchMarket query bonds paid in (each is the market's queryBond). */
  batchQueries: bigint;
  /** BatchMarket queries answered for the worker: their bonds are partly burnt. */
  batchAnswered: bigint;
  /** DisputeGame: bonds of open games, and credits not yet claimed. */
  gameBonds: bigint;
  gameCredits: bigint;
}

export interface Book {
  contract: 'taskMarket' | 'batchMarket' | 'disputeGame';
  balance: bigint;
  books: bigint;
  /** How the books add up, for the card (a negative part is subtracted). */
  parts: [string, bigint][];
}

export interface Move extends Tx {
  kind: string;
  /** Who moved: the worker or the challenger by the game's rules, or 'anyone'. */
  by: 'worker' | 'challenger' | 'anyone';
  args: Record<string, unknown>;
}

export interface GameRow {
  id: bigint;
  subject: Hex;
  arena: Address;
  bond: bigint;
  opCount: bigint;
  opened: Tx;
  moves: Move[];
  resolved?: Tx & { outcome: number; toWorker: bigint; toChallenger: bigint; burnt: bigint };
}

export interface ModelRow {
  root: Hex;
  publisher: Address;
  parent: Hex;
  name: string;
  version: string;
  dataId: Hex;
  uri: string;
  published: Tx;
}

export interface DatasetRow {
  contentId: Hex;
  registrant: Address;
  uri: string;
  registered: Tx;
  duplicates: { registrant: Address; registration: bigint }[];
}

/** One counted happening for the live chart: its kind and the block time it happened at. */
export interface Tick {
  t: number;
  kind: 'committed' | 'finalized' | 'audited' | 'disputed';
  n: number;
}

export interface NodeHealth {
  name: string;
  role: string;
  address: Address;
  reachable: boolean;
  ok?: boolean;
  head?: string;
  lag?: string;
  lastError?: string;
  error?: string;
}

export interface ChainState {
  status: 'connecting' | 'live' | 'disconnected';
  error?: string;
  /** The last block seen, its time (seconds) and when the page saw it (ms). */
  head: bigint;
  headTime: number;
  seenAt: number;
  /** The newest tasks only (KEPT_TASKS, in creation order); older ones are read back a page at a time. */
  tasks: Map<Hex, TaskRow>;
  agents: Map<Address, AgentRow>;
  games: Map<bigint, GameRow>;
  models: Map<Hex, ModelRow>;
  datasets: Map<Hex, DatasetRow>;
  ticks: Tick[];
  blockTimes: Map<bigint, number>;
  /** Tasks created per block time, for tasks per minute. */
  created: number[];
  slashEvents: (Tx & {
    agent: Address;
    beneficiary: Address;
    amount: bigint;
    toBeneficiary: bigint;
    burnt: bigint;
  })[];
  /** Counted over every task, kept or not. */
  counts: { tasks: number; final: number; convicted: number };
  open: Map<Hex, OpenTask>;
  ledger: Ledger;
  books: Book[] | null;
  nodes: NodeHealth[] | null;
  nodesError?: string;
  openClocks: Map<bigint, { secondsLeft: bigint; mover?: string }>;
}

export function emptyState(): ChainState {
  return {
    status: 'connecting',
    head: 0n,
    headTime: 0,
    seenAt: 0,
    tasks: new Map(),
    agents: new Map(),
    games: new Map(),
    models: new Map(),
    datasets: new Map(),
    ticks: [],
    blockTimes: new Map(),
    created: [],
    slashEvents: [],
    counts: { tasks: 0, final: 0, convicted: 0 },
    open: new Map(),
    ledger: {
      taskFees: 0n,
      taskOwed: 0n,
      taskEscrow: 0n,
      batchIn: 0n,
      batchOut: 0n,
      batchQueries: 0n,
      batchAnswered: 0n,
      gameBonds: 0n,
      gameCredits: 0n,
    },
    books: null,
    nodes: null,
    openClocks: new Map(),
  };
}

export type Stage = 'requested' | 'committed' | 'audit drawn' | 'challenge window' | 'final' | 'disputed';

/** Where a task is in its life, and what it waits for. */
export function taskStage(t: TaskRow): {
  stage: Stage;
  outcome?: 'final' | 'convicted' | 'expired';
  waiting: string;
} {
  if (t.finalized) return { stage: 'final', outcome: 'final', waiting: 'nothing: the result is final' };
  if (t.convicted)
    return {
      stage: 'disputed',
      outcome: 'convicted',
      waiting: 'nothing: the worker was convicted and slashed',
    };
  if (t.expired)
    return { stage: 'requested', outcome: 'expired', waiting: 'nothing: no result came in time' };
  if (t.challenges.length > 0) return { stage: 'disputed', waiting: 'the dispute game to resolve' };
  if (t.audit?.selected && !t.attested)
    return { stage: 'audit drawn', waiting: 'the assigned verifier to attest or challenge' };
  if (t.audit) return { stage: 'challenge window', waiting: 'the challenge window to close' };
  if (t.posted) return { stage: 'committed', waiting: 'the audit draw (randomness from a later block)' };
  return { stage: 'requested', waiting: t.taken ? 'the worker to post its result' : 'a worker to take it' };
}

export const STAGES: Stage[] = ['requested', 'committed', 'audit drawn', 'challenge window', 'final'];

export function short(hex: string, n = 6): string {
  return hex.length > 2 * n + 4 ? `${hex.slice(0, n + 2)}…${hex.slice(-n)}` : hex;
}

/** Wei as ether with up to 4 decimals, by integer arithmetic. */
export function eth(wei: bigint): string {
  const neg = wei < 0n;
  const v = neg ? -wei : wei;
  const whole = v / 10n ** 18n;
  const frac = ((v % 10n ** 18n) / 10n ** 14n).toString().padStart(4, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}
