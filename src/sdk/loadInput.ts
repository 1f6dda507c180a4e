// Turns an input file into the model's quantized input tensor.
// - .json: a float tensor (nested arrays or { shape, data }), quantized with the model's input
//   parameters; integer inputs such as token ids pass through unchanged.
// - .png: a grayscale image for image models (pixel / 255, channels averaged).
// - any other file, for a model with a tokenizer: text, tokenized by the model's tokenizer.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { PNG } from 'pngjs';
import type { Tensor } from '../engine/tensor.ts';
import { InputError } from '../errors/base.ts';
import { loadTokenizerSpec, tokenize } from '../examples/spamTokenizer.ts';
import { parseFloatInput, quantizeInput } from '../onnx/index.ts';
import type { ModelPackage } from '../store/modelDir.ts';

export async function loadInput(pkg: ModelPackage, path: string): Promise<Tensor> {
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch (cause) {
    throw new InputError(`Cannot read input file "${path}".`, { cause });
  }
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
    const ids = tokenize(raw.toString('utf8'), spec);
    return { dtype: 'i32', shape: [1, ids.length], data: ids, zeroPoint: 0 };
  }
  throw new InputError(
    `Input file "${path}" is neither .json nor .png, and model "${pkg.manifest.name}" has no tokenizer for text input.`,
  );
}

function pngToTensor(pkg: ModelPackage, raw: Buffer, path: string): { shape: number[]; data: Float32Array } {
  const info = pkg.model.tensors[pkg.model.input];
  if (info.shape.length !== 4 || info.shape[1] !== 1) {
    throw new InputError(
      `Model "${pkg.manifest.name}" does not take a one-channel image (input shape [${info.shape.join(',')}]).`,
    );
  }
  let png: PNG;
  try {
    png = PNG.sync.read(raw);
  } catch (cause) {
    throw new InputError(`"${path}" is not a readable PNG file.`, { cause });
  }
  const [, , H, W] = info.shape;
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
