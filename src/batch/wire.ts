// Binary records of the batch protocols. A bundle of 1024 requests does not fit the 64 KiB JSON
// header of a message (src/p2p/codec.ts), so requests, leaves and their payloads travel in the body
// as fixed-size records followed by the payloads they announce:
//   request record (205 bytes) = modelRoot ‖ inputRoot ‖ uint256 fee ‖ uint256 nonce ‖ uint64 deadline
//                                ‖ signature (65) ‖ uint32 inputLength
//   leaf record (132 bytes)    = requestHash ‖ resultCommitment ‖ outputRoot ‖ uint256 fee ‖ uint32 outputLength
//   body                       = records ‖ payloads (in record order)
// Every length is checked against its bound before a payload is sliced, and the payloads must fill
// the body exactly: nothing a peer sends is read past its bound or left unaccounted for.
import type { Address, Hex } from 'viem';
import type { LeafArgs, RequestArgs } from '../chain/bindings/types.ts';
import { fromHex, toHex } from '../commit/keccak.ts';
import { MalformedMessageError, MessageTooLargeError } from '../p2p/errors.ts';

export const REQUEST_RECORD_BYTES = 32 + 32 + 32 + 32 + 8 + 65 + 4;
export const LEAF_RECORD_BYTES = 32 * 4 + 4;

/** A request as sent in a bundle: the parties common to the batch travel once, in the JSON header. */
export interface SignedBatchRequest {
  request: RequestArgs;
  /** The requester's EIP-712 signature of `request` (REQUEST_TYPES, requestDomain). */
  signature: Hex;
  /** The committed input bytes: tensorRoot(input) must be request.inputRoot. */
  input: Uint8Array;
}

export interface LeafWithOutput {
  leaf: LeafArgs;
  /** The committed bytes of the model output: tensorRoot(output) must be leaf.outputRoot. */
  output: Uint8Array;
}

const U64_MAX = (1n << 64n) - 1n;

