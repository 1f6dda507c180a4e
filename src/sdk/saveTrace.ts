// Writes a full trace to a directory: one binary file per op output plus a manifest with roots.
// The directory appears whole or not at all.
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { toHex } from '../commit/keccak.ts';
import { tensorBytes } from '../commit/tensorRoot.ts';
import type { Model } from '../engine/graph.ts';
import { VerinferError } from '../errors/base.ts';
import type { RunModelReturnType } from './runModel.ts';

export async function saveTrace(dir: string, model: Model, run: RunModelReturnType): Promise<void> {
  const target = resolve(dir);
  if (existsSync(target) && (await readdir(target)).length > 0) {
    throw new VerinferError(`Trace directory "${dir}" is not empty. Choose an empty or new directory.`);
  }
  await mkdir(dirname(target), { recursive: true });
  const staging = join(dirname(target), `.${basename(target)}.partial-${process.pid}`);
  try {
    await mkdir(staging, { recursive: true });
    const ops = [];
    for (let k = 0; k < run.trace.length; k++) {
      const t = run.trace[k];
      const file = `op-${String(k).padStart(4, '0')}.bin`;
      await writeFile(join(staging, file), tensorBytes(t.dtype, t.data));
      const op = model.ops[k];
      ops.push({
        index: k,
        name: op.name,
        type: op.type,
        shape: t.shape,
        zeroPoint: t.zeroPoint,
        root: toHex(run.commitment.opRoots[k]),
        file,
      });
    }
    const manifest = {
      modelRoot: toHex(run.modelRoot),
      inputRoot: toHex(run.commitment.inputRoot),
      outputRoot: toHex(run.commitment.outputRoot),
      traceRoot: toHex(run.commitment.traceRoot),
      ops,
    };
    await writeFile(join(staging, 'trace.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await rm(target, { recursive: true, force: true });
    await rename(staging, target);
  } catch (cause) {
    await rm(staging, { recursive: true, force: true });
    throw cause;
  }
}
