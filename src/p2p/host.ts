// A Verinfer node's libp2p host: TCP, Noise, Yamux, identify and gossipsub, with the local ban list
// (peers.ts) enforced by the connection gater, so a banned peer can neither dial in nor be dialled.
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { type GossipSub, gossipsub } from '@libp2p/gossipsub';
import { type Identify, identify } from '@libp2p/identify';
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface';
import { tcp } from '@libp2p/tcp';
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { PeerBannedError, PeerTimeoutError, PeerUnreachableError } from './errors.ts';
import { GOSSIP_TOPICS, MAX_ANNOUNCEMENT_BYTES } from './gossip.ts';
import { createPeerBook, type PeerBook } from './peers.ts';

export type PeerServices = { identify: Identify; pubsub: GossipSub };
export type PeerLibp2p = Libp2p<PeerServices>;

export interface PeerHostOptions {
  /** Listen addresses; the default is an ephemeral loopback port. */
  listen?: string[];
  /** The node's key (see peerKey.ts); without one, a fresh PeerId each start. */
  privateKey?: PrivateKey;
  /** Multiaddrs (with /p2p/<peerId>) dialled on start, best effort. */
  bootstrap?: string[];
  /** The reputation book; one is created if not given. */
  peers?: PeerBook;
  dialTimeoutMs?: number;
  maxConnections?: number;
}

export interface PeerHost {
  readonly libp2p: PeerLibp2p;
  readonly peers: PeerBook;
  readonly peerId: PeerId;
  /** The addresses others can dial, each ending in /p2p/<peerId>. */
  multiaddrs(): Multiaddr[];
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Dials `target` and returns the remote PeerId (authenticated by Noise). */
  dial(target: string | Multiaddr, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<PeerId>;
  /** Results of the last bootstrap: the addresses that were reached. */
  bootstrapped(): string[];
}

export const DEFAULT_DIAL_TIMEOUT_MS = 5_000;

/** Creates and starts a host. Stop it with `stop()` (idempotent). */
export async function createPeerHost(options: PeerHostOptions = {}): Promise<PeerHost> {
  const peers = options.peers ?? createPeerBook();
  const dialTimeoutMs = options.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;
  const libp2p = await createLibp2p({
    privateKey: options.privateKey,
    addresses: { listen: options.listen ?? ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { maxConnections: options.maxConnections ?? 200 },
    connectionGater: {
      denyDialPeer: (peerId) => peers.isBanned(peerId.toString()),
      denyInboundEncryptedConnection: (peerId) => peers.isBanned(peerId.toString()),
    },
    services: {
      identify: identify(),
      pubsub: gossipsub({
        // Announcements are tiny; an RPC frame far above one is abuse.
        maxInboundDataLength: 64 * MAX_ANNOUNCEMENT_BYTES,
        allowedTopics: Object.values(GOSSIP_TOPICS),
        // A lone node may announce before anyone listens; that is not an error.
        allowPublishToZeroTopicPeers: true,
      }),
    },
    start: false,
  });

  let reached: string[] = [];
  const dial: PeerHost['dial'] = async (target, dialOptions = {}) => {
    const addr = typeof target === 'string' ? parseMultiaddr(target) : target;
    const named = addr.getComponents().find((c) => c.name === 'p2p')?.value;
    if (named && peers.isBanned(named))
      throw new PeerBannedError(`Peer ${named} is banned; not dialling it.`);
    const timeout = AbortSignal.timeout(dialOptions.timeoutMs ?? dialTimeoutMs);
    const signal = dialOptions.signal ? AbortSignal.any([timeout, dialOptions.signal]) : timeout;
    try {
      const connection = await libp2p.dial(addr, { signal });
      return connection.remotePeer;
    } catch (cause) {
      if (timeout.aborted) throw new PeerTimeoutError(`Dialling ${addr} timed out.`, { cause });
      throw new PeerUnreachableError(`Cannot dial ${addr}.`, {
        cause,
        metaMessages: ['Check that the address is right and the peer is up.'],
      });
    }
  };

  const host: PeerHost = {
    libp2p,
    peers,
    peerId: libp2p.peerId,
    multiaddrs: () => libp2p.getMultiaddrs(),
    async start() {
      await libp2p.start();
      const results = await Promise.allSettled((options.bootstrap ?? []).map((a) => dial(a)));
      reached = (options.bootstrap ?? []).filter((_, i) => results[i].status === 'fulfilled');
    },
    async stop() {
      await libp2p.stop();
    },
    dial,
    bootstrapped: () => reached,
  };
  await host.start();
  return host;
}

function parseMultiaddr(text: string): Multiaddr {
  try {
    return multiaddr(text);
  } catch (cause) {
    throw new PeerUnreachableError(`"${text}" is not a multiaddr.`, { cause });
  }
}
