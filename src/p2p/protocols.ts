// The request/response protocols of a Verinfer node. Each client call checks what it gets against
// the root it asked for, so a lying peer is caught on arrival; each server takes an injected provider,
// so the node alone decides what it serves.
import type { PeerId } from '@libp2p/interface';
import { type Address, type Hex, type LocalAccount, recoverTypedDataAddress } from 'viem';
import { z } from 'zod';
import { bytesRoot, SIGNED_TASK_TYPES, signedTaskDomain, taskIdOf } from '../chain/bindings/commitments.ts';
import type { TaskArgs } from '../chain/bindings/types.ts';
import { fromHex, toHex } from '../commit/keccak.ts';
import { modelRoot } from '../commit/modelRoot.ts';
import { CHUNK_BYTES, type ChunkProof, verifyChunkProof } from '../commit/tensorRoot.ts';
import { decodeModel, encodeModel } from '../engine/format.ts';
import type { Model } from '../engine/graph.ts';
import {
  ContentNotFoundError,
  MalformedMessageError,
  MessageTooLargeError,
  RootMismatchError,
} from './errors.ts';
import type { PeerHost } from './host.ts';
import {
  type CallOptions,
  callProtocol,
  type PeerTarget,
  type ProtocolSpec,
  type ServeOptions,
  serveProtocol,
} from './rpc.ts';
import { hex32, hexBytes, index, shortText, taskFromJson, taskSchema, taskToJson } from './schemas.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

export const protocolId = (name: string) => `/verinfer/${name}/1.0.0`;

/** Payload bounds; a message is its payload plus a header of at most MAX_HEADER_BYTES. */
export const MAX_INPUT_BYTES = 1 * MiB;
export const MAX_MODEL_PACKAGE_BYTES = 64 * MiB;
export const MAX_SIGNED_REQUEST_HEADER_BYTES = 64 * KiB;
export const MAX_TRACE_CHUNK_MESSAGE_BYTES = 16 * KiB;
const SMALL = 1 * KiB;
const MAX_PROOF_DEPTH = 48;

const found = z.object({ found: z.literal(true) });
const notFound = z.object({ found: z.literal(false) });

// ---- signed-request ---------------------------------------------------------------------------

export const SIGNED_REQUEST_REFUSALS = [
  'bad-signature',
  'input-mismatch',
  'input-too-large',
  'unknown-model',
  'fee-too-low',
  'deadline-passed',
  'duplicate',
  'busy',
  'not-accepting',
] as const;
export type SignedRequestRefusal = (typeof SIGNED_REQUEST_REFUSALS)[number];

export const signedRequestSpec = {
  id: protocolId('signed-request'),
  request: z.object({
    task: taskSchema,
    signature: hexBytes(65).refine((s) => s.length === 132, '65 bytes'),
  }),
  response: z.discriminatedUnion('accepted', [
    z.object({ accepted: z.literal(true), taskId: hex32 }),
    z.object({
      accepted: z.literal(false),
      refusal: z.enum(SIGNED_REQUEST_REFUSALS),
      reason: shortText(256).optional(),
    }),
  ]),
  maxRequestBytes: MAX_SIGNED_REQUEST_HEADER_BYTES + MAX_INPUT_BYTES,
  maxResponseBytes: SMALL,
  timeoutMs: 15_000,
} satisfies ProtocolSpec<z.ZodType, z.ZodType>;

export type SignedRequestAnswer =
  | { accepted: true; taskId: Hex }
  | { accepted: false; refusal: SignedRequestRefusal; reason?: string };

export interface SignedRequest {
  task: TaskArgs;
  /** The requester's EIP-712 SignedTask signature naming this worker. */
  signature: Hex;
  /** The committed input bytes; tensorRoot(input) must be task.inputRoot. */
  input: Uint8Array;
}

/** The requester's signature that lets `worker` post `task` (TaskMarket.postSigned). */
export function signTask(
  account: LocalAccount,
  params: { chainId: number; market: Address; task: TaskArgs; worker: Address },
): Promise<Hex> {
  return account.signTypedData({
    domain: signedTaskDomain(params.chainId, params.market),
    types: SIGNED_TASK_TYPES,
    primaryType: 'SignedTask',
    message: { ...params.task, worker: params.worker },
  });
}

export function sendSignedRequest(
  host: PeerHost,
  target: PeerTarget,
  request: SignedRequest,
  options?: CallOptions,
): Promise<SignedRequestAnswer> {
  if (request.input.length > MAX_INPUT_BYTES) {
    return Promise.reject(new MessageTooLargeError('The input', request.input.length, MAX_INPUT_BYTES));
  }
  return callProtocol(
    host,
    target,
    signedRequestSpec,
    { header: { task: taskToJson(request.task), signature: request.signature }, body: request.input },
    options,
    (r) => r.header,
  );
}

