// The node on the peer network: a libp2p host (src/p2p) whose key is kept in a file, so the PeerId
// survives restarts; a peer binding signed by the agent key; the AgentRegistry endpoint set to the
// host's multiaddr (VerinferNode.setup passes `endpoint` to ensureAgent). It serves what the node
// holds (peerServe.ts), fetches the inputs of signed tasks for the verifier (inputFetch.ts), and
// announces the worker's results and a heartbeat over gossip.
//
// VerinferNode drives it: setup() starts it before registering, every tick() calls beforeWakes()
// after the sync and afterWakes() after the jobs' wakes, and stop() stops it.
import type { PeerId, PrivateKey } from '@libp2p/interface';
import type { Address, Hex } from 'viem';
import { VerinferError } from '../errors/base.ts';
import {
  type AnnouncementInput,
  type Announcements,
  createAnnouncements,
  type GossipTopic,
} from '../p2p/gossip.ts';
import { createPeerHost, type PeerHost } from '../p2p/host.ts';
import { endpointOf, type PeerBinding, serveHello, signPeerBinding } from '../p2p/identity.ts';
import { loadOrCreatePeerKey } from '../p2p/peerKey.ts';
import type { PeerOffence } from '../p2p/peers.ts';
import type { NodeEnv } from './context.ts';
import { InputFetcher, type InputFetchOptions } from './inputFetch.ts';
import type { Logger } from './log.ts';
import type { TaskJob } from './machines/task.ts';
import { serveNode } from './peerServe.ts';
import type { VerifierService } from './verifier.ts';
import type { WorkerService } from './worker.ts';

/** The peer host cannot start as configured. */
export class PeerSetupError extends VerinferError {
  override name = 'PeerSetupError' as const;
}

export interface NodePeerOptions {
  /** Listen multiaddrs, e.g. /ip4/0.0.0.0/tcp/9000. */
  listen: string[];
  /** The multiaddr to publish (default: the first dialable listen address, not loopback if any). */
  announce?: string;
  /** Peers dialled at start (multiaddrs ending in /p2p/<peerId>). */
  bootstrap?: string[];
  /** The libp2p key file (created 0600 if absent); without one (nor privateKey), a fresh PeerId. */
  keyFile?: string;
  privateKey?: PrivateKey;
  /** A worker's heartbeat period; 0 (or undefined) turns it off. */
  heartbeatSeconds?: number;
  fetch?: InputFetchOptions;
  /** Signed tasks queued and not yet posted, above which more are refused as busy (default 64). */
  maxQueuedSignedTasks?: number;
}

export interface PeerHealth {
  peerId: string;
  multiaddrs: string[];
  /** The endpoint this node publishes in the AgentRegistry. */
  endpoint: string;
  peers: number;
  inputFetches: number;
}

/** What the peer uses of its node (a VerinferNode). */
export interface PeerNode {
  readonly env: NodeEnv;
  readonly worker?: WorkerService;
  readonly verifier?: VerifierService;
}

const BAD_MESSAGES: readonly PeerOffence[] = ['oversized', 'malformed', 'wrong-data', 'bad-gossip'];
const MAX_KNOWN_AGENTS = 1024;

interface Running {
  host: PeerHost;
  gossip: Announcements;
  binding: PeerBinding;
  endpoint: string;
  fetcher?: InputFetcher;
  unserve: () => Promise<void>;
  unsubscribe: (() => void)[];
  heartbeat?: NodeJS.Timeout;
  /** Own results posted from this block on are announced (older ones were, or are stale). */
  announceFrom: bigint;
  /** Open posted tasks already announced. */
  announced: Set<string>;
}

export class NodePeer {
  private readonly o: NodePeerOptions;
  private node?: PeerNode;
  private log?: Logger;
  private running?: Running;
  private starting?: Promise<void>;
  /** Agent addresses of peers whose hello carried a valid binding (PeerId -> agent). */
  private readonly agents = new Map<string, Address>();

  constructor(options: NodePeerOptions) {
    this.o = options;
  }

  get started(): boolean {
    return this.running !== undefined;
  }

