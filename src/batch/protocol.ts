// The batch protocols (README.md): a requester's bundle of signed requests, its signature of the
// header the worker proposes, and anyone's fetch of a posted batch's contents. Each client call
// checks what it gets against what it holds (its own requests, the on-chain root) before use; each
// server checks bounds, signatures and roots before its provider sees anything.
import type { PeerId } from '@libp2p/interface';
import {
  type Account,
  type Address,
  type Chain,
  type Hex,
  recoverTypedDataAddress,
  type Transport,
  type WalletClient,
} from 'viem';
import { z } from 'zod';
import {
  buildBatchTree,
  bytesRoot,
  REQUEST_TYPES,
  requestDomain,
  requestHashOf,
} from '../chain/bindings/commitments.ts';
import type { BatchHeaderArgs } from '../chain/bindings/types.ts';
import { MessageTooLargeError, RootMismatchError } from '../p2p/errors.ts';
import type { PeerHost } from '../p2p/host.ts';
import { MAX_INPUT_BYTES, protocolId } from '../p2p/protocols.ts';
import {
  type CallOptions,
  callProtocol,
  type PeerTarget,
  type ProtocolSpec,
  type ServeOptions,
  serveProtocol,
} from '../p2p/rpc.ts';
import { address, hex32, hexBytes, index, shortText, uintString } from '../p2p/schemas.ts';
import { BatchRefusedError } from './errors.ts';
import {
  decodeLeaves,
  decodeRequests,
  encodeLeaves,
  encodeRequests,
  LEAF_RECORD_BYTES,
  type LeafWithOutput,
  REQUEST_RECORD_BYTES,
  type SignedBatchRequest,
} from './wire.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const HEADER_BYTES = 64 * KiB;

/** Bounds of a bundle; a worker may serve smaller ones (BundleServer.maxRequests). */
export const MAX_BATCH_REQUESTS = 1024;
export const MAX_BATCH_INPUT_BYTES = MAX_INPUT_BYTES;
export const MAX_BUNDLE_INPUT_BYTES = 16 * MiB;
export const MAX_BATCH_OUTPUT_BYTES = 64 * KiB;
export const MAX_BUNDLE_OUTPUT_BYTES = 4 * MiB;
/** The largest batch the market accepts (BatchMarket.MAX_BATCH_SIZE). */
const MAX_COUNT = 4096;

const signature65 = hexBytes(65).refine((s) => s.length === 132, '65 bytes');

export const headerSchema = z.object({
  requester: address,
  worker: address,
  feeToken: address,
  root: hex32,
  count: z.number().int().min(1).max(MAX_COUNT),
  totalFee: uintString(128),
  nonce: uintString(256),
  deadline: uintString(64),
});

export function headerToJson(h: BatchHeaderArgs): z.input<typeof headerSchema> {
  return {
    ...h,
    totalFee: h.totalFee.toString(),
    nonce: h.nonce.toString(),
    deadline: h.deadline.toString(),
  };
}

// ---- batch -------------------------------------------------------------------------------------

export const BATCH_REFUSALS = [
  'empty',
  'too-many-requests',
  'input-too-large',
  'bundle-too-large',
  'wrong-worker',
  'bad-signature',
  'input-mismatch',
  'bad-input',
  'duplicate',
  'unknown-model',
  'fee-too-low',
  'fee-token-not-accepted',
  'deadline-passed',
  'deposit-too-low',
  'busy',
  'not-accepting',
] as const;
export type BatchRefusal = (typeof BATCH_REFUSALS)[number];

const refusedSchema = z.object({
  accepted: z.literal(false),
  refusal: z.enum(BATCH_REFUSALS),
  index: index(2 ** 20).optional(),
  reason: shortText(256).optional(),
});

export const batchSpec = {
  id: protocolId('batch'),
  // `count` is bounded loosely here so that a bundle that is merely too long gets a named refusal.
  request: z.object({
    requester: address,
    worker: address,
    feeToken: address,
    count: z
      .number()
      .int()
      .min(0)
      .max(2 ** 20),
  }),
  response: z.discriminatedUnion('accepted', [
    z.object({ accepted: z.literal(true), proposal: headerSchema }),
    refusedSchema,
  ]),
  maxRequestBytes: HEADER_BYTES + 2 * MAX_BATCH_REQUESTS * REQUEST_RECORD_BYTES + MAX_BUNDLE_INPUT_BYTES,
  maxResponseBytes: HEADER_BYTES + MAX_BATCH_REQUESTS * LEAF_RECORD_BYTES + MAX_BUNDLE_OUTPUT_BYTES,
  // The worker runs every request before it answers.
  timeoutMs: 120_000,
  maxInboundStreams: 4,
} satisfies ProtocolSpec<z.ZodType, z.ZodType>;