export interface SignedRequestServer {
  chainId: number;
  market: Address;
  /** The worker address the requester must have signed for. */
  worker: Address;
  /** Called only for a request whose signature and input have been checked. */
  decide(
    request: SignedRequest & { taskId: Hex; peer: PeerId },
    signal: AbortSignal,
  ): Promise<SignedRequestAnswer>;
  /** Sees every answer, refusals of the checks above included (for metrics). */
  onAnswer?(answer: SignedRequestAnswer, peer: PeerId): void;
}

export function serveSignedRequests(host: PeerHost, server: SignedRequestServer, options?: ServeOptions) {
  return serveProtocol(
    host,
    signedRequestSpec,
    async ({ header, body }, { peer, signal }) => {
      const task = taskFromJson(header.task);
      const refuse = (refusal: SignedRequestRefusal, reason: string) => {
        server.onAnswer?.({ accepted: false, refusal, reason }, peer);
        return { header: { accepted: false as const, refusal, reason } };
      };
      if (body.length > MAX_INPUT_BYTES) return refuse('input-too-large', `above ${MAX_INPUT_BYTES} bytes`);
      const signer = await recoverTypedDataAddress({
        domain: signedTaskDomain(server.chainId, server.market),
        types: SIGNED_TASK_TYPES,
        primaryType: 'SignedTask',
        message: { ...task, worker: server.worker },
        signature: header.signature,
      }).catch(() => undefined);
      if (signer !== task.requester)
        return refuse('bad-signature', 'the signature is not the requester’s for this worker');
      if (bytesRoot(body) !== task.inputRoot) {
        // The requester signed one input and sent another: that is a lie, not a mistake of ours.
        host.peers.record(peer.toString(), 'wrong-data');
        return refuse('input-mismatch', 'the input bytes do not hash to task.inputRoot');
      }
      const taskId = taskIdOf(server.chainId, server.market, task);
      const answer = await server.decide(
        { task, signature: header.signature, input: body, taskId, peer },
        signal,
      );
      const out: SignedRequestAnswer = answer.accepted ? { accepted: true, taskId } : answer;
      server.onAnswer?.(out, peer);
      return { header: out };
    },
    options,
  );
}

// ---- input ------------------------------------------------------------------------------------

export const inputSpec = {
  id: protocolId('input'),
  request: z.object({ inputRoot: hex32 }),
  response: z.union([found, notFound]),
  maxRequestBytes: SMALL,
  maxResponseBytes: SMALL + MAX_INPUT_BYTES,
  timeoutMs: 15_000,
} satisfies ProtocolSpec<z.ZodType, z.ZodType>;

export type InputProvider = (inputRoot: Hex, peer: PeerId) => Promise<Uint8Array | undefined>;

export function serveInputs(host: PeerHost, provide: InputProvider, options?: ServeOptions) {
  return serveProtocol(
    host,
    inputSpec,
    async ({ header }, { peer }) => {
      const bytes = await provide(header.inputRoot, peer);
      return bytes
        ? { header: { found: true as const }, body: bytes }
        : { header: { found: false as const } };
    },
    options,
  );
}

/** Fetches an input by root. Checks: size bound, and tensorRoot(bytes) = inputRoot. */
export function fetchInput(host: PeerHost, target: PeerTarget, inputRoot: Hex, options?: CallOptions) {
  return callProtocol(host, target, inputSpec, { header: { inputRoot } }, options, (r, peer) => {
    if (!r.header.found) throw new ContentNotFoundError(`Peer ${peer} does not hold input ${inputRoot}.`);
    if (r.body.length > MAX_INPUT_BYTES)
      throw new MalformedMessageError(`An input above ${MAX_INPUT_BYTES} bytes.`);
    const root = bytesRoot(r.body);
    if (root !== inputRoot.toLowerCase()) {
      throw new RootMismatchError(`Peer ${peer} sent an input whose root is ${root}, not ${inputRoot}.`);
    }
    return r.body;
  });
}

// ---- model ------------------------------------------------------------------------------------

export const modelSpec = {
  id: protocolId('model'),
  request: z.object({ modelRoot: hex32 }),
  response: z.union([found, notFound]),
  maxRequestBytes: SMALL,
  maxResponseBytes: SMALL + MAX_MODEL_PACKAGE_BYTES,
  timeoutMs: 120_000,
  maxInboundStreams: 2,
} satisfies ProtocolSpec<z.ZodType, z.ZodType>;

