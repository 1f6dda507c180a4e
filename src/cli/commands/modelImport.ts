import { basename, extname } from 'node:path';
import type { Command } from 'commander';
import { keccak256, toHex } from '../../commit/keccak.ts';
import { InputError } from '../../errors/base.ts';
import { loadTokenizerSpec } from '../../examples/spamTokenizer.ts';
import { CALIBRATION_METHODS, type CalibrationMethod } from '../../onnx/calibrate.ts';
import type { DerivedInputs } from '../../onnx/deriveInputs.ts';
import { DEFAULT_MAX_PROBABILITY_ERROR } from '../../onnx/drift.ts';
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
  calibrationMethod: string;
  percentile?: string;
  maxDrift?: string;
  strict?: boolean;
  perTensorWeights?: boolean;
  maskFromPad?: string;
  constantInput: string[];
  positionInput: string[];
  biasCorrection?: boolean;
}

/** A number option within [lo, hi], or an InputError naming the flag. */
function numberOption(raw: string | undefined, flag: string, lo: number, hi: number): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || v < lo || v > hi)
    throw new InputError(`${flag} must be a number in [${lo}, ${hi}], got "${raw}".`);
  return v;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** "<id>" or "<input>=<id>" of --mask-from-pad. */
function parseMaskFromPad(raw: string): NonNullable<DerivedInputs['maskFromPad']> {
  const eq = raw.lastIndexOf('=');
  const input = eq >= 0 ? raw.slice(0, eq).trim() : undefined;
  const id = raw.slice(eq + 1).trim();
  const padId = Number(id);
  if (input === '' || id === '' || !Number.isSafeInteger(padId))
    throw new InputError(
      `--mask-from-pad takes a pad token id or <input>=<pad id>, e.g. --mask-from-pad 0, got "${raw}".`,
    );
  return input === undefined ? { padId } : { padId, input };
}

/** The derived inputs of --mask-from-pad, --constant-input and --position-input. */
function derivedInputsOf(opts: ImportOptions): DerivedInputs | undefined {
  const constants: Record<string, number> = {};
  for (const raw of opts.constantInput) {
    const eq = raw.lastIndexOf('=');
    const name = raw.slice(0, eq).trim();
    const value = Number(raw.slice(eq + 1));
    if (eq <= 0 || raw.slice(eq + 1).trim() === '' || !Number.isFinite(value))
      throw new InputError(`--constant-input takes <input>=<number>, e.g. token_type_ids=0, got "${raw}".`);
    if (name in constants) throw new InputError(`--constant-input names input "${name}" twice.`);
    constants[name] = value;
  }
  const positions = opts.positionInput.map((n) => n.trim());
  if (positions.some((n) => n === ''))
    throw new InputError('--position-input takes the name of an input, e.g. position_ids.');
  if (!opts.maskFromPad && Object.keys(constants).length === 0 && positions.length === 0) return undefined;
  return {
    ...(opts.maskFromPad ? { maskFromPad: parseMaskFromPad(opts.maskFromPad) } : {}),
    constants,
    positions,
  };
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
    .option(
      '--calibration-method <method>',
      `activation ranges: ${CALIBRATION_METHODS.join(', ')} (least squared quantization error)`,
      'minmax',
    )
    .option('--percentile <p>', 'percentile kept by --calibration-method percentile, in (50, 100]', '99.99')
    .option(
      '--max-drift <p>',
      `allowed output probability error against the float model; more warns (default ${DEFAULT_MAX_PROBABILITY_ERROR})`,
    )
    .option('--strict', 'fail (exit 1, nothing written) when the drift exceeds --max-drift')
    .option(
      '--per-tensor-weights',
      'one weight scale per tensor instead of per output channel (less accurate)',
    )
    .option(
      '--mask-from-pad <[input=]id>',
      'derive the attention-mask input (default "attention_mask") from the token ids: 1 where the id is not <id>, 0 where it is (Hugging Face exports)',
    )
    .option(
      '--constant-input <input=value>',
      "derive an input as that value everywhere, in the token ids' shape, e.g. token_type_ids=0 (repeatable)",
      collect,
      [],
    )
    .option(
      '--position-input <input>',
      "derive an input as 0, 1, ..., S-1 along the token ids' last axis, e.g. position_ids (repeatable)",
      collect,
      [],
    )
    .option(
      '--bias-correction',
      'shift each conv and dense bias so its mean output per channel matches float on the calibration samples',
    )
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
  const method = opts.calibrationMethod as CalibrationMethod;
  if (!CALIBRATION_METHODS.includes(method))
    throw new InputError(
      `--calibration-method must be one of ${CALIBRATION_METHODS.join(', ')}, got "${opts.calibrationMethod}".`,
    );
  const percentile = numberOption(opts.percentile, '--percentile', 50, 100);
  const maxDrift = numberOption(opts.maxDrift, '--max-drift', 0, 1);
  const derivedInputs = derivedInputsOf(opts);
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
      calibrationMethod: method,
      percentile,
      maxProbabilityError: maxDrift,
      strict: opts.strict === true,
      perTensorWeights: opts.perTensorWeights === true,
      derivedInputs,
      biasCorrection: opts.biasCorrection === true,
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
  // Users importing one ONNX twice with other labels see two IDs; say why once, here.
  console.log(
    '            (hashes the integer weights and scales with the name, version, labels and tokenizer: change any and the ID changes)',
  );
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
  console.log(
    `drift       output probability off by up to ${r.agreement.maxProbabilityError.toFixed(4)} ` +
      `(mean ${r.agreement.meanProbabilityError.toFixed(5)}; allowed ${r.drift.threshold}; ${r.calibrationMethod} calibration` +
      `${r.biasCorrection ? `, bias correction on ${r.biasCorrection.ops} ops` : ''})`,
  );
  if (r.worstLayers.length > 0) {
    console.log('worst layers  added RMS / total RMS / max error, relative to the float range; op');
    for (const l of r.worstLayers) {
      const pct = (v: number) => `${(100 * v).toFixed(2)}%`.padStart(8);
      console.log(
        `  ${pct(l.addedRmsError)} ${pct(l.relRmsError)} ${pct(l.relMaxError)}  ${l.type.padEnd(10)} ${l.op}`,
      );
    }
  }
  for (const w of r.warnings) console.log(`warning     ${w}`);
  console.log(`written     ${opts.out}`);
}
