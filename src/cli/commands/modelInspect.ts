import type { Command } from 'commander';
import { elementCount } from '../../engine/graph.ts';
import { countParameters } from '../../engine/parameters.ts';
import { stepCostReport } from '../../engine/stepCost.ts';
import { loadModelDir } from '../../store/modelDir.ts';

export function registerModelInspect(model: Command): void {
  model
    .command('inspect')
    .description('Print a model package: ID, input, output and every op')
    .argument('<modelDir>', 'model package directory')
    .option('--json', 'print JSON')
    .action(async (modelDir: string, opts: { json?: boolean }) => {
      const { model: m, manifest } = await loadModelDir(modelDir);
      // The same count as the import report: learned constants only, not scales or tables.
      const params = countParameters(m);
      const constValues = [...m.consts.values()].reduce((n, d) => n + d.length, 0);
      // The worst-case gas of a dispute's one-step proof of each op, at batch 1.
      const steps = stepCostReport(m);
      const ops = m.ops.map((op, k) => ({
        index: k,
        type: op.type,
        name: op.name,
        output: m.tensors[op.output].shape,
        stepGas: steps[k].gas,
        stepChunks: steps[k].chunks,
        // A conv, avgpool or reducemean settled as a chain of committed partial sums: its segment count
        // (stepGas is then the dearer of one segment step and the final step).
        ...(steps[k].segments ? { stepSegments: steps[k].segments } : {}),
      }));
      if (opts.json) {
        console.log(JSON.stringify({ ...manifest, parameters: params, constantValues: constValues, ops }));
        return;
      }
      const input = m.tensors[m.input];
      console.log(`model       ${manifest.name} v${manifest.version}`);
      console.log(`model ID    ${manifest.modelRoot}`);
      console.log(
        `input       ${input.dtype} [B,${input.shape.slice(1).join(',')}] scale ${input.scale} zero point ${input.zeroPoint}`,
      );
      console.log(
        `parameters  ${params.toLocaleString('en-US')} (weights, biases, norms, embeddings); ` +
          `${constValues.toLocaleString('en-US')} constant values in ${m.consts.size} tensors with scales and tables`,
      );
      for (const op of ops) {
        const count = elementCount(op.output);
        console.log(
          `  ${String(op.index).padStart(3)}  ${op.type.padEnd(10)} [${op.output.join(',')}] (${count})  step ≤ ${op.stepGas.toLocaleString('en-US')} gas${op.stepSegments ? ` (${op.stepSegments} partial sums)` : ''}  ${op.name}`,
        );
      }
    });
}