/** Returns the model package (a .vrnf file's bytes, or the model to encode), or undefined. */
export type ModelProvider = (modelRoot: Hex, peer: PeerId) => Promise<Uint8Array | Model | undefined>;

export function serveModels(host: PeerHost, provide: ModelProvider, options?: ServeOptions) {
  return serveProtocol(
    host,
    modelSpec,
    async ({ header }, { peer }) => {
      const pkg = await provide(header.modelRoot, peer);
      if (!pkg) return { header: { found: false as const } };
      return { header: { found: true as const }, body: pkg instanceof Uint8Array ? pkg : encodeModel(pkg) };
    },
    options,
  );
}

/** Fetches a model package. Checks: size bound, the format (and its checksum), and modelRoot(model) = root. */
export function fetchModel(
  host: PeerHost,
  target: PeerTarget,
  root: Hex,
  options?: CallOptions,
): Promise<{ model: Model; bytes: Uint8Array }> {
  return callProtocol(host, target, modelSpec, { header: { modelRoot: root } }, options, (r, peer) => {
    if (!r.header.found) throw new ContentNotFoundError(`Peer ${peer} does not hold model ${root}.`);
    let model: Model;
    try {
      model = decodeModel(r.body);
    } catch (cause) {
      throw new MalformedMessageError(`Peer ${peer} sent a model package that does not decode.`, { cause });
    }
    const actual = toHex(modelRoot(model));
    if (actual !== root.toLowerCase()) {
      throw new RootMismatchError(`Peer ${peer} sent model ${actual}, not ${root}.`);
    }
    return { model, bytes: r.body };
  });
}

// ---- trace-chunk ------------------------------------------------------------------------------

export const traceChunkSpec = {
  id: protocolId('trace-chunk'),
  request: z.object({ taskId: hex32, op: index(2 ** 20), chunk: index(2 ** 40) }),
  response: z.union([
    z.object({
      found: z.literal(true),
      index: index(2 ** 40),
      byteLength: index(2 ** 50),
      siblings: z.array(hex32).max(MAX_PROOF_DEPTH),
    }),
    notFound,
  ]),
  maxRequestBytes: SMALL,
  maxResponseBytes: MAX_TRACE_CHUNK_MESSAGE_BYTES,
  timeoutMs: 10_000,
} satisfies ProtocolSpec<z.ZodType, z.ZodType>;

/** Returns chunk `chunk` of op `op`'s output in task `taskId`'s trace, with its proof, or undefined. */
export type TraceChunkProvider = (
  request: { taskId: Hex; op: number; chunk: number },
  peer: PeerId,
) => Promise<ChunkProof | undefined>;

export function serveTraceChunks(host: PeerHost, provide: TraceChunkProvider, options?: ServeOptions) {
  return serveProtocol(
    host,
    traceChunkSpec,
    async ({ header }, { peer }) => {
      const proof = await provide(header, peer);
      if (!proof) return { header: { found: false as const } };
      return {
        header: {
          found: true as const,
          index: proof.index,
          byteLength: proof.byteLength,
          siblings: proof.siblings.map(toHex),
        },
        body: proof.chunk,
      };
    },
    options,
  );
}

/**
 * Fetches a chunk of op k's output and its proof. Checks: the chunk is the one asked for, and the proof
 * holds against `tensorRoot` (op k's output root, e.g. a leaf of the trace root).
 */
export function fetchTraceChunk(
  host: PeerHost,
  target: PeerTarget,
  request: { taskId: Hex; op: number; chunk: number; tensorRoot: Hex },
  options?: CallOptions,
): Promise<ChunkProof> {
  const { tensorRoot, ...header } = request;
  return callProtocol(host, target, traceChunkSpec, { header }, options, (r, peer) => {
    if (!r.header.found) {
      throw new ContentNotFoundError(`Peer ${peer} has no chunk ${request.chunk} of op ${request.op}.`);
    }
    if (r.body.length > CHUNK_BYTES) throw new MalformedMessageError(`A chunk above ${CHUNK_BYTES} bytes.`);
    const proof: ChunkProof = {
      index: r.header.index,
      chunk: r.body,
      siblings: r.header.siblings.map(fromHex),
      byteLength: r.header.byteLength,
    };
    if (proof.index !== request.chunk || !verifyChunkProof(fromHex(tensorRoot), proof)) {
      throw new RootMismatchError(
        `Peer ${peer} sent chunk ${proof.index} of op ${request.op} with a proof that fails against ${tensorRoot}.`,
      );
    }
    return proof;
  });
}
