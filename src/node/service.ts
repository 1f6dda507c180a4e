// A Verinfer node: one sync path feeding a worker and/or a verifier service, and the dispute
// games of both, woken on every new block. start() registers and stakes, then polls; stop()
// finishes the tick under way and stops. tick() is one round, for tests that drive the chain.
import type { Hex } from 'viem';
import type { Backend } from '../engine/interpreter.ts';
import { ensureAgent } from './agent.ts';
import { type BatchServices, startBatchServices } from './batchServices.ts';
import type { NodeChain } from './chain.ts';
import type { BlockHead, NodeEnv } from './context.ts';
import { type JobMachine, wakeJobs } from './jobs.ts';
import type { Logger } from './log.ts';
import {
  DISPUTE_TRANSITIONS,
  type DisputeJob,
  type DisputeJobEvent,
  type DisputeJobState,
  TraceProviders,
  wakeDispute,
} from './machines/dispute.ts';
import { Metrics } from './metrics.ts';
import { type ModelSet, RunCache } from './models.ts';
import type { NodePeer, PeerHealth } from './peer.ts';
import type { NodeStore } from './store.ts';
import { isTransportError, LogSync, type RetryOptions, withRetry } from './sync.ts';
import { type VerifierOptions, VerifierService } from './verifier.ts';
import { type WorkerOptions, WorkerService } from './worker.ts';

export interface NodeOptions {
  chain: NodeChain;
  store: NodeStore;
  log: Logger;
  models: ModelSet;
  backend: Backend;
  worker?: WorkerOptions & { stake: bigint; endpoint?: string };
  verifier?: VerifierOptions & { stake: bigint; endpoint?: string };
  fromBlock?: bigint;
  maxBlockRange?: number;
  pollIntervalMs?: number;
  retry?: RetryOptions;
  metrics?: Metrics;
  /** The node's libp2p side (peer.ts): started by setup(), stopped by stop(). */
  peer?: NodePeer;
}

export interface NodeHealth {
  ok: boolean;
  account: string;
  roles: string[];
  head: string;
  cursor: string;
  lag: string;
  openJobs: Record<string, number>;
  lastError?: string;
  p2p?: PeerHealth;
}

export class VerinferNode {
  readonly env: NodeEnv;
  readonly worker?: WorkerService;
  readonly verifier?: VerifierService;
  readonly metrics: Metrics;
  readonly peer?: NodePeer;
  /** Batch settlement over the peer host (batchServices.ts), once setup() has started it. */
  batches?: BatchServices;
  private readonly o: NodeOptions;
  private readonly sync: LogSync;
  private readonly providers = new TraceProviders();
  private readonly disputeMachine: JobMachine<DisputeJobState, DisputeJobEvent, DisputeJob>;
  private current: BlockHead = { number: 0n, timestamp: 0n };
  private running = false;
  private stopping = false;
  private loop?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private wakeUp?: () => void;
  private lastError?: string;
  private setUp = false;

  constructor(options: NodeOptions) {
    this.o = options;
    this.metrics = options.metrics ?? new Metrics();
    this.env = {
      chain: options.chain,
      store: options.store,
      log: options.log,
      metrics: this.metrics,
      models: options.models,
      runs: new RunCache(options.backend, options.store),
      head: () => this.current,
    };
    options.store.bind({
      chainId: options.chain.chainId,
      taskMarket: options.chain.addresses.taskMarket,
      account: options.chain.account,
    });
    if (options.worker)
      this.worker = new WorkerService({ ...this.env, log: options.log.child('worker') }, options.worker);
    if (options.verifier)
      this.verifier = new VerifierService(
        { ...this.env, log: options.log.child('verifier') },
        options.verifier,
      );
    this.peer = options.peer;
    const providers = this.providers;
    this.disputeMachine = {
      name: 'dispute',
      kind: 'dispute',
      table: DISPUTE_TRANSITIONS,
      wake: (env, job) => wakeDispute(env, job, providers),
    };
    this.sync = new LogSync({
      chain: options.chain,
      store: options.store,
      log: options.log.child('sync'),
      metrics: this.metrics,
      sinks: [this.worker, this.verifier].filter((s) => s !== undefined),
      fromBlock: options.fromBlock,
      maxBlockRange: options.maxBlockRange,
      retry: { ...options.retry, aborted: () => this.stopping },
    });
  }

