// The batch layer's own failures. Peer failures (oversized, malformed, lying, slow) are the typed
// errors of src/p2p/errors.ts; these are the answers and states a well-behaved peer can give.
import { VerinferError } from '../errors/base.ts';

/** The worker answered a bundle or a header with a named refusal; nothing was posted. */
export class BatchRefusedError extends VerinferError {
  override name = 'BatchRefusedError' as const;
  readonly refusal: string;
  /** The request of the bundle the refusal is about, when it is about one. */
  readonly index?: number;
  constructor(refusal: string, reason: string | undefined, index?: number) {
    super(
      `The worker refused the batch: ${refusal}${index === undefined ? '' : ` (request ${index})`}${reason ? `: ${reason}` : ''}.`,
      { metaMessages: ['Fix the named request (or the bundle) and send it again, or use another worker.'] },
    );
    this.refusal = refusal;
    this.index = index;
  }
}

/** A bundle that breaks the protocol's bounds before it is sent (the worker would refuse it). */
export class BatchBoundsError extends VerinferError {
  override name = 'BatchBoundsError' as const;
}

/** The batch did not reach the state waited for (posted, finalized) before the deadline. */
export class BatchStateError extends VerinferError {
  override name = 'BatchStateError' as const;
}

/** A game resumed after a restart needs a model this node no longer serves (`what`: "game 5"). */
export function unservedModel(what: string, modelRoot: string): BatchStateError {
  return new BatchStateError(
    `The ${what} needs model ${modelRoot}, which this node does not serve. Serve the model again and restart, or its game is lost on time.`,
  );
}
