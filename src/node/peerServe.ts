// What a node serves to its peers: every node answers input and model requests from what it holds;
// a worker also takes signed requests (checked by acceptSignedRequest, refused by name) and serves
// chunks of its own runs' traces. Providers only ever read what the node has: a request can cost it
// a database scan, a file read or (bounded to one at a time) a re-run of one of its own tasks.
import { readFile, stat } from 'node:fs/promises';
import type { PeerId } from '@libp2p/interface';
import type { Hex } from 'viem';
import { bytesRoot } from '../chain/bindings/commitments.ts';
import type { TaskArgs } from '../chain/bindings/types.ts';
import { fromHex, toHex } from '../commit/keccak.ts';
import { modelRoot } from '../commit/modelRoot.ts';
import { CHUNK_BYTES, type ChunkProof, openChunkProof, tensorBytes } from '../commit/tensorRoot.ts';
import { decodeModel } from '../engine/format.ts';
import type { Model } from '../engine/graph.ts';
import type { PeerHost } from '../p2p/host.ts';
import {
  inputSpec,
  MAX_INPUT_BYTES,
  MAX_MODEL_PACKAGE_BYTES,
  modelSpec,
  type SignedRequestAnswer,
  type SignedRequestRefusal,
  serveInputs,
  serveModels,
  serveSignedRequests,
  serveTraceChunks,
  signedRequestSpec,
  traceChunkSpec,
} from '../p2p/protocols.ts';
import { offenceOf } from '../p2p/rpc.ts';
import type { NodeEnv } from './context.ts';
import type { TaskJob } from './machines/task.ts';
import { inputFromBytes } from './models.ts';
import { SignedRequestError, type WorkerService } from './worker.ts';

export interface ServeDeps {
  host: PeerHost;
  env: NodeEnv;
  worker?: WorkerService;
  /** Signed tasks queued and not yet posted, above which new ones are refused as busy. */
  maxQueuedSignedTasks: number;
}

/**
 * The refusal a peer is told for each of acceptSignedRequest's checks. The signature, input root and
 * size were checked by the protocol server already; these are the chain- and model-side checks.
 */
const REFUSALS: readonly [RegExp, SignedRequestRefusal][] = [
  [/does not serve model/, 'unknown-model'],
  [/larger than/, 'input-too-large'],
  [/signature|signed by/, 'bad-signature'],
  [/does not fit|inputRoot/, 'input-mismatch'],
  [/exists already/, 'duplicate'],
  [/balance/, 'fee-too-low'],
  [/expired/, 'deadline-passed'],
];

export function refusalOf(err: SignedRequestError): SignedRequestRefusal {
  return REFUSALS.find(([re]) => re.test(err.shortMessage))?.[1] ?? 'not-accepting';
}

/** Registers the node's servers on its host; returns the function that unregisters them. */
export async function serveNode(deps: ServeDeps): Promise<() => Promise<void>> {
  const { host, env, worker } = deps;
  const { metrics, log } = env;
  const served = (protocol: string) => metrics.inc('p2p_requests_served_total', 1, { protocol });
  const refused = (protocol: string, reason: string) =>
    metrics.inc('p2p_requests_refused_total', 1, { protocol, reason });
  // A request that broke the protocol (oversized, malformed, too slow) is refused by a reset.
  const onError = (protocol: string) => (err: unknown, peer: PeerId) => {
    refused(protocol, offenceOf(err) ?? (err as Error)?.name ?? 'error');
    log.debug('peer request failed', { protocol, peer: peer.toString(), error: err });
  };
  const stops: (() => Promise<void>)[] = [];

  stops.push(
    await serveInputs(
      host,
      async (root) => {
        const bytes = inputOf(env, root);
        if (bytes) served(inputSpec.id);
        else refused(inputSpec.id, 'not-found');
        return bytes;
      },
      { onError: onError(inputSpec.id) },
    ),
  );

  const files = new ModelFiles();
  stops.push(
    await serveModels(
      host,
      async (root) => {
        const model = env.models.get(root);
        const pkg = model && (await files.bytesOf(root, model, env.models.fileOf(root)));
        if (pkg) served(modelSpec.id);
        else refused(modelSpec.id, 'not-found');
        return pkg;
      },
      { onError: onError(modelSpec.id) },
    ),
  );

  if (worker) {
    stops.push(
      await serveSignedRequests(
        host,
        {
          chainId: env.chain.chainId,
          market: env.chain.addresses.taskMarket,
          worker: env.chain.account,
          decide: (request) => decideSignedRequest(deps, worker, request),
          onAnswer: (answer) => {
            if (answer.accepted) served(signedRequestSpec.id);
            else refused(signedRequestSpec.id, answer.refusal);
          },
        },
        { onError: onError(signedRequestSpec.id) },
      ),
    );
    const runs = new Gate(1, 4);
    stops.push(
      await serveTraceChunks(
        host,
        async (request) => {
          const proof = await runs.run(() => traceChunkOf(env, request));
          if (proof) served(traceChunkSpec.id);
          else refused(traceChunkSpec.id, 'not-found');
          return proof;
        },
        { onError: onError(traceChunkSpec.id) },
      ),
    );
  }
  return async () => {
    await Promise.allSettled(stops.map((s) => s()));
  };
}