export type BatchRefusalAnswer = { accepted: false; refusal: BatchRefusal; index?: number; reason?: string };
export type BatchAnswer =
  | { accepted: true; proposal: BatchHeaderArgs; leaves: LeafWithOutput[] }
  | BatchRefusalAnswer;

export interface Bundle {
  requester: Address;
  worker: Address;
  feeToken: Address;
  requests: SignedBatchRequest[];
}

/** The requester's EIP-712 signature of a request (what BatchMarket.requestHash digests). */
export function signBatchRequest(
  wallet: WalletClient<Transport, Chain, Account>,
  chainId: number,
  market: Address,
  request: SignedBatchRequest['request'],
): Promise<Hex> {
  return wallet.signTypedData({
    domain: requestDomain(chainId, market),
    types: REQUEST_TYPES,
    primaryType: 'Request',
    message: request,
  });
}

/**
 * Sends a bundle as is and returns the worker's answer. With `expect`, an accepted answer is checked
 * (checkProposal) before it is returned, so a lying worker is scored as one. The bundle is not
 * checked against the bounds here, so that tests can play a hostile requester; requestBatch checks
 * them first. `options.count` overrides the announced count (to play a lying requester).
 */
export function sendBatchBundle(
  host: PeerHost,
  target: PeerTarget,
  bundle: Bundle,
  options?: CallOptions & { count?: number },
  expect?: { chainId: number; market: Address; bundle: Bundle },
): Promise<BatchAnswer> {
  const { requester, worker, feeToken, requests } = bundle;
  return callProtocol(
    host,
    target,
    batchSpec,
    {
      header: { requester, worker, feeToken, count: options?.count ?? requests.length },
      body: encodeRequests(requests),
    },
    options,
    (r) => {
      if (!r.header.accepted) return r.header;
      const leaves = decodeLeaves(r.body, r.header.proposal.count, {
        maxOutputBytes: MAX_BATCH_OUTPUT_BYTES,
        maxTotalOutputBytes: MAX_BUNDLE_OUTPUT_BYTES,
      });
      const answer = { accepted: true as const, proposal: r.header.proposal, leaves };
      if (expect) checkProposal(expect, answer);
      return answer;
    },
  );
}

/** A request of a bundle whose signature, worker, input root and nonce have been checked. */
export interface CheckedRequest extends SignedBatchRequest {
  requestHash: Hex;
}

export interface BundleServer {
  chainId: number;
  market: Address;
  /** The worker address every request must name. */
  worker: Address;
  /** At most MAX_BATCH_REQUESTS. */
  maxRequests?: number;
  /** Called only for a bundle whose every request is signed by its requester for this worker. */
  decide(
    bundle: { requester: Address; feeToken: Address; requests: CheckedRequest[] },
    peer: PeerId,
    signal: AbortSignal,
  ): Promise<BatchAnswer>;
}

function refuse(refusal: BatchRefusal, reason: string, at?: number): { header: BatchRefusalAnswer } {
  return { header: { accepted: false, refusal, reason, ...(at === undefined ? {} : { index: at }) } };
}

export function serveBatchBundles(host: PeerHost, server: BundleServer, options?: ServeOptions) {
  const max = Math.min(server.maxRequests ?? MAX_BATCH_REQUESTS, MAX_BATCH_REQUESTS);
  return serveProtocol(
    host,
    batchSpec,
    async ({ header, body }, { peer, signal }) => {
      if (header.count === 0) return refuse('empty', 'a bundle holds at least one request');
      if (header.count > max) return refuse('too-many-requests', `at most ${max} requests per bundle`);
      if (header.worker !== server.worker) return refuse('wrong-worker', `this worker is ${server.worker}`);
      let requests: SignedBatchRequest[];
      try {
        requests = decodeRequests(body, header.count, header, {
          maxInputBytes: MAX_BATCH_INPUT_BYTES,
          maxTotalInputBytes: MAX_BUNDLE_INPUT_BYTES,
        });
      } catch (err) {
        if (!(err instanceof MessageTooLargeError)) throw err;
        const at = /input (\d+)/.exec(err.message);
        return at
          ? refuse('input-too-large', `above ${MAX_BATCH_INPUT_BYTES} bytes`, Number(at[1]))
          : refuse('bundle-too-large', `inputs above ${MAX_BUNDLE_INPUT_BYTES} bytes in all`);
      }
      const checked: CheckedRequest[] = [];
      const nonces = new Set<bigint>();
      const domain = requestDomain(server.chainId, server.market);
      for (const [i, item] of requests.entries()) {
        const signer = await recoverTypedDataAddress({
          domain,
          types: REQUEST_TYPES,
          primaryType: 'Request',
          message: item.request,
          signature: item.signature,
        }).catch(() => undefined);
        if (signer !== header.requester) return refuse('bad-signature', 'not the requester’s signature', i);
        if (bytesRoot(item.input) !== item.request.inputRoot) {
          // The requester signed one input and sent another: a lie, not a mistake of ours.
          host.peers.record(peer.toString(), 'wrong-data');
          return refuse('input-mismatch', 'the input does not hash to request.inputRoot', i);
        }
        if (nonces.has(item.request.nonce)) return refuse('duplicate', 'a nonce appears twice', i);
        nonces.add(item.request.nonce);
        checked.push({ ...item, requestHash: requestHashOf(server.chainId, server.market, item.request) });
      }
      const answer = await server.decide(
        { requester: header.requester, feeToken: header.feeToken, requests: checked },
        peer,
        signal,
      );
      if (!answer.accepted) return { header: answer };
      return {
        header: { accepted: true as const, proposal: headerToJson(answer.proposal) },
        body: encodeLeaves(answer.leaves),
      };
    },
    options,
  );
}

