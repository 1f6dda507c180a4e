// `verinfer devnet`: a local chain with Verinfer deployed, both example models registered, and
// worker and verifier nodes as separate OS processes. Everything it starts, it stops.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { formatEther } from 'viem';
import { type DashboardServer, serveDashboard } from '../dashboard/server.ts';
import { VerinferError } from '../errors/base.ts';
import {
  DEVNET_VERIFIER_STAKE,
  DEVNET_WORKER_STAKE,
  type DevnetAccount,
  type DevnetChain,
  devnetAccounts,
  startDevnetChain,
} from './chain.ts';
import { type NodeLogLine, type NodeProcess, startNodeProcess } from './processes.ts';

export interface DevnetOptions {
  /** The devnet's folder: configs, databases, the deployment file. Emptied at each start. */
  home: string;
  /** Example packages are imported once into this folder and reused. */
  modelCache: string;
  port: number;
  workers?: number;
  verifiers?: number;
  /** One worker corrupts this share of its results (0 = nobody cheats). */
  cheatShare?: number;
  /** The dashboard's port on 127.0.0.1 (0 = any free port; null = no dashboard). Default 8080. */
  dashboardPort?: number | null;
  onStep?: (step: string) => void;
  onNodeLog?: (line: NodeLogLine) => void;
}

export interface DevnetNodeInfo {
  name: string;
  role: 'worker' | 'verifier';
  address: `0x${string}`;
  privateKey: `0x${string}`;
  pid: number;
  configFile: string;
  healthUrl: string;
  cheater: boolean;
}

export interface Devnet {
  chain: DevnetChain;
  rpcUrl: string;
  nodes: DevnetNodeInfo[];
  processes: NodeProcess[];
  /** A funded account for requests (the tour and the CLI's default on the devnet). */
  requester: DevnetAccount;
  /** The dashboard's URL, when it is served. */
  dashboardUrl?: string;
  readyEvent(): Record<string, unknown>;
  stop(): Promise<void>;
}

/** A free TCP port on localhost, for a node's health endpoint (so that the ready line can name it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Health ports: 9300 + i by default; free ones when the chain's port is random too. */
async function healthPort(base: number, i: number): Promise<number> {
  return base === 0 ? freePort() : 9300 + i;
}

export async function startDevnet(options: DevnetOptions): Promise<Devnet> {
  const workers = options.workers ?? 3;
  const verifiers = options.verifiers ?? 2;
  const step = options.onStep ?? (() => {});
  await rm(options.home, { recursive: true, force: true });
  await mkdir(options.home, { recursive: true });
  const chain = await startDevnetChain({
    home: options.home,
    port: options.port,
    modelCache: options.modelCache,
    onStep: step,
  });
  const accounts = devnetAccounts(workers, verifiers);
  const nodeAccounts = accounts.filter((a) => a.role === 'worker' || a.role === 'verifier');
  const requester = accounts.find((a) => a.role === 'requester')!;
  const processes: NodeProcess[] = [];
  const nodes: DevnetNodeInfo[] = [];
  try {
    let workerIndex = 0;
    let verifierIndex = 0;
    for (const [i, account] of nodeAccounts.entries()) {
      const role = account.role as 'worker' | 'verifier';
      const n = role === 'worker' ? ++workerIndex : ++verifierIndex;
      const name = `${role}-${n}`;
      const cheater = role === 'worker' && n === workers && (options.cheatShare ?? 0) > 0;
      const dir = join(options.home, name);
      await mkdir(dir, { recursive: true });
      const port = await healthPort(options.port, i);
      const stake = formatEther(role === 'worker' ? DEVNET_WORKER_STAKE : DEVNET_VERIFIER_STAKE);
      const config = {
        devnet: true,
        rpcUrl: chain.rpc.url,
        deployment: chain.deploymentFile,
        fromBlock: 0,
        roles: [role],
        key: { privateKey: account.privateKey },
        database: join(dir, 'node.db'),
        models: { dirs: chain.deployment.models.flatMap((m) => (m.dir ? [m.dir] : [])) },
        http: { port },
        p2p: { listen: ['/ip4/127.0.0.1/tcp/0'] },
        pollIntervalMs: 250,
        ...(role === 'worker'
          ? { worker: { stake, cheat: cheater ? options.cheatShare : 0, takeStaggerBlocks: workers } }
          : { verifier: { stake, watchShare: 1 } }),
      };
      const configFile = join(dir, 'config.json');
      await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
      step(`starting ${name}${cheater ? ' (cheats)' : ''}`);
      const p = startNodeProcess({ name, configFile }, options.onNodeLog ?? (() => {}));
      processes.push(p);
      nodes.push({
        name,
        role,
        address: account.address,
        privateKey: account.privateKey,
        pid: p.pid,
        configFile,
        healthUrl: `http://127.0.0.1:${port}/health`,
        cheater,
      });
    }
  } catch (error) {
    await Promise.all(processes.map((p) => p.stop()));
    await chain.close();
    throw error;
  }
  let dashboard: DashboardServer | undefined;
  if (options.dashboardPort !== null) {
    try {
      dashboard = await serveDashboard({
        rpcUrl: chain.rpc.url,
        deployment: chain.deployment,
        port: options.dashboardPort ?? (options.port === 0 ? 0 : 8080),
        nodes: nodes.map((n) => ({ name: n.name, role: n.role, address: n.address, health: n.healthUrl })),
        devnetKey: requester.privateKey,
      });
      step(`serving the dashboard on ${dashboard.url}`);
    } catch (error) {
      // The network is useful without its page: say why there is none and go on.
      step(`no dashboard: ${error instanceof VerinferError ? error.message : String(error)}`);
    }
  }
  const stop = async () => {
    await dashboard?.close();
    await Promise.all(processes.map((p) => p.stop()));
    await chain.close();
  };
  return {
    chain,
    rpcUrl: chain.rpc.url,
    nodes,
    processes,
    requester,
    dashboardUrl: dashboard?.url,
    stop,
    readyEvent: () => ({
      event: 'ready',
      rpcUrl: chain.rpc.url,
      ...(dashboard ? { dashboardUrl: dashboard.url } : {}),
      chainId: chain.deployment.chainId,
      contracts: chain.deployment.addresses,
      apps: chain.deployment.apps,
      deploymentFile: chain.deploymentFile,
      models: chain.deployment.models.map((m) => ({ name: m.name, root: m.root })),
      requester: { address: requester.address, privateKey: requester.privateKey },
      nodes: nodes.map((n) => ({
        name: n.name,
        role: n.role,
        address: n.address,
        privateKey: n.privateKey,
        pid: n.pid,
        health: n.healthUrl,
        cheater: n.cheater,
      })),
    }),
  };
}
