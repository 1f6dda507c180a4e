import type { Command } from 'commander';
import { resolveDeployment } from '../../chain/deploymentFile.ts';
import { hostAllowance } from '../../dashboard/agentProbe.ts';
import { serveDashboard } from '../../dashboard/server.ts';
import { InputError } from '../../errors/base.ts';

interface DashboardFlags {
  rpc: string;
  deployment?: string;
  port: string;
  host: string;
  inputs?: string;
  agentHosts?: string;
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

export function registerDashboard(program: Command): void {
  program
    .command('dashboard')
    .description('Serve the web dashboard for a Verinfer chain (the page reads the chain itself)')
    .requiredOption('--rpc <url>', 'the chain JSON-RPC URL, as the browser reaches it')
    .option('--deployment <file>', 'the deployment file (default: ask the devnet at --rpc)')
    .option('--port <port>', 'HTTP port (0 = any free port)', '8080')
    .option('--host <host>', 'interface to bind (localhost unless you mean to expose it)', '127.0.0.1')
    .option('--inputs <dir>', 'a folder of task inputs, <taskId>.bin, for tasks without inline input')
    .option(
      '--agent-hosts <hosts>',
      "hosts whose registered agent endpoints this server may probe for liveness, comma-separated, or '*' (default: loopback only)",
    )
    .action(async (flags: DashboardFlags) => {
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 0 || port > 65_535)
        throw new InputError(`--port ${flags.port} is not a TCP port. Use 0..65535 (0 picks a free one).`);
      let rpc: URL;
      try {
        rpc = new URL(flags.rpc);
      } catch {
        throw new InputError(`--rpc ${flags.rpc} is not a URL. Pass e.g. http://127.0.0.1:8545.`);
      }
      if (rpc.protocol !== 'http:' && rpc.protocol !== 'https:')
        throw new InputError(`--rpc must be an http(s) URL, not ${rpc.protocol}`);
      const deployment = await resolveDeployment(flags.rpc, flags.deployment);
      const server = await serveDashboard({
        rpcUrl: flags.rpc,
        deployment,
        host: flags.host,
        port,
        inputsDir: flags.inputs,
        // No node list here: liveness comes from the agents' own registered endpoints.
        agents: {
          rpcUrl: flags.rpc,
          registry: deployment.addresses.agentRegistry,
          allow: hostAllowance(flags.agentHosts),
        },
      });
      console.log(`Verinfer dashboard on ${server.url}  (chain ${flags.rpc}, id ${deployment.chainId})`);
      if (flags.agentHosts)
        console.log(`  probes agent endpoints on loopback and: ${flags.agentHosts.slice(0, 200)}`);
      if (!LOCAL_HOSTS.has(flags.host))
        console.log(`  bound to ${flags.host}: anyone who reaches this interface can open it`);
      await new Promise<void>((done) => {
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
      await server.close();
    });
}
