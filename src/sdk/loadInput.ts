// Turns an input file into the model's quantized input tensor.
// - .json: a float tensor (nested arrays or { shape, data }), quantized with the model's input
//   parameters; integer inputs such as token ids pass through unchanged.
// - .png: a grayscale image for image models (pixel / 255, channels averaged).
// - any other file, for a model with a tokenizer: text, tokenized by the model's tokenizer.
// Every read is bounded, a PNG's size is checked from its header before it is decoded, and text
// that is empty or not UTF-8 is refused rather than classified silently.
import { extname } from 'node:path';
import { PNG } from 'pngjs';
import type { Tensor } from '../engine/tensor.ts';
import { InputError } from '../errors/base.ts';
import { loadTokenizerSpec, tokenize, wordCount } from '../examples/spamTokenizer.ts';
import { parseFloatInput, quantizeInput } from '../onnx/index.ts';
import type { ModelPackage } from '../store/modelDir.ts';
import { MiB, readBounded } from '../store/readBounded.ts';

/** Largest input file read, of any kind (a JSON tensor of a few million numbers). */
export const MAX_INPUT_BYTES = 64 * MiB;

export interface LoadInputOptions {
  /** Told about inputs that are used, but not whole (text cut to the model's token window). */
  onWarning?: (message: string) => void;
}

export async function loadInput(
  pkg: ModelPackage,
  path: string,
  options: LoadInputOptions = {},
): Promise<Tensor> {
  const raw = await readBounded(path, { maxBytes: MAX_INPUT_BYTES, what: 'Input file' });
  const ext = extname(path).toLowerCase();
  if (ext === '.json') {
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch (cause) {
      throw new InputError(`Input file "${path}" is not valid JSON.`, { cause });
    }
    return quantizeInput(pkg.model, parseFloatInput(json));
  }
  if (ext === '.png') return quantizeInput(pkg.model, pngToTensor(pkg, raw, path));
  if (pkg.tokenizer !== undefined) {
    const spec = loadTokenizerSpec(pkg.tokenizer);
    const text = decodeText(raw, path);
    const ids = tokenize(text, spec);
    const total = wordCount(text);
    if (total > spec.sequenceLength) {
      options.onWarning?.(
        `"${path}" has ${total} tokens; the model reads the first ${spec.sequenceLength}, so ${total - spec.sequenceLength} were dropped.`,
      );
    }
    return { dtype: 'i32', shape: [1, ids.length], data: ids, zeroPoint: 0 };
  }
  throw new InputError(
    `Input file "${path}" is neither .json nor .png, and model "${pkg.manifest.name}" has no tokenizer for text input.`,
  );
}

/** The text of a text input: refused if empty, binary or not valid UTF-8. */
function decodeText(raw: Buffer, path: string): string {
  if (raw.includes(0)) {
    throw new InputError(
      `Input file "${path}" holds binary data (NUL bytes), not text. Pass a UTF-8 text file.`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch (cause) {
    throw new InputError(`Input file "${path}" is not valid UTF-8 text. Save it as UTF-8 and try again.`, {
      cause,
    });
  }
  if (text.trim() === '') throw new InputError(`Input file "${path}" is empty. Pass a file with some text.`);
  return text;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height from a PNG's IHDR chunk, which the format puts first (bytes 8..24). */
function pngHeaderSize(raw: Buffer, path: string): { width: number; height: number } {
  if (
    raw.length < 24 ||
    !raw.subarray(0, 8).equals(PNG_SIGNATURE) ||
    raw.toString('latin1', 12, 16) !== 'IHDR'
  ) {
    throw new InputError(`"${path}" is not a readable PNG file.`);
  }
  return { width: raw.readUInt32BE(16), height: raw.readUInt32BE(20) };
}

function pngToTensor(pkg: ModelPackage, raw: Buffer, path: string): { shape: number[]; data: Float32Array } {
  const info = pkg.model.tensors[pkg.model.input];
  if (info.shape.length !== 4 || info.shape[1] !== 1) {
    throw new InputError(
      `Model "${pkg.manifest.name}" does not take a one-channel image (input shape [${info.shape.join(',')}]).`,
    );
  }
  const [, , H, W] = info.shape;
  // Checked before decoding: a small file can declare an image of gigabytes.
  const header = pngHeaderSize(raw, path);
  if (header.width !== W || header.height !== H) {
    throw new InputError(`Image "${path}" is ${header.width}x${header.height}; the model needs ${W}x${H}.`);
  }
  let png: PNG;
  try {
    png = PNG.sync.read(raw);
  } catch (cause) {
    throw new InputError(`"${path}" is not a readable PNG file.`, { cause });
  }
  if (png.width !== W || png.height !== H) {
    throw new InputError(`Image "${path}" is ${png.width}x${png.height}; the model needs ${W}x${H}.`);
  }
  const data = new Float32Array(W * H);
  for (let i = 0; i < W * H; i++) {
    const r = png.data[4 * i];
    const g = png.data[4 * i + 1];
    const b = png.data[4 * i + 2];
    data[i] = Math.round((r + g + b) / 3) / 255;
  }
  return { shape: [1, 1, H, W], data };
}