async function decideSignedRequest(
  deps: ServeDeps,
  worker: WorkerService,
  request: { task: TaskArgs; signature: Hex; input: Uint8Array },
): Promise<SignedRequestAnswer> {
  const { env } = deps;
  // Before its first sync the node has no clock to check the deadline against.
  if (env.head().number === 0n)
    return { accepted: false, refusal: 'busy', reason: 'the node has not synced the chain yet' };
  const queued = env.store.openJobs<TaskJob>('task').filter((j) => j.state === 'signed').length;
  if (queued >= deps.maxQueuedSignedTasks)
    return { accepted: false, refusal: 'busy', reason: `${queued} signed tasks are queued` };
  try {
    const taskId = await worker.acceptSignedRequest({
      task: request.task,
      signature: request.signature,
      input: toHex(request.input),
    });
    env.log.info('signed task accepted', { taskId, requester: request.task.requester });
    return { accepted: true, taskId };
  } catch (err) {
    if (err instanceof SignedRequestError)
      return { accepted: false, refusal: refusalOf(err), reason: err.shortMessage.slice(0, 256) };
    // The chain could not be read: nothing is wrong with the request.
    env.log.warn('cannot check a signed request', { error: err });
    return { accepted: false, refusal: 'busy', reason: 'the worker cannot check requests now' };
  }
}

/** The input of an open task or audit this node holds, by its root (only bytes that hash to it). */
function inputOf(env: NodeEnv, root: Hex): Uint8Array | undefined {
  const want = root.toLowerCase();
  for (const kind of ['task', 'audit'] as const) {
    for (const job of env.store.openJobs<{ task: TaskArgs; input?: Hex }>(kind)) {
      const p = job.payload;
      if (!p.input || p.task.inputRoot.toLowerCase() !== want) continue;
      if (p.input.length > 2 + 2 * MAX_INPUT_BYTES) return undefined;
      const bytes = fromHex(p.input);
      if (bytesRoot(bytes) === want) return bytes;
    }
  }
  return undefined;
}

/** Chunk `chunk` of op `op`'s output in the run this worker posted for `taskId`. */
async function traceChunkOf(
  env: NodeEnv,
  request: { taskId: Hex; op: number; chunk: number },
): Promise<ChunkProof | undefined> {
  const job = env.store.getJob<TaskJob>('task', request.taskId.toLowerCase());
  const p = job?.payload;
  if (!p?.result || !p.input) return undefined;
  const model = env.models.get(p.task.modelRoot);
  if (!model || request.op >= model.ops.length) return undefined;
  const input = inputFromBytes(model, fromHex(p.input));
  // The run this node committed to: the trace cache, or the engine again (the variant included).
  const trace = await env.runs.trace(model, input, p.variant);
  const out = trace[request.op];
  const bytes = tensorBytes(out.dtype, out.data);
  if (request.chunk >= Math.max(1, Math.ceil(bytes.length / CHUNK_BYTES))) return undefined;
  return openChunkProof(bytes, request.chunk);
}

/**
 * Model packages as their .vrnf files. A file is decoded and checked against its root the first time
 * it is served and whenever its size or mtime changes, so an edited file is never sent as the model.
 */
class ModelFiles {
  private readonly checked = new Map<string, { size: number; mtimeMs: number }>();

  async bytesOf(root: Hex, model: Model, file: string | undefined): Promise<Uint8Array | Model> {
    if (!file) return model;
    const st = await stat(file).catch(() => undefined);
    if (!st || st.size > MAX_MODEL_PACKAGE_BYTES) return model;
    const bytes = new Uint8Array(await readFile(file));
    const seen = this.checked.get(root);
    if (seen?.size === st.size && seen.mtimeMs === st.mtimeMs) return bytes;
    try {
      if (toHex(modelRoot(decodeModel(bytes))) !== root.toLowerCase()) return model;
    } catch {
      return model;
    }
    this.checked.set(root, { size: st.size, mtimeMs: st.mtimeMs });
    return bytes;
  }
}

/** At most `concurrency` runs at once and `queue` waiting; beyond that a call gets undefined. */
class Gate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly concurrency: number;
  private readonly queue: number;

  constructor(concurrency: number, queue: number) {
    this.concurrency = concurrency;
    this.queue = queue;
  }

  async run<T>(fn: () => Promise<T>): Promise<T | undefined> {
    if (this.active >= this.concurrency) {
      if (this.waiting.length >= this.queue) return undefined;
      // The slot is handed over by the run that ends (active stays as it is).
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.active += 1;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active -= 1;
    }
  }
}
