import type { Command } from 'commander';
import { BACKEND_NAMES, backendLabel, getBackend } from '../../sdk/backends.ts';
import { loadInput } from '../../sdk/loadInput.ts';
import { runModel, runSummary } from '../../sdk/runModel.ts';
import { saveTrace } from '../../sdk/saveTrace.ts';
import { loadModelDir } from '../../store/modelDir.ts';
import { reserveOutput } from '../../store/outputDir.ts';

interface RunOptions {
  input: string;
  backend: string;
  json?: boolean;
  trace?: string;
  force?: boolean;
}

export function registerModelRun(model: Command): void {
  model
    .command('run')
    .description('Run a model package on one input and print the output and its commitments')
    .argument('<modelDir>', 'model package directory (from `verinfer model import`)')
    .requiredOption(
      '--input <file>',
      'input: JSON float tensor, a PNG image, or a text file for models with a tokenizer',
    )
    .option('--backend <name>', `execution backend: ${BACKEND_NAMES.join(' | ')}`, 'fast')
    .option('--json', 'print one machine-readable JSON object')
    .option('--trace <dir>', 'save every op output and its root to this directory (must be new or empty)')
    .option('--force', 'replace a previous trace in the --trace directory')
    .action(async (modelDir: string, opts: RunOptions) => {
      const backend = await getBackend(opts.backend);
      const pkg = await loadModelDir(modelDir);
      const input = await loadInput(pkg, opts.input, { onWarning: (m) => console.error(`warning: ${m}`) });
      // The trace directory is checked and locked before the run, not after it.
      const reservation = opts.trace
        ? await reserveOutput(opts.trace, { kind: 'trace', force: opts.force, flag: '--trace' })
        : undefined;
      let run: Awaited<ReturnType<typeof runModel>>;
      try {
        run = await runModel(pkg.model, input, backend);
        if (opts.trace) await saveTrace(opts.trace, pkg.model, run, { reservation });
      } finally {
        await reservation?.release();
      }
      const summary = runSummary(run);
      if (opts.json) {
        console.log(JSON.stringify({ ...summary, backend: backendLabel(backend) }));
        return;
      }
      const labels = pkg.model.meta.labels;
      const width = run.output.shape[run.output.shape.length - 1];
      console.log(`model       ${pkg.manifest.name} v${pkg.manifest.version}  ${pkg.manifest.modelRoot}`);
      console.log(
        `input       ${opts.input} -> ${input.dtype} [${input.shape.join(',')}]  root ${summary.inputRoot}`,
      );
      console.log(
        `backend     ${backendLabel(backend)}, ${pkg.model.ops.length} ops, ${run.elapsedMs.toFixed(2)} ms`,
      );
      console.log(`output      [${summary.output.join(', ')}]`);
      for (let row = 0; row < run.top.length; row++) {
        const scores = run.dequantized.slice(row * width, (row + 1) * width);
        const ranked = scores
          .map((s, i) => [i, s] as const)
          .sort((a, b) => b[1] - a[1] || a[0] - b[0])
          .slice(0, 3);
        const text = ranked.map(([i, s]) => `${labels?.[i] ?? i} (${s.toFixed(3)})`).join(', ');
        console.log(`top${run.top.length > 1 ? `[${row}]` : '   '}      ${text}`);
      }
      console.log(`outputRoot  ${summary.outputRoot}`);
      console.log(`checkpoint  ${summary.checkpointRoot}`);
      console.log(`traceRoot   ${summary.traceRoot}`);
      if (opts.trace) console.log(`trace       ${run.trace.length} op outputs written to ${opts.trace}`);
    });
}
