// Gossip carries announcements only: small JSON messages that point at something on chain or at a
// peer to ask over request/response. Payloads never travel by gossip (every byte would be sent
// O(n²) times). Each topic has a validator: a message that is too large, not JSON or off-schema is
// rejected (not delivered, not forwarded, and the peer that relayed it is counted), never thrown.

import { TopicValidatorResult } from '@libp2p/gossipsub';
import type { PeerId } from '@libp2p/interface';
import { z } from 'zod';
import type { PeerHost } from './host.ts';
import { address, chainId, hex32, shortText, uintString } from './schemas.ts';

export const GOSSIP_TOPICS = {
  tasks: 'verinfer/tasks/1',
  results: 'verinfer/results/1',
  heartbeat: 'verinfer/heartbeat/1',
} as const;

export type GossipTopic = keyof typeof GOSSIP_TOPICS;

export const MAX_ANNOUNCEMENT_BYTES = 1024;

const MAX_ENDPOINT_CHARS = 256;

export const announcementSchemas = {
  /** A task opened on chain (or offered off chain) that workers may take. */
  tasks: z.object({
    v: z.literal(1),
    chainId,
    market: address,
    taskId: hex32,
    modelRoot: hex32,
    inputRoot: hex32,
    feeToken: address,
    fee: uintString(256),
    takeDeadline: uintString(64),
    /** Where the input can be fetched (the requester's endpoint), if not from the announcer. */
    endpoint: shortText(MAX_ENDPOINT_CHARS).optional(),
  }),
  /** A result posted on chain. */
  results: z.object({
    v: z.literal(1),
    chainId,
    market: address,
    taskId: hex32,
    worker: address,
    outputRoot: hex32,
    commitment: hex32,
  }),
  /** A node is alive, at this endpoint, serving these models. */
  heartbeat: z.object({
    v: z.literal(1),
    chainId,
    agent: address,
    endpoint: shortText(MAX_ENDPOINT_CHARS),
    models: z.array(hex32).max(16),
    busy: z.boolean().optional(),
    /** Unix seconds at the sender. */
    time: z
      .number()
      .int()
      .min(0)
      .max(2 ** 40),
  }),
} as const;

export type Announcement<T extends GossipTopic> = z.output<(typeof announcementSchemas)[T]>;
export type AnnouncementInput<T extends GossipTopic> = z.input<(typeof announcementSchemas)[T]>;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Parses one gossip payload; undefined for anything a peer should not have sent. */
export function parseAnnouncement<T extends GossipTopic>(
  topic: T,
  data: Uint8Array,
): Announcement<T> | undefined {
  if (data.length > MAX_ANNOUNCEMENT_BYTES) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(data));
  } catch {
    return undefined;
  }
  const checked = announcementSchemas[topic].safeParse(json);
  return checked.success ? (checked.data as Announcement<T>) : undefined;
}

export function encodeAnnouncement<T extends GossipTopic>(
  topic: T,
  message: AnnouncementInput<T>,
): Uint8Array {
  const checked = announcementSchemas[topic].safeParse(message);
  if (!checked.success) {
    throw new TypeError(
      `Refusing to publish an invalid ${topic} announcement: ${checked.error.issues[0]?.message}`,
    );
  }
  const bytes = encoder.encode(JSON.stringify(message));
  if (bytes.length > MAX_ANNOUNCEMENT_BYTES) {
    throw new RangeError(
      `A ${topic} announcement of ${bytes.length} bytes is above ${MAX_ANNOUNCEMENT_BYTES}.`,
    );
  }
  return bytes;
}

export interface GossipStats {
  delivered: Record<GossipTopic, number>;
  dropped: Record<GossipTopic, number>;
  handlerErrors: number;
}

export type AnnouncementHandler<T extends GossipTopic> = (
  message: Announcement<T>,
  from: PeerId,
) => void | Promise<void>;

export interface Announcements {
  /** Publishes to the topic; returns how many peers it was sent to directly. */
  publish<T extends GossipTopic>(topic: T, message: AnnouncementInput<T>): Promise<number>;
  /** Subscribes; returns the function that unsubscribes this handler. */
  subscribe<T extends GossipTopic>(topic: T, handler: AnnouncementHandler<T>): () => void;
  stats(): GossipStats;
}

const topicNames = Object.keys(GOSSIP_TOPICS) as GossipTopic[];
const topicOf = new Map<string, GossipTopic>(topicNames.map((t) => [GOSSIP_TOPICS[t], t]));

/** Announcement publishing and subscription over a host's gossipsub. Create one per host. */
export function createAnnouncements(host: PeerHost): Announcements {
  const pubsub = host.libp2p.services.pubsub;
  const handlers = new Map<GossipTopic, Set<AnnouncementHandler<GossipTopic>>>();
  const zero = () => ({ tasks: 0, results: 0, heartbeat: 0 });
  const stats: GossipStats = { delivered: zero(), dropped: zero(), handlerErrors: 0 };

  for (const topic of topicNames) {
    pubsub.topicValidators.set(GOSSIP_TOPICS[topic], (peer, message) => {
      if (parseAnnouncement(topic, message.data) !== undefined) return TopicValidatorResult.Accept;
      stats.dropped[topic] += 1;
      host.peers.record(peer.toString(), 'bad-gossip');
      return TopicValidatorResult.Reject;
    });
  }

  pubsub.addEventListener('message', (evt) => {
    const topic = topicOf.get(evt.detail.topic);
    if (!topic) return;
    const set = handlers.get(topic);
    if (!set?.size) return;
    const parsed = parseAnnouncement(topic, evt.detail.data);
    // The validator already accepted it; a second look costs a 1 KiB parse and keeps this safe alone.
    if (!parsed) {
      stats.dropped[topic] += 1;
      return;
    }
    stats.delivered[topic] += 1;
    // The host keeps gossipsub's StrictSign policy, so every delivered message is signed by its author.
    if (evt.detail.type !== 'signed') return;
    const from = evt.detail.from;
    for (const handler of set) {
      Promise.resolve()
        .then(() => handler(parsed, from))
        .catch(() => {
          stats.handlerErrors += 1;
        });
    }
  });

  return {
    async publish(topic, message) {
      const result = await pubsub.publish(GOSSIP_TOPICS[topic], encodeAnnouncement(topic, message));
      return result.recipients.length;
    },
    subscribe(topic, handler) {
      let set = handlers.get(topic);
      if (!set) {
        set = new Set();
        handlers.set(topic, set);
        pubsub.subscribe(GOSSIP_TOPICS[topic]);
      }
      set.add(handler as AnnouncementHandler<GossipTopic>);
      return () => {
        set.delete(handler as AnnouncementHandler<GossipTopic>);
        if (set.size === 0) {
          handlers.delete(topic);
          pubsub.unsubscribe(GOSSIP_TOPICS[topic]);
        }
      };
    },
    stats: () => ({
      delivered: { ...stats.delivered },
      dropped: { ...stats.dropped },
      handlerErrors: stats.handlerErrors,
    }),
  };
}