  get host(): PeerHost | undefined {
    return this.running?.host;
  }

  /** The gossip of the host (subscribe to follow announcements). */
  get announcements(): Announcements | undefined {
    return this.running?.gossip;
  }

  /** The AgentRegistry endpoint: the host's multiaddr with its PeerId. */
  get endpoint(): string | undefined {
    return this.running?.endpoint;
  }

  get peerId(): PeerId | undefined {
    return this.running?.host.peerId;
  }

  /** The verifier's input fetches (undefined without the verifier role). */
  get inputFetcher(): InputFetcher | undefined {
    return this.running?.fetcher;
  }

  /** The verified agent address of a peer that said hello. */
  agentOf(peer: PeerId | string): Address | undefined {
    return this.agents.get(peer.toString());
  }

  /** Starts the host and its servers (once; later calls wait for the first). */
  start(node: PeerNode): Promise<void> {
    this.starting ??= this.open(node).catch((err) => {
      this.starting = undefined;
      throw err;
    });
    return this.starting;
  }

  private async open(node: PeerNode): Promise<void> {
    const { env } = node;
    const { chain } = env;
    this.node = node;
    this.log = env.log.child('p2p');
    const privateKey =
      this.o.privateKey ?? (this.o.keyFile ? await loadOrCreatePeerKey(this.o.keyFile) : undefined);
    if (!this.o.listen.length) throw new PeerSetupError('p2p.listen names no address to listen on.');
    let host: PeerHost;
    try {
      host = await createPeerHost({ listen: this.o.listen, privateKey, bootstrap: this.o.bootstrap });
    } catch (cause) {
      throw new PeerSetupError(`Cannot listen on p2p.listen ${this.o.listen.join(', ')}.`, {
        cause,
        metaMessages: ['Check that each is a TCP multiaddr and that its port is free.'],
      });
    }
    try {
      const endpoint = this.o.announce ? endpointOf(this.o.announce, host.peerId) : dialableEndpoint(host);
      const context = { chainId: chain.chainId, registry: chain.addresses.agentRegistry };
      const binding = await signPeerBinding(
        { address: chain.account, signMessage: (args) => chain.walletClient.signMessage(args) },
        host.peerId,
        context,
      );
      const stopHello = await serveHello(host, {
        ...context,
        binding,
        onPeer: (peer, agent) => {
          if (this.agents.size >= MAX_KNOWN_AGENTS) this.agents.delete(this.agents.keys().next().value!);
          this.agents.set(peer.toString(), agent);
        },
      });
      const stopServers = await serveNode({
        host,
        env,
        worker: node.worker,
        maxQueuedSignedTasks: this.o.maxQueuedSignedTasks ?? 64,
      });
      const gossip = createAnnouncements(host);
      const unsubscribe = (['results', 'heartbeat'] as const).map((topic) =>
        gossip.subscribe(topic, () => env.metrics.inc('p2p_announcements_received_total', 1, { topic })),
      );
      const peersChanged = () => env.metrics.set('p2p_peers_connected', host.libp2p.getPeers().length);
      host.libp2p.addEventListener('peer:connect', peersChanged);
      host.libp2p.addEventListener('peer:disconnect', peersChanged);
      peersChanged();
      this.running = {
        host,
        gossip,
        binding,
        endpoint,
        fetcher: node.verifier && new InputFetcher(host, env, node.verifier, this.o.fetch),
        unserve: async () => {
          await stopServers();
          await stopHello();
        },
        unsubscribe,
        announceFrom: await chain.publicClient.getBlockNumber(),
        announced: new Set(),
      };
      const seconds = this.o.heartbeatSeconds ?? 0;
      if (node.worker && seconds > 0) {
        this.running.heartbeat = setInterval(() => void this.heartbeat(), seconds * 1000);
        this.running.heartbeat.unref();
      }
      this.log.info('p2p listening', {
        peerId: host.peerId.toString(),
        endpoint,
        multiaddrs: host.multiaddrs().map(String),
        bootstrapped: host.bootstrapped(),
      });
    } catch (err) {
      await host.stop();
      throw err;
    }
  }

