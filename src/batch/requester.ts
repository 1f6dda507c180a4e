// The requester's side of a batch: fund the deposit, sign each request, send the bundle, check the
// worker's proposal against its own requests, sign the header (its consent to pay), and confirm on
// chain that the batch the worker posted is that header.
import { randomBytes } from 'node:crypto';
import {
  type Account,
  type Address,
  type Chain,
  getAddress,
  getContract,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from 'viem';
import { bytesRoot, HEADER_TYPES, requestDomain } from '../chain/bindings/commitments.ts';
import { type BatchHeaderArgs, NATIVE, type RequestArgs } from '../chain/bindings/types.ts';
import { abis, bindVerinfer, type VerinferAddresses } from '../chain/deployVerinfer.ts';
import type { PeerHost } from '../p2p/host.ts';
import type { CallOptions, PeerTarget } from '../p2p/rpc.ts';
import { BatchBoundsError, BatchRefusedError, BatchStateError } from './errors.ts';
import {
  type Bundle,
  MAX_BATCH_INPUT_BYTES,
  MAX_BATCH_REQUESTS,
  MAX_BUNDLE_INPUT_BYTES,
  sendBatchBundle,
  sendHeaderSignature,
  signBatchRequest,
} from './protocol.ts';
import type { LeafWithOutput, SignedBatchRequest } from './wire.ts';

type Wallet = WalletClient<Transport, Chain, Account>;

export interface RequestBatchParameters {
  host: PeerHost;
  /** The worker's peer (a PeerId it is connected to, or its multiaddr). */
  worker: PeerTarget;
  /** The worker's agent address: every request names it as the payee. */
  workerAddress: Address;
  wallet: Wallet;
  publicClient: PublicClient<Transport, Chain>;
  addresses: VerinferAddresses;
  requests: readonly { modelRoot: Hex; input: Uint8Array }[];
  /** The fee of each request. */
  fee: bigint;
  feeToken?: Address;
  /** Seconds each request stays valid (default 3600). */
  validForSeconds?: bigint;
  /** Deposits the shortfall before sending (default true; the native currency only). */
  deposit?: boolean;
  call?: CallOptions;
}

export interface RequestBatchReturnType {
  batchId: bigint;
  header: BatchHeaderArgs;
  transactionHash: Hex;
  requests: SignedBatchRequest[];
  /** Per request, in order: its leaf and the output it commits to (checked against the leaf). */
  leaves: LeafWithOutput[];
}

/** Checks the bundle against the protocol's bounds before anything is signed or sent. */
function checkBounds(requests: RequestBatchParameters['requests']): void {
  if (requests.length === 0) throw new BatchBoundsError('A batch needs at least one request.');
  if (requests.length > MAX_BATCH_REQUESTS) {
    throw new BatchBoundsError(
      `A bundle holds at most ${MAX_BATCH_REQUESTS} requests, not ${requests.length}; split it into several batches.`,
    );
  }
  let total = 0;
  for (const [i, r] of requests.entries()) {
    if (r.input.length > MAX_BATCH_INPUT_BYTES)
      throw new BatchBoundsError(
        `Input ${i} is ${r.input.length} bytes; the bound is ${MAX_BATCH_INPUT_BYTES}.`,
      );
    total += r.input.length;
  }
  if (total > MAX_BUNDLE_INPUT_BYTES)
    throw new BatchBoundsError(
      `The inputs are ${total} bytes in all; the bound is ${MAX_BUNDLE_INPUT_BYTES}. Split the batch.`,
    );
}

export async function requestBatch(params: RequestBatchParameters): Promise<RequestBatchReturnType> {
  const { host, worker, wallet, publicClient, addresses } = params;
  checkBounds(params.requests);
  const me = getAddress(wallet.account.address);
  const workerAddress = getAddress(params.workerAddress);
  const chainId = wallet.chain.id;
  const market = addresses.batchMarket;
  const feeToken = params.feeToken ?? NATIVE;
  const c = bindVerinfer(addresses, publicClient, wallet);
  const total = params.fee * BigInt(params.requests.length);
  if (params.deposit !== false) {
    const { available } = await c.batchMarket.read.deposits([feeToken, me]);
    if (available < total) {
      const amount = total - available;
      const hash = await c.batchMarket.write.deposit([feeToken, amount], {
        value: feeToken === NATIVE ? amount : 0n,
      });
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== 'success') throw new BatchStateError(`The deposit of ${amount} reverted.`);
    }
  }
  const now = (await publicClient.getBlock()).timestamp;
  const deadline = now + (params.validForSeconds ?? 3600n);
  // Random nonces: a request is never the same twice, so no worker can charge one twice.
  const base = BigInt(`0x${randomBytes(16).toString('hex')}`) << 16n;
  const requests: SignedBatchRequest[] = [];
  for (const [i, r] of params.requests.entries()) {
    const request: RequestArgs = {
      requester: me,
      worker: workerAddress,
      modelRoot: r.modelRoot,
      inputRoot: bytesRoot(r.input),
      feeToken,
      fee: params.fee,
      nonce: base + BigInt(i),
      deadline,
    };
    requests.push({
      request,
      signature: await signBatchRequest(wallet, chainId, market, request),
      input: r.input,
    });
  }
  const bundle: Bundle = { requester: me, worker: workerAddress, feeToken, requests };
  const answer = await sendBatchBundle(host, worker, bundle, params.call, { chainId, market, bundle });
  if (!answer.accepted) throw new BatchRefusedError(answer.refusal, answer.reason, answer.index);
  const header = answer.proposal;
  const signature = await wallet.signTypedData({
    domain: requestDomain(chainId, market),
    types: HEADER_TYPES,
    primaryType: 'BatchHeader',
    message: header,
  });
  const { batchId, transactionHash } = await sendHeaderSignature(
    host,
    worker,
    header,
    signature,
    params.call,
  );
  // The worker's word is not enough: the chain must hold this very header.
  const b = await c.batchMarket.read.batch([batchId]);
  if (b.status === 0 || b.root !== header.root || b.requester !== me || b.totalFee !== header.totalFee) {
    throw new BatchStateError(`Batch ${batchId} on chain is not the header this requester signed.`);
  }
  return { batchId, header, transactionHash, requests, leaves: answer.leaves };
}

export const BATCH_STATUS = { none: 0, posted: 1, finalized: 2, convicted: 3 } as const;

/** Waits until batch `batchId` is finalized or convicted and returns which (2 or 3). */
export async function waitForBatchFinality(params: {
  publicClient: PublicClient<Transport, Chain>;
  addresses: VerinferAddresses;
  batchId: bigint;
  timeoutMs?: number;
  pollIntervalMs?: number;
  signal?: AbortSignal;
}): Promise<2 | 3> {
  const { publicClient, addresses, batchId } = params;
  const timeoutMs = params.timeoutMs ?? 600_000;
  const until = Date.now() + timeoutMs;
  const market = getContract({ address: addresses.batchMarket, abi: abis.batchMarket, client: publicClient });
  for (;;) {
    const { status } = await market.read.batch([batchId]);
    if (status === 2 || status === 3) return status;
    if (status === 0) throw new BatchStateError(`Batch ${batchId} was never posted.`);
    if (Date.now() > until || params.signal?.aborted) {
      throw new BatchStateError(`Batch ${batchId} was still open after ${timeoutMs} ms.`, {
        metaMessages: ['Its challenge window may not be over yet, or a claim on it is still open.'],
      });
    }
    await new Promise((r) => setTimeout(r, params.pollIntervalMs ?? 250));
  }
}
