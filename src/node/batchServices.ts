// Batch settlement inside a node: a worker with a peer host also serves signed request bundles
// (src/batch: proposes headers, posts batches the requester signed, defends challenged leaves,
// finalizes); a verifier re-executes every posted batch it can fetch and challenges a wrong leaf
// alone. Both run their own polling loops beside the node's, and stop with it. Both keep their
// state in the node's database (batchStore.ts), so a restart, even after SIGKILL, resumes every
// posted batch, game and unfinished check.
import type { Hex } from 'viem';
import { createBatchVerifier } from '../batch/verifier.ts';
import { type BatchWorker, createBatchWorker } from '../batch/worker.ts';
import type { Model } from '../engine/graph.ts';
import type { Backend } from '../engine/interpreter.ts';
import type { PeerHost } from '../p2p/host.ts';
import { nodeBatchVerifierStore, nodeBatchWorkerStore } from './batchStore.ts';
import type { NodeEnv } from './context.ts';

export interface BatchServices {
  worker?: BatchWorker;
  stop(): Promise<void>;
}

export interface BatchServicesOptions {
  env: NodeEnv;
  host: PeerHost;
  backend: Backend;
  worker: boolean;
  verifier: boolean;
  /** Devnet only: corrupt this position of every batch (and defend the corrupted trace). */
  batchCheatIndex?: number;
  pollIntervalMs: number;
}

function modelMap(env: NodeEnv): Map<Hex, Model> {
  const map = new Map<Hex, Model>();
  for (const root of env.models.roots()) {
    const m = env.models.get(root);
    if (m) map.set(root.toLowerCase() as Hex, m);
  }
  return map;
}

export async function startBatchServices(o: BatchServicesOptions): Promise<BatchServices> {
  const { env } = o;
  const common = {
    host: o.host,
    publicClient: env.chain.publicClient,
    wallet: env.chain.walletClient,
    addresses: env.chain.addresses,
    models: modelMap(env),
    backend: o.backend,
    pollIntervalMs: o.pollIntervalMs,
  };
  const log = env.log.child('batch');
  const started: { stop(): Promise<void> }[] = [];
  let worker: BatchWorker | undefined;
  if (o.worker) {
    worker = createBatchWorker({
      ...common,
      store: nodeBatchWorkerStore(env.store),
      ...(o.batchCheatIndex !== undefined ? { cheat: { indices: [o.batchCheatIndex] } } : {}),
      onEvent: (e) => {
        if (e.type === 'posted' || e.type === 'finalized')
          log.info(`batch ${e.type}`, { batchId: e.batchId.toString() });
        else if (e.type === 'error') log.warn('batch worker error', { error: e.error });
        env.metrics.inc('batch_events_total', 1, { type: e.type });
      },
    });
    await worker.start();
    started.push(worker);
  }
  if (o.verifier) {
    const verifier = createBatchVerifier({
      ...common,
      store: nodeBatchVerifierStore(env.store),
      onEvent: (e) => {
        if (e.type === 'checked')
          log.info('batch checked', {
            batchId: e.batchId.toString(),
            checked: e.checked,
            wrong: e.wrong.length,
          });
        else if (e.type === 'challenged')
          log.info('batch leaf challenged', { batchId: e.batchId.toString(), index: e.index });
        else if (e.type === 'bounty')
          log.info('batch bounty claimed', { batchId: e.batchId.toString(), amount: e.amount.toString() });
        else if (e.type === 'error') log.warn('batch verifier error', { error: e.error });
        env.metrics.inc('batch_events_total', 1, { type: e.type });
      },
    });
    await verifier.start();
    started.push(verifier);
  }
  return {
    worker,
    stop: async () => {
      for (const s of started.reverse()) await s.stop();
    },
  };
}