  /** Once per tick, after the sync: hands in fetched inputs and starts new fetches. */
  beforeWakes(): void {
    this.running?.fetcher?.onTick();
    this.refreshMetrics();
  }

  /** Once per tick, after the wakes: announces each result the worker posted since it started, once. */
  afterWakes(): void {
    const r = this.running;
    const env = this.node?.env;
    if (!r || !env || !this.node?.worker) return;
    const open = new Set<string>();
    for (const job of env.store.openJobs<TaskJob>('task')) {
      const p = job.payload;
      if (job.state !== 'posted' || !p.result) continue;
      open.add(job.id);
      if (r.announced.has(job.id) || (p.postedBlock ?? 0n) < r.announceFrom) continue;
      r.announced.add(job.id);
      void this.publish('results', {
        v: 1,
        chainId: env.chain.chainId,
        market: env.chain.addresses.taskMarket,
        taskId: job.id as Hex,
        worker: p.result.worker,
        outputRoot: p.result.outputRoot,
        commitment: p.result.commitment,
      });
    }
    for (const id of r.announced) if (!open.has(id)) r.announced.delete(id);
  }

  /** Announces that this worker is up, where, and with which models. */
  async heartbeat(): Promise<number> {
    const r = this.running;
    const env = this.node?.env;
    if (!r || !env) return 0;
    return this.publish('heartbeat', {
      v: 1,
      chainId: env.chain.chainId,
      agent: env.chain.account,
      endpoint: r.endpoint,
      models: env.models.roots().slice(0, 16),
      time: Math.floor(Date.now() / 1000),
    });
  }

  private async publish<T extends GossipTopic>(topic: T, message: AnnouncementInput<T>): Promise<number> {
    const r = this.running;
    if (!r) return 0;
    try {
      const sent = await r.gossip.publish(topic, message);
      this.node?.env.metrics.inc('p2p_announcements_published_total', 1, { topic });
      return sent;
    } catch (err) {
      this.log?.debug('announcement not published', { topic, error: err });
      return 0;
    }
  }

  private refreshMetrics(): void {
    const r = this.running;
    const metrics = this.node?.env.metrics;
    if (!r || !metrics) return;
    const totals = r.host.peers.totals();
    for (const offence of BAD_MESSAGES) metrics.set('p2p_bad_messages_total', totals[offence], { offence });
    metrics.set('p2p_peers_connected', r.host.libp2p.getPeers().length);
  }

  health(): PeerHealth | undefined {
    const r = this.running;
    if (!r) return undefined;
    this.refreshMetrics();
    return {
      peerId: r.host.peerId.toString(),
      multiaddrs: r.host.multiaddrs().map(String),
      endpoint: r.endpoint,
      peers: r.host.libp2p.getPeers().length,
      inputFetches: r.fetcher?.pending ?? 0,
    };
  }

  /** Stops the fetches, the servers and the host. */
  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    const r = this.running;
    if (!r) return;
    this.running = undefined;
    this.starting = undefined;
    if (r.heartbeat) clearInterval(r.heartbeat);
    for (const u of r.unsubscribe) u();
    await r.fetcher?.stop();
    await r.unserve().catch(() => undefined);
    await r.host.stop();
    this.log?.info('p2p stopped');
  }
}

/** The first listen address a peer can dial, preferring one that is not loopback. */
function dialableEndpoint(host: PeerHost): string {
  const candidates: string[] = [];
  for (const ma of host.multiaddrs()) {
    try {
      candidates.push(endpointOf(ma, host.peerId));
    } catch {
      // Not of the endpoint's shape (e.g. an unspecified or non-TCP address).
    }
  }
  const loopback = (e: string) => /^\/ip4\/127\.|^\/ip6\/::1\//.test(e);
  const endpoint = candidates.find((e) => !loopback(e)) ?? candidates[0];
  if (!endpoint)
    throw new PeerSetupError('None of the p2p listen addresses can be dialled by peers.', {
      metaMessages: ['Set p2p.announce to the /ip4|dns4/<host>/tcp/<port> address peers should dial.'],
    });
  return endpoint;
}
