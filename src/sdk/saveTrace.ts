// Writes a full trace to a directory: one binary file per op output plus a manifest with roots.
// The directory appears whole or not at all (see store/outputDir.ts), and an existing directory
// is replaced only if it holds a previous trace.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toHex } from '../commit/keccak.ts';
import { tensorBytes } from '../commit/tensorRoot.ts';
import type { Model } from '../engine/graph.ts';
import { type OutputReservation, reserveOutput } from '../store/outputDir.ts';
import type { RunModelReturnType } from './runModel.ts';

export interface SaveTraceOptions {
  /** Replace a previous trace in `dir` (never anything else). */
  force?: boolean;
  /** The directory reserved earlier with `reserveOutput`, so a bad --trace fails before the run. */
  reservation?: OutputReservation;
}

export async function saveTrace(
  dir: string,
  model: Model,
  run: RunModelReturnType,
  options: SaveTraceOptions = {},
): Promise<void> {
  const reservation =
    options.reservation ??
    (await reserveOutput(dir, { kind: 'trace', force: options.force, flag: '--trace' }));
  await reservation.commit(async (staging) => {
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
  });
}
