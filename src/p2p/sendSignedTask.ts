// The requester's side of a signed task: sign the task for one worker (EIP-712 SignedTask) and send
// it with its input over /verinfer/signed-request. No transaction is sent: the worker posts it with
// TaskMarket.postSigned and the fee comes out of the requester's market balance, so the requester
// must have deposited at least the fee first (TaskMarket.deposit(feeToken, amount)).
import { type Address, getAddress, type Hex, type LocalAccount } from 'viem';
import { bytesRoot, taskIdOf } from '../chain/bindings/commitments.ts';
import type { TaskArgs } from '../chain/bindings/types.ts';
import { fromHex } from '../commit/keccak.ts';
import { VerinferError } from '../errors/base.ts';
import { MessageTooLargeError } from './errors.ts';
import type { PeerHost } from './host.ts';
import { parseEndpoint, sayHello, signPeerBinding } from './identity.ts';
import { MAX_INPUT_BYTES, type SignedRequestRefusal, sendSignedRequest, signTask } from './protocols.ts';
import type { CallOptions } from './rpc.ts';

/** The worker refused the signed task; `refusal` is one of SIGNED_REQUEST_REFUSALS. */
export class SignedTaskRefusedError extends VerinferError {
  override name = 'SignedTaskRefusedError' as const;
  readonly refusal: SignedRequestRefusal;
  readonly reason?: string;
  constructor(refusal: SignedRequestRefusal, reason: string | undefined, worker: Address) {
    super(`Worker ${worker} refused the signed task: ${refusal}${reason ? ` (${reason})` : ''}.`, {
      metaMessages: [HINTS[refusal]],
    });
    this.refusal = refusal;
    this.reason = reason;
  }
}

/** A task that cannot be sent as it is (checked before anything goes on the wire). */
export class SignedTaskError extends VerinferError {
  override name = 'SignedTaskError' as const;
}

const HINTS: Record<SignedRequestRefusal, string> = {
  'bad-signature': 'Sign the task for this worker with the account named as its requester.',
  'input-mismatch': "Send the input whose root is the task's inputRoot, in the model's input layout.",
  'input-too-large': `Inputs sent to a peer are at most ${MAX_INPUT_BYTES} bytes.`,
  'unknown-model': 'Pick a worker that serves the model (AgentRegistry.agentInfo lists its models).',
  'fee-too-low': 'Deposit at least the fee in the TaskMarket (deposit) before sending.',
  'deadline-passed': 'Give the task a later takeDeadline.',
  duplicate: 'The task exists already; change its salt to send another.',
  busy: 'The worker is busy; try again later or try another worker.',
  'not-accepting': 'The worker does not take signed tasks now; try another worker.',
};

export interface SendSignedTaskParameters {
  /** The requester's libp2p host (createPeerHost). */
  host: PeerHost;
  /** The worker's AgentRegistry endpoint: /ip4|ip6|dns…/<host>/tcp/<port>/p2p/<peerId>. */
  workerEndpoint: string;
  /** The requester: it signs the task, and `task.requester` must be its address. */
  account: LocalAccount;
  deployment: { chainId: number; addresses: { taskMarket: Address; agentRegistry: Address } };
  task: TaskArgs;
  /** The committed input bytes (tensorRoot(input) = task.inputRoot). */
  input: Uint8Array | Hex;
  /**
   * The worker's agent address, which the signature names. Without it, it is learned from the
   * worker's peer binding (the hello protocol), checked against the PeerId Noise authenticated.
   */
  worker?: Address;
  options?: CallOptions;
}

export interface SendSignedTaskReturnType {
  taskId: Hex;
  worker: Address;
  signature: Hex;
}

/**
 * Signs `task` for the worker at `workerEndpoint` and sends it with its input. Resolves once the
 * worker has queued it (it posts it on a later block); throws SignedTaskRefusedError with the
 * worker's named refusal otherwise, and the p2p errors (PeerTimeoutError, PeerUnreachableError, …)
 * when the worker cannot be reached.
 */
export async function sendSignedTask(
  parameters: SendSignedTaskParameters,
): Promise<SendSignedTaskReturnType> {
  const { host, account, deployment, task } = parameters;
  const input = typeof parameters.input === 'string' ? fromHex(parameters.input) : parameters.input;
  if (getAddress(task.requester) !== getAddress(account.address))
    throw new SignedTaskError(`task.requester is ${task.requester}, but the signer is ${account.address}.`);
  if (input.length > MAX_INPUT_BYTES)
    throw new MessageTooLargeError('The input', input.length, MAX_INPUT_BYTES);
  if (bytesRoot(input) !== task.inputRoot.toLowerCase())
    throw new SignedTaskError("The input's root is not task.inputRoot; it would be refused.");
  const { multiaddr } = parseEndpoint(parameters.workerEndpoint);
  const context = { chainId: deployment.chainId, registry: deployment.addresses.agentRegistry };
  const worker =
    parameters.worker ??
    (await sayHello(
      host,
      multiaddr,
      { ...context, binding: await signPeerBinding(account, host.peerId, context) },
      parameters.options,
    ));
  const signature = await signTask(account, {
    chainId: deployment.chainId,
    market: deployment.addresses.taskMarket,
    task,
    worker,
  });
  const answer = await sendSignedRequest(host, multiaddr, { task, signature, input }, parameters.options);
  if (!answer.accepted) throw new SignedTaskRefusedError(answer.refusal, answer.reason, getAddress(worker));
  const taskId = taskIdOf(deployment.chainId, deployment.addresses.taskMarket, task);
  if (answer.taskId.toLowerCase() !== taskId.toLowerCase())
    throw new SignedTaskError(`The worker answered task ${answer.taskId}, not ${taskId}.`);
  return { taskId, worker: getAddress(worker), signature };
}
