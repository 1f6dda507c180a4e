// One request, one response per stream, with a bound on each message's size and on the call's
// time. The client side maps every failure to a typed error and scores the peer; the server side
// refuses oversized or malformed requests by resetting the stream, so a hostile peer learns nothing
// and costs us only what the bounds allow.
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { z } from 'zod';
import {
  type Deadline,
  deadline,
  decodeMessage,
  encodeMessage,
  type Message,
  readFrame,
  writeFrame,
} from './codec.ts';
import {
  MalformedMessageError,
  MessageTooLargeError,
  PeerBannedError,
  PeerBindingError,
  PeerClosedError,
  PeerTimeoutError,
  PeerUnreachableError,
  type RequestAbortedError,
  RootMismatchError,
} from './errors.ts';
import type { PeerHost } from './host.ts';
import type { PeerOffence } from './peers.ts';

/** A request/response protocol: its id, schemas and bounds. */
export interface ProtocolSpec<Req extends z.ZodType, Res extends z.ZodType> {
  id: string;
  request: Req;
  response: Res;
  /** Bounds on the whole request and response messages, in bytes. */
  maxRequestBytes: number;
  maxResponseBytes: number;
  /** Default bound on a whole call (dial, send, answer), in ms. */
  timeoutMs: number;
  maxInboundStreams?: number;
}

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export type PeerTarget = PeerId | Multiaddr;

/** The offence a client-side failure counts as, if any. */
export function offenceOf(err: unknown): PeerOffence | undefined {
  if (err instanceof RootMismatchError || err instanceof PeerBindingError) return 'wrong-data';
  if (err instanceof MalformedMessageError) return 'malformed';
  if (err instanceof MessageTooLargeError) return 'oversized';
  if (err instanceof PeerTimeoutError) return 'timeout';
  if (err instanceof PeerClosedError) return 'closed';
  return undefined;
}

/**
 * Sends one request and returns the decoded response and the responder's PeerId. `check` runs on the
 * response before it is returned (e.g. hashing it against a root); its typed errors count against
 * the peer too.
 */
export async function callProtocol<Req extends z.ZodType, Res extends z.ZodType, T = Message<z.output<Res>>>(
  host: PeerHost,
  target: PeerTarget,
  spec: ProtocolSpec<Req, Res>,
  request: { header: z.input<Req>; body?: Uint8Array },
  options: CallOptions = {},
  check?: (response: Message<z.output<Res>>, peer: PeerId) => T | Promise<T>,
): Promise<T> {
  const what = `A ${spec.id} call`;
  const d = deadline(options.timeoutMs ?? spec.timeoutMs, what, options.signal);
  const payload = encodeMessage(spec.request, request.header, request.body);
  if (payload.length > spec.maxRequestBytes) {
    throw new MessageTooLargeError(`${what}'s request`, payload.length, spec.maxRequestBytes);
  }
  const named = peerIdOf(target);
  if (named && host.peers.isBanned(named))
    throw new PeerBannedError(`Peer ${named} is banned; ${what} was not sent.`);
  const { stream, connection } = await openStream(host, target, spec.id, d);
  const peer = connection.remotePeer;
  try {
    await writeFrame(stream, payload, d);
    await closeWrite(stream, d);
    const frame = await readFrame(stream, {
      maxBytes: spec.maxResponseBytes,
      deadline: d,
      what: `the ${spec.id} response`,
    });
    const response = decodeMessage(frame, spec.response, spec.maxResponseBytes);
    const result = check ? await check(response, peer) : (response as T);
    host.peers.success(peer.toString());
    await stream.close({ signal: d.signal }).catch(() => stream.abort(new Error('close failed')));
    return result;
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)));
    const offence = offenceOf(err);
    if (offence) host.peers.record(peer.toString(), offence);
    throw err;
  }
}

