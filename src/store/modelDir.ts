// A model package on disk: model.vrnf, manifest.json and an optional tokenizer.json.
// Writes go through reserveOutput (outputDir.ts): a staging sibling renamed into place under a
// lock, so a failure or Ctrl-C never leaves a half-written package and --force never deletes
// anything but a previous package. Reads are bounded and manifest paths stay inside the package.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { keccak256, toHex } from '../commit/keccak.ts';
import { modelRoot } from '../commit/modelRoot.ts';
import { decodeModel, encodeModel, FORMAT_VERSION } from '../engine/format.ts';
import type { Model } from '../engine/graph.ts';
import { ModelFormatError, VerinferError } from '../errors/base.ts';
import { type OutputReservation, reserveOutput } from './outputDir.ts';
import { MiB, readBounded } from './readBounded.ts';

export const MODEL_FILE = 'model.vrnf';
export const MANIFEST_FILE = 'manifest.json';
export const TOKENIZER_FILE = 'tokenizer.json';
const MAX_MODEL_BYTES = 1024 * MiB;
const MAX_MANIFEST_BYTES = 16 * MiB;
export const MAX_TOKENIZER_BYTES = 64 * MiB;

export interface Manifest {
  format: 'verinfer-model';
  formatVersion: number;
  modelRoot: `0x${string}`;
  name: string;
  version: string;
  inputKind: Model['meta']['inputKind'];
  labels?: string[];
  files: { model: string; tokenizer?: string };
  /** Free-form facts from the import (op count, parameters, agreement with the float model). */
  report?: unknown;
}

export interface ModelPackage {
  dir: string;
  model: Model;
  manifest: Manifest;
  /** The tokenizer JSON, when the package has one. */
  tokenizer?: unknown;
}

export class ModelDirError extends VerinferError {
  override name = 'ModelDirError' as const;
}

export interface SaveModelDirOptions {
  tokenizer?: Uint8Array;
  report?: unknown;
  /** Replace a previous model package in `dir` (never anything else). */
  force?: boolean;
  /** The directory reserved earlier with `reserveOutput`, so the check ran before a long import. */
  reservation?: OutputReservation;
}

export async function saveModelDir(
  dir: string,
  model: Model,
  options: SaveModelDirOptions = {},
): Promise<Manifest> {
  const reservation =
    options.reservation ?? (await reserveOutput(dir, { kind: 'model', force: options.force }));
  let bytes: Uint8Array;
  try {
    bytes = encodeModel(model);
  } catch (error) {
    await reservation.release();
    throw error;
  }
  const manifest: Manifest = {
    format: 'verinfer-model',
    formatVersion: FORMAT_VERSION,
    modelRoot: toHex(modelRoot(model)),
    name: model.meta.name,
    version: model.meta.version,
    inputKind: model.meta.inputKind,
    ...(model.meta.labels ? { labels: model.meta.labels } : {}),
    files: { model: MODEL_FILE, ...(options.tokenizer ? { tokenizer: TOKENIZER_FILE } : {}) },
    ...(options.report === undefined ? {} : { report: options.report }),
  };
  const tokenizer = options.tokenizer;
  await reservation.commit(async (staging) => {
    await writeFile(join(staging, MODEL_FILE), bytes);
    if (tokenizer) await writeFile(join(staging, TOKENIZER_FILE), tokenizer);
    await writeFile(join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  });
  return manifest;
}

/** A file name from a manifest, checked to stay inside the package directory. */
function packagePath(dir: string, target: string, name: unknown, field: string): string {
  const safe =
    typeof name === 'string' &&
    name.length > 0 &&
    name.length <= 255 &&
    !isAbsolute(name) &&
    !name.split(/[\\/]/).some((part) => part === '..' || part === '') &&
    !name.includes('\0');
  if (!safe) {
    throw new ModelFormatError(
      `"${dir}/${MANIFEST_FILE}" names ${field} ${JSON.stringify(name)}, which is not a file inside the package. Re-create the package with \`verinfer model import\`.`,
    );
  }
  return join(target, name);
}

export async function loadModelDir(dir: string): Promise<ModelPackage> {
  const target = resolve(dir);
  const modelPath = join(target, MODEL_FILE);
  if (!existsSync(modelPath)) {
    throw new ModelDirError(
      `"${dir}" is not a model package: ${MODEL_FILE} is missing. Create one with \`verinfer model import\`.`,
    );
  }
  const model = decodeModel(
    new Uint8Array(await readBounded(modelPath, { maxBytes: MAX_MODEL_BYTES, what: 'Model file' })),
  );
  let manifest: Manifest;
  try {
    const raw = await readBounded(join(target, MANIFEST_FILE), {
      maxBytes: MAX_MANIFEST_BYTES,
      what: 'Manifest',
    });
    manifest = JSON.parse(raw.toString('utf8'));
  } catch (cause) {
    throw new ModelFormatError(`"${dir}/${MANIFEST_FILE}" is missing, too large or not valid JSON.`, {
      cause,
    });
  }
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) {
    throw new ModelFormatError(`"${dir}/${MANIFEST_FILE}" is not a JSON object.`);
  }
  const root = toHex(modelRoot(model));
  if (manifest.modelRoot !== root) {
    throw new ModelFormatError(
      `The manifest names model ${manifest.modelRoot}, but ${MODEL_FILE} has root ${root}.`,
    );
  }
  if (manifest.files?.model !== undefined && manifest.files.model !== MODEL_FILE) {
    packagePath(dir, target, manifest.files.model, 'the model file');
    throw new ModelFormatError(
      `"${dir}/${MANIFEST_FILE}" names model file "${manifest.files.model}"; it must be ${MODEL_FILE}.`,
    );
  }
  let tokenizer: unknown;
  const tokenizerName = manifest.files?.tokenizer;
  if (tokenizerName === undefined && model.meta.tokenizerHash !== undefined) {
    throw new ModelDirError(
      `Model package "${dir}" has no tokenizer, but its model was imported with one. Re-import it with --tokenizer.`,
    );
  }
  if (tokenizerName !== undefined) {
    const path = packagePath(dir, target, tokenizerName, 'the tokenizer file');
    if (!existsSync(path)) {
      throw new ModelDirError(
        `Model package "${dir}" is missing its tokenizer "${tokenizerName}". Copy the whole package directory, or re-import it with --tokenizer.`,
      );
    }
    const raw = await readBounded(path, { maxBytes: MAX_TOKENIZER_BYTES, what: 'Tokenizer file' });
    if (model.meta.tokenizerHash !== toHex(keccak256(raw))) {
      throw new ModelFormatError(`The tokenizer file does not match the hash committed in the model.`);
    }
    try {
      tokenizer = JSON.parse(raw.toString('utf8'));
    } catch (cause) {
      throw new ModelFormatError(`The tokenizer of "${dir}" is not valid JSON.`, { cause });
    }
  }
  return { dir: target, model, manifest, tokenizer };
}
