// Framing and encoding of request/response messages.
//
// A stream carries exactly one request frame, then one response frame:
//   frame    = uvarint(n) ‖ message            (n = message length, minimal LEB128, bounded per protocol)
//   message  = version (1 byte, = 1) ‖ uint32be(H) ‖ header (H bytes of UTF-8 JSON) ‖ body (the rest)
// The header is small JSON validated by a zod schema; payloads (inputs, model packages, chunks) travel
// raw in the body, so a 64 MiB model package is not doubled by hex. The length prefix is checked
// against the bound before a single byte of the message is buffered, so an oversized message costs
// the reader only its prefix.
import type { MessageStream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface';
import type { z } from 'zod';
import {
  MalformedMessageError,
  MessageTooLargeError,
  PeerClosedError,
  PeerTimeoutError,
  RequestAbortedError,
} from './errors.ts';

export const MESSAGE_VERSION = 1;
/** Bound on any message's JSON header, whatever the protocol. */
export const MAX_HEADER_BYTES = 64 * 1024;
const ENVELOPE_BYTES = 5;
/** Pieces handed to the muxer, so back-pressure applies within one large frame. */
const SEND_PIECE_BYTES = 64 * 1024;

export interface Message<H> {
  header: H;
  body: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Encodes a header (validated by `schema`, so nothing malformed leaves this node) and a body. */
export function encodeMessage<S extends z.ZodType>(
  schema: S,
  header: z.input<S>,
  body: Uint8Array = new Uint8Array(),
): Uint8Array {
  const checked = schema.safeParse(header);
  if (!checked.success) {
    throw new MalformedMessageError('Refusing to send a message whose header breaks its schema.', {
      details: summarizeIssues(checked.error),
    });
  }
  const json = encoder.encode(JSON.stringify(header));
  if (json.length > MAX_HEADER_BYTES)
    throw new MessageTooLargeError('A header', json.length, MAX_HEADER_BYTES);
  const out = new Uint8Array(ENVELOPE_BYTES + json.length + body.length);
  out[0] = MESSAGE_VERSION;
  new DataView(out.buffer).setUint32(1, json.length);
  out.set(json, ENVELOPE_BYTES);
  out.set(body, ENVELOPE_BYTES + json.length);
  return out;
}

/** Decodes and validates a message. Throws only MalformedMessageError or MessageTooLargeError. */
export function decodeMessage<S extends z.ZodType>(
  bytes: Uint8Array,
  schema: S,
  maxBodyBytes: number,
): Message<z.output<S>> {
  if (bytes.length < ENVELOPE_BYTES) {
    throw new MalformedMessageError(
      `A message of ${bytes.length} bytes is shorter than its 5-byte envelope.`,
    );
  }
  if (bytes[0] !== MESSAGE_VERSION) {
    throw new MalformedMessageError(`Message version ${bytes[0]} is not supported; this node speaks 1.`);
  }
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1);
  if (headerLength > MAX_HEADER_BYTES)
    throw new MessageTooLargeError('A header', headerLength, MAX_HEADER_BYTES);
  if (ENVELOPE_BYTES + headerLength > bytes.length) {
    throw new MalformedMessageError(
      `The header claims ${headerLength} bytes but only ${bytes.length - ENVELOPE_BYTES} follow.`,
    );
  }
  const bodyLength = bytes.length - ENVELOPE_BYTES - headerLength;
  if (bodyLength > maxBodyBytes) throw new MessageTooLargeError('A body', bodyLength, maxBodyBytes);
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(bytes.subarray(ENVELOPE_BYTES, ENVELOPE_BYTES + headerLength)));
  } catch (cause) {
    // Bad UTF-8, bad JSON, or JSON nested deep enough to exhaust the stack.
    throw new MalformedMessageError('The message header is not UTF-8 JSON.', { cause });
  }
  const checked = schema.safeParse(parsed);
  if (!checked.success) {
    throw new MalformedMessageError('The message header breaks the protocol schema.', {
      details: summarizeIssues(checked.error),
    });
  }
  return { header: checked.data, body: bytes.subarray(ENVELOPE_BYTES + headerLength) };
}

function summarizeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

