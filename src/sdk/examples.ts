// The two example models shipped with Verinfer, and how to import them.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { keccak256, toHex } from '../commit/keccak.ts';
import { ModelFormatError } from '../errors/base.ts';
import { importOnnx, parseFloatInput } from '../onnx/index.ts';
import { loadModelDir, type Manifest, saveModelDir } from '../store/modelDir.ts';
import { OutputBusyError } from '../store/outputDir.ts';

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
  try {
    await importExampleModel(example, dir, onImport?.());
  } catch (err) {
    // Another process (a second node or test) is writing the same cache: wait for its package.
    if (!(err instanceof OutputBusyError)) throw err;
    return waitForPackage(dir, err);
  }
  return loadModelDir(dir);
}

/** The package another writer is finishing in `dir`, once it is complete (at most 5 minutes). */
async function waitForPackage(dir: string, cause: Error): Promise<Awaited<ReturnType<typeof loadModelDir>>> {
  const until = Date.now() + 300_000;
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 250));
    if (!existsSync(join(dir, 'model.vrnf'))) continue;
    try {
      return await loadModelDir(dir);
    } catch (err) {
      if (!(err instanceof ModelFormatError)) throw err;
    }
  }
  throw new ModelFormatError(`Another process held ${dir} for 5 minutes without finishing its package.`, {
    cause,
  });
}
