import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import type { Command } from 'commander';
import { keccak256, toHex } from '../../commit/keccak.ts';
import { InputError } from '../../errors/base.ts';
import { loadTokenizerSpec } from '../../examples/spamTokenizer.ts';
import { importOnnx, parseFloatInput } from '../../onnx/index.ts';
import { saveModelDir } from '../../store/modelDir.ts';
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

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new InputError(`Cannot read ${what} "${path}".`, { cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new InputError(`${what} "${path}" is not valid JSON.`, { cause });
  }
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
    .option('--force', 'replace a non-empty output directory')
    .option('--json', 'print the report as JSON')
    .action(async (onnxPath: string, opts: ImportOptions) => {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await readFile(onnxPath));
      } catch (cause) {
        throw new InputError(`Cannot read ONNX model "${onnxPath}".`, { cause });
      }
      const calibrationJson = await readJson(opts.calibration, 'Calibration file');
      if (!Array.isArray(calibrationJson) || calibrationJson.length === 0) {
        throw new InputError(
          `Calibration file "${opts.calibration}" must be a non-empty JSON array of inputs.`,
        );
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
      let tokenizerBytes: Uint8Array | undefined;
      if (opts.tokenizer) {
        tokenizerBytes = new Uint8Array(await readFile(opts.tokenizer));
        loadTokenizerSpec(JSON.parse(new TextDecoder().decode(tokenizerBytes)));
      }
      const labels = opts.labels?.split(',').map((s) => s.trim());
      const rank = calibration[0].shape.length;
      const inputKind = tokenizerBytes
        ? 'tokens'
        : rank === 4 && calibration[0].shape[1] === 1
          ? 'image'
          : 'tensor';
      const progress = createProgress(!opts.json);
      const result = await importOnnx(bytes, calibration, {
        name: opts.name ?? basename(onnxPath, extname(onnxPath)),
        version: opts.modelVersion,
        inputKind,
        labels,
        onProgress: (stage, done, total) => progress.update(stage, done, total),
      });
      progress.stop();
      if (tokenizerBytes) result.model.meta.tokenizerHash = toHex(keccak256(tokenizerBytes));
      const manifest = await saveModelDir(opts.out, result.model, {
        tokenizer: tokenizerBytes,
        report: result.report,
        force: opts.force,
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
    });
}
