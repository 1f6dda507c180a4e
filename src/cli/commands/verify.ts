// `verinfer verify <taskId>`: re-run a task's model locally on its published input and compare
// every posted root; exit code 0 when they all agree, 1 when any differs.
import type { Command } from 'commander';
import { getTask, verifyTask } from '../../client/index.ts';
import { InputError, VerinferError } from '../../errors/base.ts';
import { connect, hex32Option, modelPackage, type NetworkFlags, networkOptions } from '../network.ts';
import { jsonLine } from '../options.ts';

interface VerifyFlags extends NetworkFlags {
  modelDir?: string;
  json: boolean;
}

export class VerifyMismatchError extends VerinferError {
  override name = 'VerifyMismatchError' as const;
}

export function registerVerify(program: Command): void {
  const cmd = program
    .command('verify')
    .description(
      "Re-run a task's model locally and check the posted result against it (exit 1 on a mismatch)",
    )
    .argument('<taskId>', 'the task ID (32 bytes of hex)')
    .option('--model-dir <dir>', "the model's local package (default: the deployment's)")
    .option('--json', 'one JSON object on stdout', false);
  networkOptions(cmd, false).action(async (id: string, flags: VerifyFlags) => {
    const taskId = hex32Option(id, 'taskId');
    const net = await connect(flags);
    const t = await getTask(net.reader, { taskId });
    if (!t.task) throw new InputError(`The terms of task ${taskId} were not found in the market's events.`);
    const { pkg, name } = await modelPackage(net.deployment, t.task.modelRoot, flags.modelDir);
    const v = await verifyTask(net.reader, { taskId, model: pkg.model });
    if (flags.json) process.stdout.write(jsonLine({ taskId, status: t.status, model: name, ...v }));
    else {
      console.log(`task        ${taskId} (${t.status})`);
      console.log(`model       ${name} ${t.task.modelRoot}`);
      console.log(`input root  ${v.inputRoot}`);
      console.log(`output root ${v.outputRoot}`);
      console.log(`commitment  ${v.commitment}`);
      if (v.ok) console.log('ok          the posted result is what the model computes');
      for (const m of v.mismatches)
        console.log(`mismatch    ${m.field}: expected ${m.expected}, posted ${m.posted}`);
    }
    if (!v.ok)
      throw new VerifyMismatchError(
        `Task ${taskId}'s posted result is wrong: ${v.mismatches.map((m) => m.field).join(', ')} differ from the local run.`,
        { metaMessages: ['While the challenge window is open, a staked verifier can challenge it.'] },
      );
  });
}
