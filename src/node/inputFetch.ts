// The verifier's fetches of signed tasks' inputs (which are not on chain) from the workers that
// posted them: the worker's endpoint is read from the AgentRegistry, and the input is checked
// against the task's inputRoot on arrival (fetchInput). Fetches run off the wake path: a tick
// starts them and returns; what arrived is handed to provideInput at the start of a later tick,
// before the verifier's wake, so a job is never written by a fetch while a wake holds it.
// Concurrency is bounded, with at most one fetch per worker, so a worker that lies or stalls costs
// the node one slot until its timeout, and then waits out a growing backoff.
import type { Hex } from 'viem';
import { toHex } from '../commit/keccak.ts';
import type { PeerHost } from '../p2p/host.ts';
import { parseEndpoint } from '../p2p/identity.ts';
import { fetchInput } from '../p2p/protocols.ts';
import type { NodeEnv } from './context.ts';
import type { AuditJob } from './machines/audit.ts';
import type { Job } from './store.ts';
import type { VerifierService } from './verifier.ts';

export interface InputFetchOptions {
  /** At most this many fetches at once (and one per worker). */
  concurrency?: number;
  /** The bound on one fetch: dial, request and answer (ms). */
  timeoutMs?: number;
  /** The wait before the first retry of a failed fetch; it doubles up to 5 minutes (ms). */
  retryMs?: number;
}

const MAX_RETRY_MS = 5 * 60_000;

/** Whether the verifier would re-execute this job now if it had its input. */
export function needsInput(job: Job<AuditJob>): boolean {
  const p = job.payload;
  if (job.done || p.input || !p.result || p.verdict) return false;
  return job.state === 'assigned' || (job.state === 'watching' && p.watched);
}

export class InputFetcher {
  private readonly host: PeerHost;
  private readonly env: NodeEnv;
  private readonly verifier: VerifierService;
  private readonly concurrency: number;
  private readonly timeoutMs: number;
  private readonly retryMs: number;
  private readonly inflight = new Map<string, { worker: string; done: Promise<void> }>();
  private readonly ready = new Map<string, Hex>();
  private readonly failures = new Map<string, { count: number; nextAt: number }>();
  private readonly abort = new AbortController();

  constructor(host: PeerHost, env: NodeEnv, verifier: VerifierService, options: InputFetchOptions = {}) {
    this.host = host;
    this.env = env;
    this.verifier = verifier;
    this.concurrency = options.concurrency ?? 4;
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.retryMs = options.retryMs ?? 2_000;
  }

  /** Fetches under way. */
  get pending(): number {
    return this.inflight.size;
  }

  /** Hands in the inputs that arrived, then starts fetches for the jobs that need one. Never waits. */
  onTick(): void {
    const { env } = this;
    for (const [id, input] of this.ready) {
      this.ready.delete(id);
      this.failures.delete(id);
      if (this.verifier.provideInput(id as Hex, input)) {
        env.metrics.inc('p2p_inputs_fetched_total');
        env.log.info('input fetched from the worker', { taskId: id });
      }
    }
    if (this.abort.signal.aborted) return;
    const now = Date.now();
    const busy = new Set([...this.inflight.values()].map((f) => f.worker));
    const open = new Set<string>();
    for (const job of env.store.openJobs<AuditJob>('audit')) {
      open.add(job.id);
      if (this.inflight.size >= this.concurrency) continue;
      const result = job.payload.result;
      if (!result || !needsInput(job) || this.inflight.has(job.id) || this.ready.has(job.id)) continue;
      if ((this.failures.get(job.id)?.nextAt ?? 0) > now) continue;
      const worker = result.worker.toLowerCase();
      if (busy.has(worker)) continue;
      busy.add(worker);
      this.start(job.id, worker as Hex, job.payload.task.inputRoot);
    }
    for (const id of this.failures.keys()) if (!open.has(id)) this.failures.delete(id);
  }

  private start(id: string, worker: Hex, inputRoot: Hex): void {
    const done = (async () => {
      try {
        const bytes = await this.fetch(worker, inputRoot);
        this.ready.set(id, toHex(bytes));
      } catch (err) {
        if (this.abort.signal.aborted) return;
        const count = (this.failures.get(id)?.count ?? 0) + 1;
        const wait = Math.min(this.retryMs * 2 ** (count - 1), MAX_RETRY_MS);
        this.failures.set(id, { count, nextAt: Date.now() + wait });
        const error = (err as Error)?.name ?? 'Error';
        this.env.metrics.inc('p2p_input_fetch_failures_total', 1, { error });
        this.env.log.warn('input fetch failed; retrying later', {
          taskId: id,
          worker,
          attempt: count,
          error: (err as Error)?.message?.split('\n')[0],
        });
      } finally {
        this.inflight.delete(id);
      }
    })();
    this.inflight.set(id, { worker, done });
  }

  private async fetch(worker: Hex, inputRoot: Hex): Promise<Uint8Array> {
    const info = await untilAborted(
      this.env.chain.v.agentRegistry.read.agentInfo([worker]),
      this.abort.signal,
    );
    // The endpoint is the worker's own claim on chain; Noise then proves the PeerId it names.
    const { multiaddr } = parseEndpoint(info.endpoint);
    return fetchInput(this.host, multiaddr, inputRoot, {
      timeoutMs: this.timeoutMs,
      signal: this.abort.signal,
    });
  }

  /** Resolves once no fetch is under way (those started meanwhile included). */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight.values()].map((f) => f.done));
  }

  /** Aborts every fetch under way and waits for them to end. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.idle();
  }
}

/** `promise`, or a rejection as soon as `signal` aborts (a stopping node does not wait on the RPC). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('aborted'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
