// The money of TaskMarket, AgentRegistry and DisputeGame re-implemented in exact integer wei:
// every payout, lock, slash and burn of the contracts, in the same order and with the same integer
// divisions, under a selectable rule set (src/economics/rules.ts). Time, blocks and hashes are
// left out: the caller says what happened (which seed, which game outcome) and the ledger moves
// the money as the contracts would. Agents are small integers.
import type { TaskMarketParams } from '../chain/bindings/types.ts';
import type { Rules } from './rules.ts';
import { selectAuditor } from './selection.ts';

export interface LedgerConfig {
  task: TaskMarketParams;
  minStake: bigint;
  /**
   * AgentRegistry.auditThreshold: the free stake an agent needs to be drawn as an auditor
   * (default: the task's auditStake, as deployVerinfer sets it).
   */
  auditThreshold?: bigint;
  /** DisputeGame.workerShareBps: share of a losing challenger's bond paid to the worker. */
  gameWorkerShareBps: number;
  rules: Readonly<Rules>;
  /** TaskMarket.minFee of the fee currency (createTask reverts below it); 0 = unchecked. */
  minFee?: bigint;
}

export type TaskStatus = 'open' | 'taken' | 'posted' | 'finalized' | 'expired' | 'convicted';
export type AuditState =
  | 'undrawn'
  | 'skipped'
  | 'assigned'
  | 'attested'
  | 'challenged'
  | 'silenced'
  | 'closed'
  /** Attested after a game was opened on the task: no reward, stake freed, still slashed if convicted. */
  | 'attestedUnpaid';
export type Outcome = 'challengerWon' | 'workerWon' | 'moot';

export interface TaskRecord {
  requester: number;
  fee: bigint;
  worker: number;
  status: TaskStatus;
  openDisputes: number;
  auditor: number;
  audit: AuditState;
  /** The input was published in createTask (only then does a non-delivery slash the worker). */
  inline: boolean;
  /** A game was ever opened on the task (TaskMarket's DISPUTED flag). */
  disputed: boolean;
  /**
   * splitAmongWinners (ConvictionBounty.Pool.escrow): the beneficiary shares escrowed by the market
   * until the games open at the conviction end, then the share of one won game.
   */
  pool: bigint;
  /** Won games per challenger among those open at the conviction (ConvictionBounty's wins). */
  wins: Map<number, number>;
  /** Σ wins: ConvictionBounty.Pool.winners. */
  winners: number;
}

export interface GameRecord {
  task: TaskRecord;
  challenger: number;
  bond: bigint;
  outcome: Outcome | null;
}

export type DrawResult = 'rearmed' | 'skipped' | 'assigned';

export class LedgerError extends Error {}

const BPS = 10_000n;

export class Ledger {
  readonly config: LedgerConfig;
  // AgentRegistry
  readonly stake: bigint[] = [];
  readonly locked: bigint[] = [];
  readonly claimable: bigint[] = [];
  readonly registered: boolean[] = [];
  readonly serves: boolean[] = [];
  /** Registration order, as AgentRegistry._agentList. */
  readonly agentList: number[] = [];
  // TaskMarket
  readonly owed: bigint[] = [];
  /** Settled conviction escrow shares not yet claimed (claimBounty), summed over tasks. */
  readonly bounty: bigint[] = [];
  // DisputeGame
  readonly credits: bigint[] = [];
  readonly games: GameRecord[] = [];
  /** Everything sent to the burn address, by the registry and by the game. */
  burnt = 0n;
  /** Native value each agent sent into the contracts (stake, fees, bonds). */
  readonly deposited: bigint[] = [];

  constructor(config: LedgerConfig) {
    this.config = config;
  }