/** The minimal unsigned LEB128 encoding of `n`. */
export function encodeVarint(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${n} is not a length.`);
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}

function varintLength(n: number): number {
  return encodeVarint(n).length;
}

/**
 * Incremental parser of one frame. `push` returns the message once complete; it throws
 * MessageTooLargeError as soon as the prefix exceeds the bound and MalformedMessageError for a bad
 * prefix. Bytes after the frame are ignored: the protocol has one message per direction.
 */
export class FrameReader {
  readonly maxBytes: number;
  readonly what: string;
  #prefix = 0;
  #prefixBytes = 0;
  #length = -1;
  #chunks: Uint8Array[] = [];
  #received = 0;
  #done = false;

  constructor(maxBytes: number, what = 'A message') {
    this.maxBytes = maxBytes;
    this.what = what;
  }

  get started(): boolean {
    return this.#prefixBytes > 0;
  }

  push(chunk: Uint8Array): Uint8Array | undefined {
    if (this.#done) return undefined;
    let offset = 0;
    while (this.#length < 0 && offset < chunk.length) {
      const byte = chunk[offset++];
      this.#prefix += (byte & 0x7f) * 0x80 ** this.#prefixBytes;
      this.#prefixBytes += 1;
      if (byte & 0x80) {
        if (this.#prefixBytes >= varintLength(this.maxBytes)) {
          // One more byte could only announce a length above the bound.
          throw new MessageTooLargeError(this.what, this.#prefix + 0x80 ** this.#prefixBytes, this.maxBytes);
        }
        continue;
      }
      if (byte === 0 && this.#prefixBytes > 1) {
        throw new MalformedMessageError('The length prefix is not minimally encoded.');
      }
      if (this.#prefix > this.maxBytes)
        throw new MessageTooLargeError(this.what, this.#prefix, this.maxBytes);
      this.#length = this.#prefix;
    }
    if (this.#length < 0) return undefined;
    const take = Math.min(chunk.length - offset, this.#length - this.#received);
    if (take > 0) {
      this.#chunks.push(chunk.subarray(offset, offset + take));
      this.#received += take;
    }
    if (this.#received < this.#length) return undefined;
    this.#done = true;
    const out = new Uint8Array(this.#length);
    let at = 0;
    for (const c of this.#chunks) {
      out.set(c, at);
      at += c.length;
    }
    this.#chunks = [];
    return out;
  }
}

/** A deadline for one call: the caller's signal combined with a timeout, and the error each raises. */
export interface Deadline {
  signal: AbortSignal;
  /** The typed error for an abort (PeerTimeoutError or RequestAbortedError). */
  error(): PeerTimeoutError | RequestAbortedError;
}

export function deadline(timeoutMs: number, what: string, signal?: AbortSignal): Deadline {
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([timeout, signal]) : timeout;
  return {
    signal: combined,
    error: () =>
      signal?.aborted && !timeout.aborted
        ? new RequestAbortedError(`${what} was aborted by the caller.`, { cause: signal.reason })
        : new PeerTimeoutError(`${what} did not complete within ${timeoutMs} ms.`, {
            metaMessages: ['The peer is slow, overloaded or unresponsive; try another peer.'],
          }),
  };
}

function chunksOf(data: StreamMessageEvent['data']): Iterable<Uint8Array> {
  // A Uint8ArrayList iterates over its Uint8Array pieces.
  return data instanceof Uint8Array ? [data] : data;
}

/** Reads one frame from a stream, bounded in size and in time. */
export function readFrame(
  stream: MessageStream,
  options: { maxBytes: number; deadline: Deadline; what?: string },
): Promise<Uint8Array> {
  const { deadline: d } = options;
  const reader = new FrameReader(options.maxBytes, options.what);
  return new Promise<Uint8Array>((resolve, reject) => {
    const finish = (err: Error | undefined, frame?: Uint8Array) => {
      stream.removeEventListener('message', onMessage);
      stream.removeEventListener('end', onEnd);
      stream.removeEventListener('close', onClose);
      d.signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(frame!);
    };
    const onMessage = (evt: StreamMessageEvent) => {
      try {
        for (const chunk of chunksOf(evt.data)) {
          const frame = reader.push(chunk);
          if (frame) return finish(undefined, frame);
        }
      } catch (err) {
        finish(err as Error);
      }
    };
    const closed = (cause?: unknown) =>
      finish(
        new PeerClosedError(
          reader.started
            ? `The peer closed the stream in the middle of ${options.what ?? 'a message'}.`
            : `The peer closed the stream without sending ${options.what ?? 'a message'}.`,
          { cause, metaMessages: ['It may have refused the request as malformed, or gone away.'] },
        ),
      );
    const onEnd = () => closed();
    const onClose = (evt: StreamCloseEvent) => closed(evt.error);
    const onAbort = () => finish(d.error());
    if (d.signal.aborted) return onAbort();
    d.signal.addEventListener('abort', onAbort);
    stream.addEventListener('end', onEnd);
    stream.addEventListener('close', onClose);
    // Attaching the listener dispatches any bytes the stream buffered before it.
    stream.addEventListener('message', onMessage);
    if (stream.status !== 'open' && stream.readBufferLength === 0) closed();
  });
}

/** Writes one frame, waiting for the muxer to drain between pieces. */
export async function writeFrame(stream: MessageStream, message: Uint8Array, d: Deadline): Promise<void> {
  const prefix = encodeVarint(message.length);
  try {
    if (!stream.send(prefix)) await stream.onDrain({ signal: d.signal });
    for (let at = 0; at < message.length; at += SEND_PIECE_BYTES) {
      if (!stream.send(message.subarray(at, at + SEND_PIECE_BYTES)))
        await stream.onDrain({ signal: d.signal });
    }
  } catch (cause) {
    if (d.signal.aborted) throw d.error();
    throw new PeerClosedError('The stream closed while a message was being sent.', { cause });
  }
}
