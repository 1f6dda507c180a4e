// The `verinfer` command line. Only this module may end the process.
import { Command, CommanderError } from 'commander';
import { VerinferError } from '../errors/base.ts';
import { registerAgent } from './commands/agent.ts';
import { registerDashboard } from './commands/dashboard.ts';
import { registerDemo } from './commands/demo.ts';
import { registerDevnet } from './commands/devnet.ts';
import { registerDoctor } from './commands/doctor.ts';
import { registerInfer } from './commands/infer.ts';
import { registerKey } from './commands/key.ts';
import { registerMcp } from './commands/mcp.ts';
import { registerModelImport } from './commands/modelImport.ts';
import { registerModelInspect } from './commands/modelInspect.ts';
import { registerModelRun } from './commands/modelRun.ts';
import { registerNode } from './commands/node.ts';
import { registerData, registerModelRegistry } from './commands/registry.ts';
import { registerStatus } from './commands/status.ts';
import { registerVerify } from './commands/verify.ts';

const program = new Command()
  .name('verinfer')
  .description('Verifiable AI inference: exact integer models, Merkle commitments, on-chain disputes.')
  .version('0.1.0')
  .enablePositionalOptions()
  .showHelpAfterError()
  .exitOverride();

const model = program.command('model').description('Import, inspect, run and register quantized models');
registerModelImport(model);
registerModelRun(model);
registerModelInspect(model);
registerModelRegistry(model);
registerDashboard(program);
registerDemo(program);
registerDevnet(program);
registerDoctor(program);
registerStatus(program);
registerNode(program);
registerKey(program);
registerInfer(program);
registerVerify(program);
registerData(program);
registerAgent(program);
registerMcp(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode;
  } else if (error instanceof VerinferError) {
    console.error(`error: ${error.message}`);
    process.exitCode = 1;
  } else {
    console.error(
      'error: unexpected failure. This is a bug in Verinfer; please report it with the input that caused it.',
    );
    console.error(error);
    process.exitCode = 2;
  }
}