  #ensure(id: number) {
    for (let i = this.stake.length; i <= id; i++) {
      this.stake.push(0n);
      this.locked.push(0n);
      this.claimable.push(0n);
      this.registered.push(false);
      this.serves.push(false);
      this.owed.push(0n);
      this.bounty.push(0n);
      this.credits.push(0n);
      this.deposited.push(0n);
    }
  }

  /** Everything `id` holds inside the contracts (bonds of open games excluded). */
  holdings(id: number): bigint {
    this.#ensure(id);
    return this.stake[id] + this.claimable[id] + this.owed[id] + this.bounty[id] + this.credits[id];
  }

  /** holdings − deposits: what `id` has won or lost through the contracts so far. */
  net(id: number): bigint {
    return this.holdings(id) - this.deposited[id];
  }

  // ---- AgentRegistry ----

  register(id: number, stake: bigint, servesModel = true) {
    this.#ensure(id);
    if (this.registered[id]) throw new LedgerError('AgentRegistryAlreadyRegistered');
    if (stake < this.config.minStake) throw new LedgerError('AgentRegistryStakeTooLow');
    this.registered[id] = true;
    this.serves[id] = servesModel;
    this.stake[id] = stake;
    this.deposited[id] += stake;
    this.agentList.push(id);
  }

  addStake(id: number, amount: bigint) {
    this.#ensure(id);
    if (!this.registered[id]) throw new LedgerError('AgentRegistryNotRegistered');
    this.stake[id] += amount;
    this.deposited[id] += amount;
  }

  isActive(id: number): boolean {
    this.#ensure(id);
    return this.registered[id] && this.stake[id] >= this.config.minStake;
  }

  freeStake(id: number): bigint {
    this.#ensure(id);
    return this.stake[id] - this.locked[id];
  }

  #lock(id: number, amount: bigint) {
    if (amount > this.freeStake(id)) throw new LedgerError('AgentRegistryInsufficientFreeStake');
    this.locked[id] += amount;
  }

  #unlock(id: number, amount: bigint) {
    if (amount > this.locked[id]) throw new LedgerError('AgentRegistryInsufficientLockedStake');
    this.locked[id] -= amount;
  }

  /** AgentRegistry.slash; returns the beneficiary share (credited to `beneficiary` unless < 0). */
  #slash(agent: number, amount: bigint, beneficiary: number): bigint {
    if (amount > this.locked[agent]) throw new LedgerError('AgentRegistryInsufficientLockedStake');
    this.locked[agent] -= amount;
    this.stake[agent] -= amount;
    const toBeneficiary = (amount * BigInt(this.config.task.slashBeneficiaryBps)) / BPS;
    this.burnt += amount - toBeneficiary;
    if (beneficiary >= 0) {
      this.#ensure(beneficiary);
      this.claimable[beneficiary] += toBeneficiary;
    }
    return toBeneficiary;
  }

  // ---- TaskMarket ----

  /** createTask; `inline`: the input is published with the task. */
  createTask(requester: number, fee: bigint, inline = false): TaskRecord {
    if (fee < (this.config.minFee ?? 0n)) throw new LedgerError('TaskMarketFeeTooLow');
    this.#ensure(requester);
    this.deposited[requester] += fee;
    return {
      requester,
      fee,
      worker: -1,
      status: 'open',
      openDisputes: 0,
      auditor: -1,
      audit: 'undrawn',
      inline,
      disputed: false,
      pool: 0n,
      wins: new Map(),
      winners: 0,
    };
  }

  take(t: TaskRecord, worker: number) {
    if (t.status !== 'open') throw new LedgerError('TaskMarketWrongStatus');
    if (!this.isActive(worker) || !this.serves[worker]) throw new LedgerError('AgentRegistryNotEligible');
    this.#lock(worker, this.config.task.workerStake);
    t.worker = worker;
    t.status = 'taken';
  }

  /** postResult (taking the task first if it is open). */
  post(t: TaskRecord, worker: number) {
    if (t.status === 'open') this.take(t, worker);
    if (t.status !== 'taken') throw new LedgerError('TaskMarketWrongStatus');
    if (t.worker !== worker) throw new LedgerError('TaskMarketNotWorker');
    t.status = 'posted';
  }

  /**
   * drawAudit / the inline draw of finalize. `roll` is uint256(seed) % 10000, `auditorSeed` the
   * seed passed to selectVerifier; `expired` says the seed block's hash is no longer available.
   */
  drawAudit(t: TaskRecord, roll: number, auditorSeed: bigint, expired = false): DrawResult {
    if (t.status !== 'posted') throw new LedgerError('TaskMarketWrongStatus');
    if (t.audit !== 'undrawn') throw new LedgerError('TaskMarketAuditAlreadyDrawn');
    const { task, rules } = this.config;
    if (task.auditBps === 0) {
      t.audit = 'skipped';
      return 'skipped';
    }
    let selected: boolean;
    if (expired) {
      if (rules.expiredSeed === 'rearm') return 'rearmed';
      selected = true;
    } else {
      selected = roll < task.auditBps;
    }
    const auditor = selected ? this.selectVerifier(auditorSeed, t.worker) : -1;
    if (auditor < 0) {
      t.audit = 'skipped';
      return 'skipped';
    }
    this.#lock(auditor, task.auditStake);
    t.auditor = auditor;
    t.audit = 'assigned';
    return 'assigned';
  }

  /** AgentRegistry.selectVerifier: the auditors are active, serve the model, have the threshold free. */
  selectVerifier(seed: bigint, exclude: number): number {
    const threshold = this.config.auditThreshold ?? this.config.task.auditStake;
    const candidates = this.agentList.map((id, order) => ({
      id,
      order,
      eligible: id !== exclude && this.isActive(id) && this.serves[id] && this.freeStake(id) >= threshold,
      stake: this.stake[id],
    }));
    return selectAuditor(this.config.rules.auditorSelection, seed, candidates);
  }

  /**
   * attestAudit with the right checkpoint root (a wrong one reverts and changes nothing). Once a
   * game was opened on the task the attestation is unpaid.
   */
  attest(t: TaskRecord, caller: number) {
    if (t.status !== 'posted') throw new LedgerError('TaskMarketWrongStatus');
    if (t.audit !== 'assigned' || t.auditor !== caller) throw new LedgerError('TaskMarketNotAuditor');
    t.audit = t.disputed ? 'attestedUnpaid' : 'attested';
  }

  slashSilentAuditor(t: TaskRecord, caller: number) {
    if (t.audit !== 'assigned') throw new LedgerError('TaskMarketNotAuditor');
    t.audit = 'silenced';
    this.#slash(t.auditor, this.config.task.auditStake, caller);
  }

  /** challenge: opens a game with the challenger's bond; returns its index in `games`. */
  challenge(t: TaskRecord, challenger: number): number {
    if (t.status !== 'posted') throw new LedgerError('TaskMarketWrongStatus');
    if (challenger === t.worker) throw new LedgerError('TaskMarketSelfChallenge');
    this.#ensure(challenger);
    const bond = this.config.task.challengeBond;
    this.deposited[challenger] += bond;
    if (t.audit === 'assigned' && t.auditor === challenger) t.audit = 'challenged';
    t.disputed = true;
    t.openDisputes += 1;
    this.games.push({ task: t, challenger, bond, outcome: null });
    return this.games.length - 1;
  }

  isMoot(t: TaskRecord): boolean {
    return this.config.rules.conviction === 'firstTakesAll' && t.status === 'convicted';
  }

  /**
   * DisputeGame._resolve: the game ends with the worker losing (its clock ran out or its byte was
   * wrong) or winning, or, when its market says so, moot. Pays the bond, then the market's verdict.
   */
  resolveGame(gameIndex: number, workerLost: boolean): Outcome {
    const g = this.games[gameIndex];
    if (g.outcome !== null) throw new LedgerError('DisputeGameResolved');
    const t = g.task;
    const outcome: Outcome = this.isMoot(t) ? 'moot' : workerLost ? 'challengerWon' : 'workerWon';
    g.outcome = outcome;
    if (outcome === 'workerWon') {
      const toWorker = (g.bond * BigInt(this.config.gameWorkerShareBps)) / BPS;
      this.credits[t.worker] += toWorker;
      this.burnt += g.bond - toWorker;
    } else {
      this.credits[g.challenger] += g.bond;
    }
    this.#onDisputeResolved(t, outcome, g.challenger);
    return outcome;
  }

  /** DisputeGame.resolveMoot. */
  resolveMoot(gameIndex: number): Outcome {
    if (!this.isMoot(this.games[gameIndex].task)) throw new LedgerError('DisputeGameNotMoot');
    return this.resolveGame(gameIndex, true);
  }

  #onDisputeResolved(t: TaskRecord, outcome: Outcome, challenger: number) {
    t.openDisputes -= 1;
    const { task, rules } = this.config;
    const split = rules.conviction === 'splitAmongWinners';
    if (outcome === 'challengerWon') {
      if (t.status !== 'convicted') {
        t.status = 'convicted';
        // INVARIANT (TaskMarket): a convicted task's fee goes back to the requester, once.
        this.owed[t.requester] += t.fee;
        // splitAmongWinners: the market is the beneficiary and escrows the shares.
        const beneficiary = split ? -1 : challenger;
        let escrow = this.#slash(t.worker, task.workerStake, beneficiary);
        if (t.audit === 'attested' || t.audit === 'attestedUnpaid') {
          escrow += this.#slash(t.auditor, task.auditStake, beneficiary);
          t.audit = 'closed';
        } else if (t.audit === 'assigned' || t.audit === 'challenged') {
          this.#unlock(t.auditor, task.auditStake);
          t.audit = 'closed';
        }
        if (split) t.pool = escrow;
      }
      if (split) {
        t.winners += 1;
        t.wins.set(challenger, (t.wins.get(challenger) ?? 0) + 1);
      }
    } else if (outcome === 'workerWon') {
      if (t.audit === 'challenged' && t.auditor === challenger) {
        this.#unlock(t.auditor, task.auditStake);
        t.audit = 'closed';
      }
    }
    if (split && t.status === 'convicted' && t.openDisputes === 0) this.#settle(t);
  }

  /**
   * ConvictionBounty.settle: the escrow divided by the won games, the remainder (< winners wei)
   * burnt; each winner's part is held for claimBounty.
   */
  #settle(t: TaskRecord) {
    const n = BigInt(t.winners);
    const share = t.pool / n;
    this.burnt += t.pool - share * n;
    t.pool = share;
    for (const [w, k] of t.wins) this.bounty[w] += BigInt(k) * share;
  }

  /** What `who` may claim from a settled conviction escrow (TaskMarket.bountyWins × escrow). */
  bountyOf(t: TaskRecord, who: number): bigint {
    if (t.status !== 'convicted' || t.openDisputes !== 0) return 0n;
    return BigInt(t.wins.get(who) ?? 0) * t.pool;
  }

  /** claimBounty: the caller's part of a settled escrow, credited to its market balance. */
  claimBounty(t: TaskRecord, who: number) {
    if (t.status !== 'convicted' || t.openDisputes !== 0) throw new LedgerError('TaskMarketBountyNotSettled');
    const amount = this.bountyOf(t, who);
    if (amount === 0n) throw new LedgerError('TaskMarketNoBounty');
    t.wins.delete(who);
    this.bounty[who] -= amount;
    this.owed[who] += amount;
  }

  finalize(t: TaskRecord) {
    if (t.status !== 'posted') throw new LedgerError('TaskMarketWrongStatus');
    if (t.openDisputes !== 0) throw new LedgerError('TaskMarketDisputesOpen');
    const { task } = this.config;
    if (t.audit === 'undrawn' && task.auditBps !== 0) throw new LedgerError('AuditNotDrawn');
    if (t.audit === 'assigned') throw new LedgerError('TaskMarketAuditPending');
    t.status = 'finalized';
    let reward = 0n;
    if (t.audit === 'attested' || t.audit === 'attestedUnpaid') {
      if (t.audit === 'attested') {
        reward = (t.fee * BigInt(task.auditRewardBps)) / BPS;
        this.owed[t.auditor] += reward;
      }
      t.audit = 'closed';
      this.#unlock(t.auditor, task.auditStake);
    }
    // INVARIANT (TaskMarket): the fee is paid out exactly once.
    this.owed[t.worker] += t.fee - reward;
    this.#unlock(t.worker, task.workerStake);
  }

  /**
   * expire: refund; a taken task without a result also slashes the worker (to the requester) if
   * the input was inline, else unlocks its stake.
   */
  expire(t: TaskRecord) {
    if (t.status !== 'open' && t.status !== 'taken') throw new LedgerError('TaskMarketWrongStatus');
    const taken = t.status === 'taken';
    t.status = 'expired';
    this.owed[t.requester] += t.fee;
    if (taken && t.inline) this.#slash(t.worker, this.config.task.workerStake, t.requester);
    else if (taken) this.#unlock(t.worker, this.config.task.workerStake);
  }
}