async function openStream(
  host: PeerHost,
  target: PeerTarget,
  protocol: string,
  d: Deadline,
): Promise<{ stream: Stream; connection: Connection }> {
  let connection: Connection;
  try {
    connection = await host.libp2p.dial(target, { signal: d.signal });
  } catch (cause) {
    if (d.signal.aborted) throw withCause(d.error(), cause);
    throw new PeerUnreachableError(`Cannot reach ${target.toString()} for ${protocol}.`, {
      cause,
      metaMessages: ['Check the address and that the peer is up.'],
    });
  }
  if (host.peers.isBanned(connection.remotePeer.toString())) {
    throw new PeerBannedError(`Peer ${connection.remotePeer} is banned; ${protocol} was not sent.`);
  }
  try {
    return { stream: await connection.newStream(protocol, { signal: d.signal }), connection };
  } catch (cause) {
    if (d.signal.aborted) throw withCause(d.error(), cause);
    throw new PeerUnreachableError(`Peer ${connection.remotePeer} does not serve ${protocol}.`, { cause });
  }
}

function withCause<E extends PeerTimeoutError | RequestAbortedError>(err: E, cause: unknown): E {
  Object.defineProperty(err, 'cause', { value: cause });
  return err;
}

async function closeWrite(stream: Stream, d: Deadline): Promise<void> {
  try {
    await stream.close({ signal: d.signal });
  } catch (cause) {
    if (d.signal.aborted) throw d.error();
    throw new PeerClosedError('The stream closed before the request was sent.', { cause });
  }
}

function peerIdOf(target: PeerTarget): string | undefined {
  if ('getComponents' in target) return target.getComponents().find((c) => c.name === 'p2p')?.value;
  return target.toString();
}

export interface ServeContext {
  peer: PeerId;
  signal: AbortSignal;
}

export type ServeHandler<Req extends z.ZodType, Res extends z.ZodType> = (
  request: Message<z.output<Req>>,
  context: ServeContext,
) => Promise<{ header: z.input<Res>; body?: Uint8Array }>;

export interface ServeOptions {
  /** Bound on reading the request, answering and sending the response, in ms. */
  timeoutMs?: number;
  /** Called with every failure of an inbound stream (for logs); never throws into libp2p. */
  onError?: (err: unknown, peer: PeerId) => void;
}

/** Registers a handler for a protocol. Returns the function that unregisters it. */
export async function serveProtocol<Req extends z.ZodType, Res extends z.ZodType>(
  host: PeerHost,
  spec: ProtocolSpec<Req, Res>,
  handler: ServeHandler<Req, Res>,
  options: ServeOptions = {},
): Promise<() => Promise<void>> {
  await host.libp2p.handle(
    spec.id,
    async (stream, connection) => {
      const peer = connection.remotePeer;
      if (host.peers.isBanned(peer.toString())) {
        stream.abort(new PeerBannedError(`Peer ${peer} is banned.`));
        return;
      }
      const d = deadline(options.timeoutMs ?? spec.timeoutMs, `Serving ${spec.id}`);
      try {
        const frame = await readFrame(stream, {
          maxBytes: spec.maxRequestBytes,
          deadline: d,
          what: `the ${spec.id} request`,
        });
        const request = decodeMessage(frame, spec.request, spec.maxRequestBytes);
        const response = await handler(request, { peer, signal: d.signal });
        const payload = encodeMessage(spec.response, response.header, response.body);
        if (payload.length > spec.maxResponseBytes) {
          throw new MessageTooLargeError(`The ${spec.id} response`, payload.length, spec.maxResponseBytes);
        }
        await writeFrame(stream, payload, d);
        await stream.close({ signal: d.signal });
      } catch (err) {
        stream.abort(err instanceof Error ? err : new Error(String(err)));
        const offence = offenceOf(err);
        // A slow requester is not an offence on the server side: it only spends its own time.
        if (offence && offence !== 'timeout' && offence !== 'closed')
          host.peers.record(peer.toString(), offence);
        options.onError?.(err, peer);
      }
    },
    { maxInboundStreams: spec.maxInboundStreams ?? 8, force: true },
  );
  return () => host.libp2p.unhandle(spec.id);
}
