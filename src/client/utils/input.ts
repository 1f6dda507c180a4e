// Turns a task input (a tensor, or its committed bytes) into the bytes TaskMarket.createTask checks
// against the input root, and checks them against what is known of the model.
import { type Hex, hexToBytes, isHex } from 'viem';
import { tensorBytes } from '../../commit/tensorRoot.ts';
import { dtypeBytes, elementCount, type Model } from '../../engine/graph.ts';
import { STEP_BATCH_LIMIT } from '../../engine/stepCost.ts';
import type { Tensor } from '../../engine/tensor.ts';
import { checkSettleableInput } from '../../engine/validate.ts';
import { InputError } from '../../errors/base.ts';
import { EmptyInputError, InputShapeError, InputTooLargeError } from '../errors.ts';

/**
 * The largest inline input a task carries. createTask hashes it in 1 KiB chunks and pays 16 gas
 * per calldata byte: 128 KiB stays far below EIP-7825's 2^24 gas cap per transaction.
 */
export const MAX_INLINE_INPUT_BYTES = 128 * 1024;

export type TaskInput = Tensor | Uint8Array | Hex;

function isTensor(input: TaskInput): input is Tensor {
  return typeof input === 'object' && !(input instanceof Uint8Array) && 'data' in input && 'shape' in input;
}

/** The committed bytes of `input`, checked against `model` when the client has it. */
export function inputBytesOf(input: TaskInput, model: Model | undefined): Uint8Array {
  let bytes: Uint8Array;
  if (isTensor(input)) {
    if (input.data.length === 0) throw new EmptyInputError();
    if (model) {
      try {
        checkSettleableInput(model, input);
      } catch (err) {
        if (err instanceof InputError) throw new InputShapeError(err.shortMessage, { cause: err });
        throw err;
      }
    }
    bytes = tensorBytes(input.dtype, input.data);
  } else if (typeof input === 'string') {
    if (!isHex(input, { strict: true }) || input.length % 2 !== 0)
      throw new InputError(`The input "${input.slice(0, 20)}…" is not even-length 0x hex.`);
    bytes = hexToBytes(input);
  } else {
    bytes = input;
  }
  if (bytes.length === 0) throw new EmptyInputError();
  if (bytes.length > MAX_INLINE_INPUT_BYTES)
    throw new InputTooLargeError({
      byteLength: bytes.length,
      maxBytes: MAX_INLINE_INPUT_BYTES,
      why: 'the inline input of createTask is bounded by the transaction gas cap',
    });
  if (model) checkSampleBytes(bytes.length, perSampleBytes(model));
  return bytes;
}

export function perSampleBytes(model: Model): number {
  const info = model.tensors[model.input];
  return elementCount(info.shape.slice(1)) * dtypeBytes(info.dtype);
}

/** Checks a byte length against the model's per-sample size (the registry's Layout) and the batch cap. */
export function checkSampleBytes(byteLength: number, perSample: number): number {
  if (byteLength % perSample !== 0)
    throw new InputShapeError(
      `The input has ${byteLength} bytes, not a whole number of samples of ${perSample} bytes each.`,
      { metaMessages: ['Quantize the input to the model input shape [B, ...] and pass it as a tensor.'] },
    );
  const batch = byteLength / perSample;
  if (batch > STEP_BATCH_LIMIT)
    throw new InputTooLargeError({
      byteLength,
      maxBytes: STEP_BATCH_LIMIT * perSample,
      why: `a task settles at most ${STEP_BATCH_LIMIT} samples of ${perSample} bytes`,
    });
  return batch;
}

/** The model input tensor whose committed bytes are `bytes` (i32 values are big-endian). */
export function tensorOfBytes(model: Model, bytes: Uint8Array): Tensor {
  const info = model.tensors[model.input];
  const batch = checkSampleBytes(bytes.length, perSampleBytes(model));
  const shape = [batch, ...info.shape.slice(1)];
  if (info.dtype === 'i32') {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const data = new Int32Array(bytes.length / 4);
    for (let i = 0; i < data.length; i++) data[i] = view.getInt32(i * 4);
    return { dtype: 'i32', shape, data, zeroPoint: info.zeroPoint };
  }
  const data = info.dtype === 'i8' ? new Int8Array(bytes.slice().buffer) : bytes.slice();
  return { dtype: info.dtype, shape, data, zeroPoint: info.zeroPoint };
}
