// The two example models shipped with Verinfer, and how to import them.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { keccak256, toHex } from '../commit/keccak.ts';
import { ModelFormatError } from '../errors/base.ts';
import { importOnnx, parseFloatInput } from '../onnx/index.ts';
import { loadModelDir, type Manifest, saveModelDir } from '../store/modelDir.ts';

const root = (p: string) => fileURLToPath(new URL(`../../models/${p}`, import.meta.url));

export interface Example {
  name: string;
  onnx: string;
  calibration: string;
  samples: string;
  /** Held-out set: digits { labels, pixels: base64 u8 28x28 }, spam { labels, tokens }. */
  testSet: string;
  tokenizer?: string;
  labels: string[];
}

export const EXAMPLES: Example[] = [
  {
    name: 'digits',
    onnx: root('digits/digits.onnx'),
    calibration: root('digits/calibration.json'),
    samples: root('digits/samples'),
    testSet: root('digits/test-set.json'),
    labels: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  },
  {
    name: 'spam',
    onnx: root('spam/spam.onnx'),
    calibration: root('spam/calibration.json'),
    samples: root('spam/samples'),
    testSet: root('spam/test-set.json'),
    tokenizer: root('spam/tokenizer.json'),
    labels: ['ham', 'spam'],
  },
];

export async function importExampleModel(
  example: Example,
  out: string,
  onProgress?: (stage: string, done: number, total: number) => void,
): Promise<Manifest> {
  const bytes = new Uint8Array(await readFile(example.onnx));
  const calibration = (JSON.parse(await readFile(example.calibration, 'utf8')) as unknown[]).map(
    parseFloatInput,
  );
  const tokenizer = example.tokenizer ? new Uint8Array(await readFile(example.tokenizer)) : undefined;
  const result = await importOnnx(bytes, calibration, {
    name: example.name,
    version: '1',
    inputKind: tokenizer ? 'tokens' : 'image',
    labels: example.labels,
    onProgress,
  });
  if (tokenizer) result.model.meta.tokenizerHash = toHex(keccak256(tokenizer));
  return saveModelDir(out, result.model, { tokenizer, report: result.report, force: true });
}

/**
 * The example's model package in `dir`, imported on first use. A package there that this build
 * cannot read (an older format version, a damaged file) is a stale cache: it is imported again.
 */
export async function loadOrImportExample(
  example: Example,
  dir: string,
  onImport?: () => ((stage: string, done: number, total: number) => void) | undefined,
): Promise<Awaited<ReturnType<typeof loadModelDir>>> {
  if (existsSync(join(dir, 'model.vrnf'))) {
    try {
      return await loadModelDir(dir);
    } catch (err) {
      if (!(err instanceof ModelFormatError)) throw err;
    }
  }
  await importExampleModel(example, dir, onImport?.());
  return loadModelDir(dir);
}
