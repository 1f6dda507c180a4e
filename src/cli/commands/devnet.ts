import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { startDevnet } from '../../devnet/devnet.ts';
import type { NodeLogLine } from '../../devnet/processes.ts';
import { runTour } from '../../devnet/tour.ts';

interface DevnetFlags {
  port: string;
  home?: string;
  withCheater: boolean;
  json: boolean;
  tour: boolean;
  tourOnly: boolean;
  quiet: boolean;
  dashboardPort?: string;
  dashboard: boolean;
}

/** Node log lines worth showing a newcomer (the rest stay in --json output). */
const SHOWN = new Set(['warn', 'error']);

function verinferHome(): string {
  return process.env.VERINFER_HOME ? resolve(process.env.VERINFER_HOME) : join(homedir(), '.verinfer');
}

export function registerDevnet(program: Command): void {
  program
    .command('devnet')
    .description(
      'Start a local chain with Verinfer deployed, both example models registered, and 3 workers and 2 verifiers as separate processes',
    )
    .option('--port <port>', 'JSON-RPC port on 127.0.0.1 (0 = any free port)', '8545')
    .option('--home <dir>', 'the devnet folder (default: $VERINFER_HOME/devnet or ~/.verinfer/devnet)')
    .option('--with-cheater', 'one worker corrupts a share of its results, to be caught and slashed', false)
    .option('--json', 'machine-readable events on stdout, one JSON object per line', false)
    .option('--tour', 'play a short guided tour once the nodes are up, then keep serving', false)
    .option('--tour-only', 'play the tour, then stop everything and exit', false)
    .option('--quiet', 'do not echo node warnings', false)
    .option(
      '--dashboard-port <port>',
      'the dashboard on 127.0.0.1 (0 = any free port; default 8080, or free with --port 0)',
    )
    .option('--no-dashboard', 'do not serve the web dashboard')
    .action(async (flags: DevnetFlags) => {
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 0 || port > 65_535) {
        throw new (await import('../../errors/base.ts')).InputError(
          `--port ${flags.port} is not a TCP port. Use 0..65535 (0 picks a free one).`,
        );
      }
      const dashboardPort = flags.dashboardPort === undefined ? undefined : Number(flags.dashboardPort);
      if (
        dashboardPort !== undefined &&
        (!Number.isInteger(dashboardPort) || dashboardPort < 0 || dashboardPort > 65_535)
      ) {
        throw new (await import('../../errors/base.ts')).InputError(
          `--dashboard-port ${flags.dashboardPort} is not a TCP port. Use 0..65535 (0 picks a free one).`,
        );
      }
      const base = verinferHome();
      const home = flags.home ? resolve(flags.home) : join(base, 'devnet');
      const emit = (event: Record<string, unknown>) => {
        if (flags.json) process.stdout.write(`${JSON.stringify(event)}\n`);
      };
      const say = (line: string) => {
        if (!flags.json) process.stdout.write(`${line}\n`);
      };
      const onNodeLog = (l: NodeLogLine) => {
        if (flags.json) emit({ event: 'log', node: l.node, ...l.line });
        else if (!flags.quiet && SHOWN.has(String(l.line.level))) {
          process.stderr.write(`[${l.node}] ${String(l.line.level)} ${String(l.line.msg ?? '')}\n`);
        }
      };
      const tour = flags.tour || flags.tourOnly;
      const devnet = await startDevnet({
        home,
        modelCache: process.env.VERINFER_MODEL_CACHE
          ? resolve(process.env.VERINFER_MODEL_CACHE)
          : join(base, 'models'),
        port,
        dashboardPort: flags.dashboard ? dashboardPort : null,
        cheatShare: flags.withCheater || tour ? 0.5 : 0,
        onStep: (s) => (flags.json ? emit({ event: 'step', step: s }) : process.stderr.write(`… ${s}\n`)),
        onNodeLog,
      });
      let stopping = false;
      const interrupted = new Promise<void>((done) => {
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
      for (const p of devnet.processes) {
        void p.exited.then((code) => {
          if (!stopping) emit({ event: 'node-exited', node: p.name, code });
          if (!stopping && !flags.json) process.stderr.write(`[${p.name}] exited (${code})\n`);
        });
      }
      const ready = devnet.readyEvent();
      emit(ready);
      say(`Verinfer devnet ready
  RPC        ${devnet.rpcUrl}   (chain id ${devnet.chain.deployment.chainId})
  dashboard  ${devnet.dashboardUrl ?? '(not served)'}
  deployment ${devnet.chain.deploymentFile}`);
      for (const [name, address] of Object.entries(devnet.chain.deployment.addresses))
        say(`  ${name.padEnd(14)} ${address}`);
      for (const [name, address] of Object.entries(devnet.chain.deployment.apps ?? {}))
        say(`  ${name.padEnd(14)} ${address}   (example app)`);
      for (const m of devnet.chain.deployment.models) say(`  model ${m.name.padEnd(8)} ${m.root}`);
      for (const n of devnet.nodes)
        say(
          `  ${n.name.padEnd(11)} ${n.address}  pid ${n.pid}${n.cheater ? '  (cheats)' : ''}  key ${n.privateKey}`,
        );
      say(`  requester  ${devnet.requester.address}  key ${devnet.requester.privateKey}`);
      say('  (devnet test keys: they hold devnet ether only)');
      try {
        if (tour) await runTour(devnet, { log: say, emit });
        if (!flags.tourOnly) {
          say('\nServing until interrupted (Ctrl-C).');
          await interrupted;
          say('\nstopping the devnet…');
        }
      } finally {
        stopping = true;
        await devnet.stop();
        emit({ event: 'stopped' });
      }
    });
}
