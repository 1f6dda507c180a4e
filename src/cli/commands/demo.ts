import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { toHex } from '../../commit/keccak.ts';
import { VerinferError } from '../../errors/base.ts';
import { getBackend } from '../../sdk/backends.ts';
import { type DemoModel, runChainDemo } from '../../sdk/chainDemo.ts';
import { EXAMPLES, loadOrImportExample } from '../../sdk/examples.ts';
import { loadInput } from '../../sdk/loadInput.ts';
import { runModel } from '../../sdk/runModel.ts';
import { createProgress } from '../progress.ts';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'Import both example models, run their samples on both backends, then settle a task and win a dispute on the embedded chain',
    )
    .option('--out <dir>', 'where the imported model packages go', '.tmp/demo')
    .action(async (opts: { out: string }) => {
      const reference = await getBackend('reference');
      const fast = await getBackend('fast');
      let mismatches = 0;
      const demoModels: DemoModel[] = [];
      for (const example of EXAMPLES) {
        const dir = resolve(opts.out, example.name);
        const progress = createProgress();
        const pkg = await loadOrImportExample(example, dir, () => {
          console.log(`importing ${example.name} from ${example.onnx}`);
          return (stage, done, total) => progress.update(stage, done, total);
        });
        progress.stop();
        console.log(`\n${example.name}  model ID ${pkg.manifest.modelRoot}  (${pkg.model.ops.length} ops)`);
        const samples = (await readdir(example.samples)).sort();
        for (const file of samples) {
          const input = await loadInput(pkg, join(example.samples, file));
          if (file === samples[0]) demoModels.push({ name: example.name, model: pkg.model, input });
          const a = await runModel(pkg.model, input, reference);
          const b = await runModel(pkg.model, input, fast);
          const same = toHex(a.commitment.traceRoot) === toHex(b.commitment.traceRoot);
          if (!same) mismatches += 1;
          const label = pkg.model.meta.labels?.[b.top[0]] ?? String(b.top[0]);
          console.log(
            `  ${file.padEnd(14)} -> ${label.padEnd(5)} traceRoot ${toHex(b.commitment.traceRoot).slice(0, 18)}…  ` +
              `reference ${a.elapsedMs.toFixed(2)} ms, fast ${b.elapsedMs.toFixed(2)} ms  ${same ? 'roots agree' : 'ROOTS DIFFER'}`,
          );
        }
      }
      if (mismatches > 0)
        throw new VerinferError(`${mismatches} runs gave different roots on the two backends.`);
      console.log('\nEvery run produced bit-identical traces on the reference and fast backends.\n');
      await runChainDemo(demoModels, fast, (line) => console.log(line));
    });
}