  get roles(): string[] {
    return [this.worker && 'worker', this.verifier && 'verifier'].filter((r): r is string => !!r);
  }

  /** Registers the node's account and stakes (once), up to the larger of the roles' stakes. */
  async setup(): Promise<void> {
    if (this.setUp) return;
    const stake = [this.o.worker?.stake ?? 0n, this.o.verifier?.stake ?? 0n].reduce((a, b) =>
      a > b ? a : b,
    );
    // With p2p, the registry endpoint is the host's multiaddr: it is how peers find this node.
    if (this.peer) {
      await this.peer.start(this);
      const host = this.peer.host;
      if (!host) throw new Error('the peer host did not start');
      this.batches = await startBatchServices({
        env: this.env,
        host,
        backend: this.o.backend,
        worker: this.worker !== undefined,
        batchCheatIndex: this.o.worker?.batchCheatIndex,
        verifier: this.verifier !== undefined,
        pollIntervalMs: this.o.pollIntervalMs ?? 2_000,
      });
    }
    const endpoint = this.peer?.endpoint ?? (this.o.worker?.endpoint || this.o.verifier?.endpoint || '');
    await withRetry(
      () => ensureAgent(this.env, { stake, endpoint, models: this.o.models.roots() as Hex[] }),
      'ensureAgent',
      this.env,
      // Registering takes several calls: behind a provider that drops some, an attempt fails
      // often, so dropped calls are retried longer than errors of the call itself (a revert).
      // ensureAgent reads the registry first, so a register that landed unseen is not resent.
      {
        maxDelayMs: 5_000,
        ...this.o.retry,
        attempts: (err) => (isTransportError(err) ? 20 : 3),
        aborted: () => this.stopping,
      },
    );
    this.setUp = true;
  }

  /** One round: sync the logs up to the head, then wake every open job once. */
  async tick(): Promise<void> {
    const r = await this.sync.syncOnce();
    const block = await withRetry(
      () => this.env.chain.publicClient.getBlock({ blockNumber: r.head }),
      'getBlock',
      this.env,
      this.o.retry,
    );
    this.current = { number: block.number, timestamp: block.timestamp };
    this.peer?.beforeWakes();
    await this.worker?.wake();
    await this.verifier?.wake();
    this.peer?.afterWakes();
    await wakeJobs(this.env, this.disputeMachine);
    const open = this.env.store.countOpenJobs();
    for (const [kind, n] of Object.entries(open)) this.metrics.set('open_jobs', n, { kind });
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.stopping = false;
    await this.setup();
    this.env.log.info('node started', { account: this.env.chain.account, roles: this.roles });
    this.loop = (async () => {
      while (!this.stopping) {
        try {
          await this.tick();
          this.lastError = undefined;
        } catch (err) {
          this.lastError = (err as Error).message?.split('\n')[0];
          this.env.log.error('tick failed', { error: err });
        }
        if (this.stopping) break;
        await new Promise<void>((resolve) => {
          this.wakeUp = resolve;
          this.timer = setTimeout(resolve, this.o.pollIntervalMs ?? 2_000);
        });
      }
    })();
  }

  /** Finishes the round under way and stops; the database stays open (its owner closes it). */
  async stop(): Promise<void> {
    if (!this.running) {
      await this.batches?.stop();
      return this.peer?.stop();
    }
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.wakeUp?.();
    await this.loop;
    this.running = false;
    await this.batches?.stop();
    await this.peer?.stop();
    this.env.log.info('node stopped');
  }

  health(): NodeHealth {
    const head = this.metrics.get('sync_head_block');
    const cursor = this.sync.cursor();
    const lag = head > cursor ? head - cursor : 0n;
    return {
      ok: this.lastError === undefined,
      account: this.env.chain.account,
      roles: this.roles,
      head: head.toString(),
      cursor: cursor.toString(),
      lag: lag.toString(),
      openJobs: this.env.store.countOpenJobs(),
      ...(this.lastError ? { lastError: this.lastError } : {}),
      ...(this.peer?.started ? { p2p: this.peer.health() } : {}),
    };
  }
}
