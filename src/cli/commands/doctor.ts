import type { Command } from 'commander';
import { runDoctor } from '../../node/doctor.ts';
import { jsonLine } from '../options.ts';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description("Check a node's config, RPC, key, stake, models and peer settings, and say what to fix")
    .requiredOption('--config <file>', 'the node config file')
    .option('--json', 'one JSON object on stdout', false)
    .action(async (opts: { config: string; json: boolean }) => {
      const checks = await runDoctor(opts.config);
      const failed = checks.filter((c) => !c.ok);
      if (opts.json) process.stdout.write(jsonLine({ ok: failed.length === 0, checks }));
      else {
        for (const c of checks) {
          console.log(`${c.ok ? '✓' : '✗'} ${c.name.padEnd(10)} ${c.detail}`);
          if (!c.ok && c.fix) console.log(`  → ${c.fix}`);
        }
        console.log(failed.length === 0 ? '\nAll checks passed.' : `\n${failed.length} check(s) failed.`);
      }
      if (failed.length > 0) process.exitCode = 1;
    });
}