/**
 * The requester's check of a proposal before it signs: one leaf per request in order, each naming
 * the request's own hash and fee and an output that hashes to its outputRoot, and a header naming
 * these parties, the root of exactly these leaves, their count and their total fee. A worker that
 * fails it lied (RootMismatchError).
 */
export function checkProposal(
  expected: { chainId: number; market: Address; bundle: Bundle },
  answer: { proposal: BatchHeaderArgs; leaves: LeafWithOutput[] },
): void {
  const { chainId, market, bundle } = expected;
  const { proposal, leaves } = answer;
  const lie = (what: string) => new RootMismatchError(`The worker's proposal ${what}; it was not signed.`);
  if (leaves.length !== bundle.requests.length)
    throw lie(`has ${leaves.length} leaves for ${bundle.requests.length} requests`);
  let total = 0n;
  for (const [i, { leaf, output }] of leaves.entries()) {
    const request = bundle.requests[i].request;
    if (leaf.requestHash !== requestHashOf(chainId, market, request))
      throw lie(`leaf ${i} names another request`);
    if (leaf.fee !== request.fee) throw lie(`leaf ${i} charges ${leaf.fee}, not the signed ${request.fee}`);
    if (bytesRoot(output) !== leaf.outputRoot)
      throw lie(`output ${i} does not hash to its leaf's outputRoot`);
    total += leaf.fee;
  }
  if (
    proposal.requester !== bundle.requester ||
    proposal.worker !== bundle.worker ||
    proposal.feeToken !== bundle.feeToken
  )
    throw lie('names other parties');
  if (proposal.count !== leaves.length) throw lie(`counts ${proposal.count} leaves, not ${leaves.length}`);
  if (proposal.totalFee !== total) throw lie(`charges ${proposal.totalFee}, not the leaves' ${total}`);
  if (proposal.root !== buildBatchTree(leaves.map((l) => l.leaf)).root)
    throw lie('has a root that is not its leaves’');
}

// ---- batch-sign --------------------------------------------------------------------------------

export const SIGN_REFUSALS = ['unknown-proposal', 'bad-signature', 'expired', 'post-failed'] as const;
export type SignRefusal = (typeof SIGN_REFUSALS)[number];

export const batchSignSpec = {
  id: protocolId('batch-sign'),
  request: z.object({ header: headerSchema, signature: signature65 }),
  response: z.discriminatedUnion('posted', [
    z.object({ posted: z.literal(true), batchId: uintString(64), transactionHash: hex32 }),
    z.object({ posted: z.literal(false), refusal: z.enum(SIGN_REFUSALS), reason: shortText(256).optional() }),
  ]),
  maxRequestBytes: 4 * KiB,
  maxResponseBytes: 1 * KiB,
  // The worker answers once postBatch is mined.
  timeoutMs: 120_000,
} satisfies ProtocolSpec<z.ZodType, z.ZodType>;

export type SignAnswer =
  | { posted: true; batchId: bigint; transactionHash: Hex }
  | { posted: false; refusal: SignRefusal; reason?: string };

/** Sends the requester's signature of a proposed header; the worker posts it. */
export async function sendHeaderSignature(
  host: PeerHost,
  target: PeerTarget,
  header: BatchHeaderArgs,
  signature: Hex,
  options?: CallOptions,
): Promise<{ batchId: bigint; transactionHash: Hex }> {
  const answer: SignAnswer = await callProtocol(
    host,
    target,
    batchSignSpec,
    { header: { header: headerToJson(header), signature } },
    options,
    (r) => r.header,
  );
  if (!answer.posted) throw new BatchRefusedError(answer.refusal, answer.reason);
  return answer;
}

export function serveHeaderSignatures(
  host: PeerHost,
  post: (header: BatchHeaderArgs, signature: Hex, peer: PeerId) => Promise<SignAnswer>,
  options?: ServeOptions,
) {
  return serveProtocol(
    host,
    batchSignSpec,
    async ({ header }, { peer }) => {
      const answer = await post(header.header, header.signature, peer);
      return { header: answer.posted ? { ...answer, batchId: answer.batchId.toString() } : answer };
    },
    options,
  );
}