function writeUint(out: Uint8Array, at: number, value: bigint, bytes: number): void {
  let v = value;
  for (let i = bytes - 1; i >= 0; i--) {
    out[at + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

function readUint(bytes: Uint8Array, at: number, length: number): bigint {
  let v = 0n;
  for (let i = 0; i < length; i++) v = (v << 8n) | BigInt(bytes[at + i]);
  return v;
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Splits `body` into `count` records of `recordBytes` and the payloads whose lengths they end with. */
function splitRecords(
  body: Uint8Array,
  count: number,
  recordBytes: number,
  bounds: { maxPayloadBytes: number; maxTotalBytes: number; what: string },
): { records: Uint8Array[]; payloads: Uint8Array[] } {
  const head = count * recordBytes;
  if (body.length < head) {
    throw new MalformedMessageError(
      `A body of ${body.length} bytes cannot hold ${count} records of ${recordBytes} bytes.`,
    );
  }
  const records: Uint8Array[] = [];
  const payloads: Uint8Array[] = [];
  let at = head;
  for (let i = 0; i < count; i++) {
    const record = body.subarray(i * recordBytes, (i + 1) * recordBytes);
    const length = Number(readUint(record, recordBytes - 4, 4));
    if (length > bounds.maxPayloadBytes) {
      throw new MessageTooLargeError(`${bounds.what} ${i}`, length, bounds.maxPayloadBytes);
    }
    if (at + length - head > bounds.maxTotalBytes) {
      throw new MessageTooLargeError(`The ${bounds.what}s`, at + length - head, bounds.maxTotalBytes);
    }
    if (at + length > body.length) {
      throw new MalformedMessageError(`Record ${i} announces ${length} bytes past the end of the body.`);
    }
    records.push(record);
    payloads.push(body.subarray(at, at + length));
    at += length;
  }
  if (at !== body.length) {
    throw new MalformedMessageError(`${body.length - at} bytes follow the last payload; expected none.`);
  }
  return { records, payloads };
}

export function encodeRequests(items: readonly SignedBatchRequest[]): Uint8Array {
  const head = new Uint8Array(items.length * REQUEST_RECORD_BYTES);
  let payloadBytes = 0;
  items.forEach(({ request: r, signature, input }, i) => {
    const at = i * REQUEST_RECORD_BYTES;
    const sig = fromHex(signature);
    if (sig.length !== 65) throw new MalformedMessageError(`Signature ${i} is not 65 bytes.`);
    if (r.deadline > U64_MAX || r.deadline < 0n)
      throw new MalformedMessageError(`Deadline ${i} is not a uint64.`);
    head.set(fromHex(r.modelRoot), at);
    head.set(fromHex(r.inputRoot), at + 32);
    writeUint(head, at + 64, r.fee, 32);
    writeUint(head, at + 96, r.nonce, 32);
    writeUint(head, at + 128, r.deadline, 8);
    head.set(sig, at + 136);
    writeUint(head, at + 201, BigInt(input.length), 4);
    payloadBytes += input.length;
  });
  return concat([head, ...items.map((x) => x.input)], head.length + payloadBytes);
}

/** Decodes `count` requests of `parties` (the batch's requester, worker and fee token). */
export function decodeRequests(
  body: Uint8Array,
  count: number,
  parties: { requester: Address; worker: Address; feeToken: Address },
  bounds: { maxInputBytes: number; maxTotalInputBytes: number },
): SignedBatchRequest[] {
  const { records, payloads } = splitRecords(body, count, REQUEST_RECORD_BYTES, {
    maxPayloadBytes: bounds.maxInputBytes,
    maxTotalBytes: bounds.maxTotalInputBytes,
    what: 'input',
  });
  return records.map((rec, i) => ({
    request: {
      requester: parties.requester,
      worker: parties.worker,
      modelRoot: toHex(rec.subarray(0, 32)),
      inputRoot: toHex(rec.subarray(32, 64)),
      feeToken: parties.feeToken,
      fee: readUint(rec, 64, 32),
      nonce: readUint(rec, 96, 32),
      deadline: readUint(rec, 128, 8),
    },
    signature: toHex(rec.subarray(136, 201)),
    input: payloads[i],
  }));
}

export function encodeLeaves(items: readonly LeafWithOutput[]): Uint8Array {
  const head = new Uint8Array(items.length * LEAF_RECORD_BYTES);
  let payloadBytes = 0;
  items.forEach(({ leaf, output }, i) => {
    const at = i * LEAF_RECORD_BYTES;
    head.set(fromHex(leaf.requestHash), at);
    head.set(fromHex(leaf.resultCommitment), at + 32);
    head.set(fromHex(leaf.outputRoot), at + 64);
    writeUint(head, at + 96, leaf.fee, 32);
    writeUint(head, at + 128, BigInt(output.length), 4);
    payloadBytes += output.length;
  });
  return concat([head, ...items.map((x) => x.output)], head.length + payloadBytes);
}

export function decodeLeaves(
  body: Uint8Array,
  count: number,
  bounds: { maxOutputBytes: number; maxTotalOutputBytes: number },
): LeafWithOutput[] {
  const { records, payloads } = splitRecords(body, count, LEAF_RECORD_BYTES, {
    maxPayloadBytes: bounds.maxOutputBytes,
    maxTotalBytes: bounds.maxTotalOutputBytes,
    what: 'output',
  });
  return records.map((rec, i) => ({
    leaf: {
      requestHash: toHex(rec.subarray(0, 32)),
      resultCommitment: toHex(rec.subarray(32, 64)),
      outputRoot: toHex(rec.subarray(64, 96)),
      fee: readUint(rec, 96, 32),
    },
    output: payloads[i],
  }));
}

/**
 * The body of a contents page: the leaves (with empty outputs: a verifier recomputes them), then
 * the requests with their inputs.
 */
export function encodeContents(
  items: readonly { leaf: LeafArgs; request: SignedBatchRequest }[],
): Uint8Array {
  const leaves = encodeLeaves(items.map((x) => ({ leaf: x.leaf, output: new Uint8Array() })));
  const requests = encodeRequests(items.map((x) => x.request));
  return concat([leaves, requests], leaves.length + requests.length);
}

export function decodeContents(
  body: Uint8Array,
  count: number,
  parties: { requester: Address; worker: Address; feeToken: Address },
  bounds: { maxInputBytes: number; maxTotalInputBytes: number },
): { leaf: LeafArgs; request: SignedBatchRequest }[] {
  const split = count * LEAF_RECORD_BYTES;
  if (body.length < split)
    throw new MalformedMessageError(`A contents page shorter than its ${count} leaves.`);
  const leaves = decodeLeaves(body.subarray(0, split), count, { maxOutputBytes: 0, maxTotalOutputBytes: 0 });
  const requests = decodeRequests(body.subarray(split), count, parties, bounds);
  return leaves.map((l, i) => ({ leaf: l.leaf, request: requests[i] }));
}
