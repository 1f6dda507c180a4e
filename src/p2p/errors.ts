// One error class per way a peer or a peer's message can fail us. Every remote failure is one of
// these, so a caller can tell a slow peer from a lying one and score it (see peers.ts).
import { VerinferError } from '../errors/base.ts';

/** A message whose announced or actual size is above the protocol's bound. It was not read in full. */
export class MessageTooLargeError extends VerinferError {
  override name = 'MessageTooLargeError' as const;
  readonly size: number;
  readonly limit: number;
  constructor(what: string, size: number, limit: number) {
    super(`${what} is ${size} bytes, above the limit of ${limit} bytes; it was refused unread.`, {
      metaMessages: ['The peer is misbehaving or runs an incompatible protocol version.'],
    });
    this.size = size;
    this.limit = limit;
  }
}

/** Bytes that do not decode, or decode to something the protocol's schema refuses. */
export class MalformedMessageError extends VerinferError {
  override name = 'MalformedMessageError' as const;
}

/** The peer did not answer (or did not finish answering) within the call's time bound. */
export class PeerTimeoutError extends VerinferError {
  override name = 'PeerTimeoutError' as const;
}

/** The peer closed or reset the stream before a complete message arrived. */
export class PeerClosedError extends VerinferError {
  override name = 'PeerClosedError' as const;
}

/** The caller aborted the call through its AbortSignal. */
export class RequestAbortedError extends VerinferError {
  override name = 'RequestAbortedError' as const;
}

/** The peer could not be dialled, or does not speak the protocol. */
export class PeerUnreachableError extends VerinferError {
  override name = 'PeerUnreachableError' as const;
}

/** The peer is on the local ban list (peers.ts); nothing is sent to it or accepted from it. */
export class PeerBannedError extends VerinferError {
  override name = 'PeerBannedError' as const;
}

/** The peer sent well-formed data that does not hash to the root it was asked for: it lied. */
export class RootMismatchError extends VerinferError {
  override name = 'RootMismatchError' as const;
}

/** The peer answered that it does not hold what was asked for. */
export class ContentNotFoundError extends VerinferError {
  override name = 'ContentNotFoundError' as const;
}

/** An AgentRegistry endpoint string that is not a dialable `/ip4|ip6|dns…/tcp/<port>/p2p/<peerId>`. */
export class EndpointError extends VerinferError {
  override name = 'EndpointError' as const;
}

/** A PeerId ↔ agent address binding whose signature does not hold. */
export class PeerBindingError extends VerinferError {
  override name = 'PeerBindingError' as const;
}

/** Errors that mean the peer misbehaved (as opposed to being slow or away). */
export type PeerFaultError = MessageTooLargeError | MalformedMessageError | RootMismatchError;
