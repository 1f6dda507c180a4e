// The binary model format (.vrnf). Pure encoding and decoding, no I/O.
//
// offset  size  field
// 0       4     magic "VRNF"
// 4       2     format version (uint16 big-endian), currently 2
// 6       4     header length H (uint32 big-endian)
// 10      H     header: UTF-8 JSON { meta, input, output, tensors, ops }, where each constant tensor
//               carries { offset, length } into the blob
// 10+H    B     blob: constant tensors in their committed byte encoding (see commit/tensorRoot.ts:
//               u8 as is, i8 two's complement, i32 big-endian) and committed element order
//               (layout.ts: matmul weights column-major), so a chunk of the blob is a chunk of the
//               commitment. Version 1 stored matmul weights row-major; reading such a file with
//               this layout would silently transpose them, so version 1 is refused.
// end-32  32    keccak256 of every byte before it (detects truncation and corruption)
import { keccak256 } from '../commit/keccak.ts';
import { tensorBytes } from '../commit/tensorRoot.ts';
import { ModelFormatError } from '../errors/base.ts';
import {
  allocTensor,
  dtypeBytes,
  elementCount,
  type Model,
  type Op,
  type TensorData,
  type TensorInfo,
} from './graph.ts';
import { constLayout, fromCommittedOrder, matmulWeightIds, toCommittedOrder } from './layout.ts';
import { validateModel } from './validate.ts';

export const FORMAT_MAGIC = 'VRNF';
export const FORMAT_VERSION = 2;

interface StoredTensor extends TensorInfo {
  offset?: number;
  length?: number;
}

interface Header {
  meta: Model['meta'];
  input: number;
  output: number;
  tensors: StoredTensor[];
  ops: Op[];
}

export function encodeModel(model: Model): Uint8Array {
  validateModel(model);
  const blobs: Uint8Array[] = [];
  let offset = 0;
  const tensors: StoredTensor[] = model.tensors.map((t) => {
    const data = model.consts.get(t.id);
    if (!data) return { ...t };
    const bytes = tensorBytes(t.dtype, toCommittedOrder(data, t.shape, constLayout(model, t.id)));
    blobs.push(bytes);
    const stored = { ...t, offset, length: bytes.length };
    offset += bytes.length;
    return stored;
  });
  const header: Header = {
    meta: model.meta,
    input: model.input,
    output: model.output,
    tensors,
    ops: model.ops,
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(10 + headerBytes.length + offset + 32);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(FORMAT_MAGIC), 0);
  view.setUint16(4, FORMAT_VERSION);
  view.setUint32(6, headerBytes.length);
  out.set(headerBytes, 10);
  let p = 10 + headerBytes.length;
  for (const b of blobs) {
    out.set(b, p);
    p += b.length;
  }
  out.set(keccak256(out.subarray(0, p)), p);
  return out;
}

export function decodeModel(bytes: Uint8Array): Model {
  if (bytes.length < 42)
    throw new ModelFormatError(`The model file is only ${bytes.length} bytes long; it is truncated.`);
  const magic = new TextDecoder().decode(bytes.subarray(0, 4));
  if (magic !== FORMAT_MAGIC) {
    throw new ModelFormatError(
      `This is not a Verinfer model file (magic "${magic}", expected "${FORMAT_MAGIC}").`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(4);
  if (version !== FORMAT_VERSION) {
    throw new ModelFormatError(
      `Model format version ${version} is not supported; this build reads version ${FORMAT_VERSION}. ` +
        'Import the model again from its source (verinfer model import) to write it in this version.',
    );
  }
  const body = bytes.subarray(0, bytes.length - 32);
  const digest = keccak256(body);
  const stored = bytes.subarray(bytes.length - 32);
  if (!digest.every((b, i) => b === stored[i])) {
    throw new ModelFormatError('The model file checksum does not match: the file is truncated or corrupted.');
  }
  const headerLength = view.getUint32(6);
  if (10 + headerLength > body.length)
    throw new ModelFormatError('The model header runs past the end of the file.');
  let header: Header;
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(10, 10 + headerLength)),
    );
  } catch (cause) {
    throw new ModelFormatError('The model header is not valid UTF-8 JSON.', { cause });
  }
  if (
    !header ||
    !Array.isArray(header.tensors) ||
    !Array.isArray(header.ops) ||
    typeof header.meta !== 'object'
  ) {
    throw new ModelFormatError('The model header lacks tensors, ops or meta.');
  }
  const blob = body.subarray(10 + headerLength);
  const consts = new Map<number, TensorData>();
  const columnMajor = committedColumnMajor(header);
  const tensors: TensorInfo[] = header.tensors.map((t, i) => {
    const { offset, length, ...info } = t;
    if (info.kind === 'const') {
      const n = elementCount(info.shape ?? []);
      if (
        !Number.isInteger(offset) ||
        length !== n * dtypeBytes(info.dtype) ||
        (offset as number) < 0 ||
        (offset as number) + length > blob.length
      ) {
        throw new ModelFormatError(`Constant tensor ${i} ("${info.name}") points outside the data blob.`);
      }
      const committed = readTensor(info, blob.subarray(offset as number, (offset as number) + length));
      const layout = columnMajor.has(i) && info.shape.length >= 2 ? 'columnMajor' : 'rowMajor';
      consts.set(i, fromCommittedOrder(committed, info.shape, layout));
    }
    return info;
  });
  const model: Model = {
    meta: header.meta,
    tensors,
    ops: header.ops,
    consts,
    input: header.input,
    output: header.output,
  };
  try {
    validateModel(model);
  } catch (cause) {
    if (cause instanceof ModelFormatError) throw cause;
    throw new ModelFormatError('The model file describes an invalid graph.', {
      cause,
      details: String(cause),
    });
  }
  return model;
}

/** The constants the header's ops use as matmul weights (before validation: tolerate junk). */
function committedColumnMajor(header: Header): Set<number> {
  const ops = header.ops.filter((op) => op?.type === 'matmul' && Array.isArray(op.inputs));
  const tensors = header.tensors.map((t) => ({ kind: t?.kind }));
  return matmulWeightIds({ ops, tensors } as Parameters<typeof matmulWeightIds>[0]);
}

function readTensor(info: TensorInfo, bytes: Uint8Array): TensorData {
  const n = elementCount(info.shape);
  const out = allocTensor(info.dtype, n);
  if (info.dtype === 'i32') {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4);
  } else {
    (out as Uint8Array).set(new Uint8Array(bytes.buffer, bytes.byteOffset, n));
  }
  return out;
}
