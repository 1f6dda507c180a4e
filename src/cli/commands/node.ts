import type { Command } from 'commander';
import { ENV_OVERRIDES, loadConfig } from '../../node/config.ts';
import { nodeFromConfig } from '../../node/fromConfig.ts';
import { redact } from '../../node/log.ts';

export function registerNode(program: Command): void {
  program
    .command('node')
    .description('Run a worker and/or verifier node against a chain where Verinfer is deployed')
    .requiredOption('--config <file>', 'node config (JSON); see src/node/config.ts for the fields')
    .option('--check', 'validate the config, print it (secrets redacted) and exit')
    .addHelpText(
      'after',
      `\nEnvironment overrides:\n${ENV_OVERRIDES.map((o) => `  ${o.variable.padEnd(26)} ${o.field}`).join('\n')}`,
    )
    .action(async (opts: { config: string; check?: boolean }) => {
      const config = loadConfig(opts.config);
      if (opts.check) {
        console.log(JSON.stringify(redact(config, new Set()), null, 2));
        return;
      }
      const running = await nodeFromConfig(config);
      await running.node.start();
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          running.log.info('stopping', { signal });
          process.off('SIGINT', onInt);
          process.off('SIGTERM', onTerm);
          resolve();
        };
        const onInt = () => stop('SIGINT');
        const onTerm = () => stop('SIGTERM');
        process.on('SIGINT', onInt);
        process.on('SIGTERM', onTerm);
      });
      await running.close();
    });
}
