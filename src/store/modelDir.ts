// A model package on disk: model.vrnf, manifest.json and an optional tokenizer.json.
// Writes go to a temporary sibling directory that is renamed into place, so a failure never
// leaves a half-written package behind.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { toHex } from '../commit/keccak.ts';
import { modelRoot } from '../commit/modelRoot.ts';
import { decodeModel, encodeModel, FORMAT_VERSION } from '../engine/format.ts';
import type { Model } from '../engine/graph.ts';
import { ModelFormatError, VerinferError } from '../errors/base.ts';

export const MODEL_FILE = 'model.vrnf';
export const MANIFEST_FILE = 'manifest.json';
export const TOKENIZER_FILE = 'tokenizer.json';

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

export async function saveModelDir(
  dir: string,
  model: Model,
  options: { tokenizer?: Uint8Array; report?: unknown; force?: boolean } = {},
): Promise<Manifest> {
  const target = resolve(dir);
  if (existsSync(target)) {
    const entries = await readdir(target).catch(() => null);
    if (entries === null) throw new ModelDirError(`"${dir}" exists and is not a directory.`);
    if (entries.length > 0 && !options.force) {
      throw new ModelDirError(
        `Output directory "${dir}" is not empty. Choose another --out or pass --force to replace it.`,
      );
    }
  }
  const bytes = encodeModel(model);
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
  await mkdir(dirname(target), { recursive: true });
  const staging = join(dirname(target), `.${basename(target)}.partial-${process.pid}-${Date.now()}`);
  try {
    await mkdir(staging);
    await writeFile(join(staging, MODEL_FILE), bytes);
    if (options.tokenizer) await writeFile(join(staging, TOKENIZER_FILE), options.tokenizer);
    await writeFile(join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    if (existsSync(target)) await rm(target, { recursive: true, force: true });
    await rename(staging, target);
  } catch (cause) {
    await rm(staging, { recursive: true, force: true });
    throw cause;
  }
  return manifest;
}

export async function loadModelDir(dir: string): Promise<ModelPackage> {
  const target = resolve(dir);
  const modelPath = join(target, MODEL_FILE);
  if (!existsSync(modelPath)) {
    throw new ModelDirError(
      `"${dir}" is not a model package: ${MODEL_FILE} is missing. Create one with \`verinfer model import\`.`,
    );
  }
  const model = decodeModel(new Uint8Array(await readFile(modelPath)));
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(target, MANIFEST_FILE), 'utf8'));
  } catch (cause) {
    throw new ModelFormatError(`"${dir}/${MANIFEST_FILE}" is missing or not valid JSON.`, { cause });
  }
  const root = toHex(modelRoot(model));
  if (manifest.modelRoot !== root) {
    throw new ModelFormatError(
      `The manifest names model ${manifest.modelRoot}, but ${MODEL_FILE} has root ${root}.`,
    );
  }
  let tokenizer: unknown;
  if (manifest.files?.tokenizer) {
    const raw = await readFile(join(target, manifest.files.tokenizer));
    const { keccak256 } = await import('../commit/keccak.ts');
    if (model.meta.tokenizerHash !== toHex(keccak256(raw))) {
      throw new ModelFormatError(`The tokenizer file does not match the hash committed in the model.`);
    }
    tokenizer = JSON.parse(raw.toString('utf8'));
  }
  return { dir: target, model, manifest, tokenizer };
}
