import { basename, extname } from 'node:path';
import type { Command } from 'commander';
import { keccak256, toHex } from '../../commit/keccak.ts';
import { InputError } from '../../errors/base.ts';
import { loadTokenizerSpec } from '../../examples/spamTokenizer.ts';
import { importOnnx, parseFloatInput } from '../../onnx/index.ts';
import { MAX_TOKENIZER_BYTES, saveModelDir } from '../../store/modelDir.ts';
import { reserveOutput } from '../../store/outputDir.ts';
import { MiB, readBounded } from '../../store/readBounded.ts';
import { createProgress } from '../progress.ts';

interface ImportOptions {
  calibration: string;
  out: string;
  name?: string;
  modelVersion: string;
  tokenizer?: string;
  labels?: string;
  force?: boolean;
  json?: boolean;
}

const MAX_ONNX_BYTES = 1024 * MiB;
const MAX_CALIBRATION_BYTES = 256 * MiB;

function parseJson(raw: Uint8Array, path: string, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(raw));
  } catch (cause) {
    throw new InputError(`${what} "${path}" is not valid JSON.`, { cause });
  }
}

async function readTokenizer(path: string): Promise<Uint8Array> {
  const bytes = new Uint8Array(
    await readBounded(path, { maxBytes: MAX_TOKENIZER_BYTES, what: 'Tokenizer file' }),
  );
  try {
    loadTokenizerSpec(parseJson(bytes, path, 'Tokenizer file'));
  } catch (cause) {
    if (cause instanceof InputError) throw cause;
    throw new InputError(`Tokenizer file "${path}" is not a valid tokenizer: ${(cause as Error).message}.`, {
      cause,
    });
  }
  return bytes;
}

export function registerModelImport(model: Command): void {
  model
    .command('import')
    .description('Quantize a float ONNX model into a Verinfer model package')
    .argument('<model.onnx>', 'float ONNX model (PyTorch, TensorFlow or Paddle export)')
    .requiredOption(
      '--calibration <file>',
      'JSON array of sample inputs, each nested arrays or { "shape", "data" }',
    )
    .requiredOption('--out <dir>', 'output directory for the model package (must be new or empty)')
    .option('--name <name>', 'model name (default: the file name)')
    .option('--model-version <version>', 'model version label', '1')
    .option(
      '--tokenizer <file>',
      'tokenizer JSON to ship with the model (text models); its hash joins the model ID',
    )
    .option('--labels <list>', 'comma-separated class labels for the output')
    .option('--force', 'replace a previous model package in --out (never anything else)')
    .option('--json', 'print the report as JSON')
    .action(async (onnxPath: string, opts: ImportOptions) => {
      // --out is checked and locked first: a bad --out fails now, not after a long import.
      const reservation = await reserveOutput(opts.out, { kind: 'model', force: opts.force, flag: '--out' });
      try {
        await importInto(onnxPath, opts, reservation);
      } finally {
        await reservation.release();
      }
    });
}

async function importInto(
  onnxPath: string,
  opts: ImportOptions,
  reservation: Awaited<ReturnType<typeof reserveOutput>>,
): Promise<void> {
  const bytes = new Uint8Array(await readBounded(onnxPath, { maxBytes: MAX_ONNX_BYTES, what: 'ONNX model' }));
  const calibrationJson = parseJson(
    await readBounded(opts.calibration, { maxBytes: MAX_CALIBRATION_BYTES, what: 'Calibration file' }),
    opts.calibration,
    'Calibration file',
  );
  if (!Array.isArray(calibrationJson) || calibrationJson.length === 0) {
    throw new InputError(`Calibration file "${opts.calibration}" must be a non-empty JSON array of inputs.`);
  }
  const calibration = calibrationJson.map((sample, i) => {
    try {
      return parseFloatInput(sample);
    } catch (cause) {
      throw new InputError(`Calibration sample ${i} is malformed.`, {
        cause,
        details: String((cause as Error).message),
      });
    }
  });
  const tokenizerBytes = opts.tokenizer ? await readTokenizer(opts.tokenizer) : undefined;
  const labels = opts.labels?.split(',').map((s) => s.trim());
  const rank = calibration[0].shape.length;
  const inputKind = tokenizerBytes
    ? 'tokens'
    : rank === 4 && calibration[0].shape[1] === 1
      ? 'image'
      : 'tensor';
  const progress = createProgress(!opts.json);
  let result: Awaited<ReturnType<typeof importOnnx>>;
  try {
    result = await importOnnx(bytes, calibration, {
      name: opts.name ?? basename(onnxPath, extname(onnxPath)),
      version: opts.modelVersion,
      inputKind,
      labels,
      onProgress: (stage, done, total) => progress.update(stage, done, total),
    });
  } finally {
    progress.stop();
  }
  if (tokenizerBytes) result.model.meta.tokenizerHash = toHex(keccak256(tokenizerBytes));
  const manifest = await saveModelDir(opts.out, result.model, {
    tokenizer: tokenizerBytes,
    report: result.report,
    reservation,
  });
  if (opts.json) {
    console.log(JSON.stringify({ modelRoot: manifest.modelRoot, out: opts.out, ...result.report }));
    return;
  }
  const r = result.report;
  console.log(`model       ${manifest.name} v${manifest.version}`);
  console.log(`model ID    ${manifest.modelRoot}`);
  console.log(
    `ops         ${r.opCount} (${Object.entries(r.sourceOps)
      .map(([k, v]) => `${k}×${v}`)
      .join(', ')} in the ONNX graph)`,
  );
  console.log(`parameters  ${r.parameterCount.toLocaleString('en-US')}`);
  console.log(
    `agreement   top-1 ${(100 * r.agreement.top1Agreement).toFixed(2)}% of ${r.agreement.samples} calibration samples; ` +
      `output error max ${r.agreement.maxAbsError.toFixed(4)}, mean ${r.agreement.meanAbsError.toFixed(4)}`,
  );
  for (const w of r.warnings) console.log(`warning     ${w}`);
  console.log(`written     ${opts.out}`);
}
