// The dashboard's HTTP server: the built page (dashboard/dist), the deployment it should read, the
// model packages and task inputs that "verify in your browser" fetches, and the nodes' health.
// The page checks everything it fetches from here against roots it reads from the chain itself, so
// this server is a convenience, never a source of truth. It binds to localhost unless told.
import { createReadStream } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Address } from 'viem';
import { type Deployment, deploymentToJson } from '../chain/deploymentFile.ts';
import { VerinferError } from '../errors/base.ts';
import { MiB } from '../store/readBounded.ts';
import { agentEndpoints, type HostAllowance, probeAgent } from './agentProbe.ts';

export class DashboardError extends VerinferError {
  override name: string = 'DashboardError';
}

/** The built page, next to the sources (scripts/buildDashboard.mjs writes it). */
export const DASHBOARD_DIST = fileURLToPath(new URL('../../dashboard/dist', import.meta.url));

/** The largest file this server sends: a model package (the bound of src/store/modelDir.ts). */
export const MAX_SERVED_BYTES = 256 * MiB;
/** A node's /health answer is small; anything longer is cut off and reported unreachable. */
const MAX_HEALTH_BYTES = 64 * 1024;
const HEALTH_TIMEOUT_MS = 1_500;
/** How long one round of agent probes answers every page. */
const AGENT_PROBE_MS = 3_000;
/** The longest request path this server reads. */
const MAX_PATH = 512;

/** The package files the page may fetch; nothing else in a model directory is served. */
const PACKAGE_FILES = new Set(['model.vrnf', 'manifest.json', 'tokenizer.json']);

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

export interface DashboardNode {
  name: string;
  role: string;
  address: string;
  /** The node's /health URL (on this machine). */
  health: string;
}

export interface DashboardServerOptions {
  /** The chain's JSON-RPC URL, as the browser reaches it. */
  rpcUrl: string;
  deployment: Deployment;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  nodes?: DashboardNode[];
  /**
   * A devnet's requester key, handed to the page for "Try it". Only a devnet passes one: its keys
   * are the well-known test keys, holding devnet ether only.
   */
  devnetKey?: `0x${string}`;
  /**
   * Without `nodes`: the agents' endpoints registered in the AgentRegistry at `registry`, read over
   * `rpcUrl` (as this server reaches the chain) and probed for liveness on the allowed hosts only.
   */
  agents?: { rpcUrl: string; registry: Address; allow: HostAllowance };
  /** A folder of task inputs, `<taskId>.bin`, for tasks whose input is not on chain. */
  inputsDir?: string;
  distDir?: string;
}

export interface DashboardServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const HEX32 = /^0x[0-9a-f]{64}$/;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function notFound(res: ServerResponse, what: string): void {
  sendJson(res, 404, { error: what });
}

/** Streams a regular file of at most MAX_SERVED_BYTES; anything else is a 404. */
async function sendFile(res: ServerResponse, path: string, type?: string): Promise<void> {
  const s = await stat(path).catch(() => undefined);
  if (!s?.isFile() || s.size > MAX_SERVED_BYTES) return notFound(res, 'No such file.');
  res.writeHead(200, {
    'content-type': type ?? TYPES[extname(path)] ?? 'application/octet-stream',
    'content-length': s.size,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  createReadStream(path).pipe(res);
}

/** `name` inside `dir`, or undefined when it would leave it (also through a symbolic link). */
export async function insideDir(dir: string, name: string): Promise<string | undefined> {
  if (name.includes('\0') || name.includes('\\')) return undefined;
  const base = resolve(dir);
  const target = resolve(base, `.${sep}${name}`);
  if (target !== base && !target.startsWith(base + sep)) return undefined;
  const real = await realpath(target).catch(() => undefined);
  const realBase = await realpath(base).catch(() => undefined);
  if (!real || !realBase || (real !== realBase && !real.startsWith(realBase + sep))) return undefined;
  return real;
}

/** Reads at most `max` characters of a response body; undefined if it is longer. */
async function boundedText(res: Response, max: number): Promise<string | undefined> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    text += decoder.decode(value, { stream: true });
    if (text.length > max) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
  }
}

/** A /health answer, fetched with a deadline and a size bound, no redirect followed; unreachable is an answer too. */
export async function healthAt(
  url: string,
  base: Omit<DashboardNode, 'health'>,
): Promise<Record<string, unknown>> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS), redirect: 'manual' });
    if (res.status >= 300 && res.status < 400)
      return { ...base, reachable: false, error: 'redirected; not followed' };
    const text = await boundedText(res, MAX_HEALTH_BYTES);
    if (text === undefined) return { ...base, reachable: false, error: 'answer too long' };
    const h = JSON.parse(text) as Record<string, unknown>;
    const num = (v: unknown) => (typeof v === 'string' && /^\d{1,20}$/.test(v) ? v : undefined);
    return {
      ...base,
      reachable: true,
      ok: h.ok === true,
      head: num(h.head),
      lag: num(h.lag),
      lastError: typeof h.lastError === 'string' ? h.lastError.slice(0, 300) : undefined,
    };
  } catch (error) {
    return { ...base, reachable: false, error: String((error as Error).message ?? error).slice(0, 200) };
  }
}

const nodeHealth = (node: DashboardNode) =>
  healthAt(node.health, { name: node.name, role: node.role, address: node.address });

/** Probes the registry's agents at most once per AGENT_PROBE_MS, however many pages ask. */
function agentProber(options: NonNullable<DashboardServerOptions['agents']>) {
  const endpoints = agentEndpoints(options.rpcUrl, options.registry);
  let last: { at: number; value: Promise<Record<string, unknown>[]> } | undefined;
  return (): Promise<Record<string, unknown>[]> => {
    if (last && Date.now() - last.at < AGENT_PROBE_MS) return last.value;
    const value = endpoints().then((list) =>
      Promise.all(list.map((a) => probeAgent(a, options.allow, (url, base) => healthAt(url, base)))),
    );
    last = { at: Date.now(), value };
    // A failed read is not cached: the next request tries again.
    value.catch(() => {
      last = undefined;
    });
    return value;
  };
}

export function dashboardConfig(options: DashboardServerOptions): Record<string, unknown> {
  const d = options.deployment;
  return {
    rpcUrl: options.rpcUrl,
    chainId: d.chainId,
    contracts: (deploymentToJson(d) as { addresses: unknown }).addresses,
    models: d.models.map((m) => ({ name: m.name, root: m.root.toLowerCase(), served: m.dir !== undefined })),
    nodes: (options.nodes ?? []).map((n) => ({ name: n.name, role: n.role, address: n.address })),
    devnet: options.devnetKey ? { requesterKey: options.devnetKey } : null,
  };
}

async function route(
  options: DashboardServerOptions,
  probeAgents: (() => Promise<Record<string, unknown>[]>) | undefined,
  req: IncomingMessage,
  res: ServerResponse,
) {
  if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'GET only.' });
  const rawPath = (req.url ?? '/').split('?')[0];
  if (rawPath.length > MAX_PATH) return notFound(res, 'Path too long.');
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return notFound(res, 'Bad path.');
  }
  if (path === '/api/config') return sendJson(res, 200, dashboardConfig(options));
  if (path === '/api/nodes') {
    if (options.nodes || !probeAgents)
      return sendJson(res, 200, await Promise.all((options.nodes ?? []).map(nodeHealth)));
    const list = await probeAgents().catch(() => undefined);
    return list ? sendJson(res, 200, list) : sendJson(res, 502, { error: 'Cannot read the AgentRegistry.' });
  }
  const pkg = /^\/api\/models\/(0x[0-9a-fA-F]{64})\/([a-z.]+)$/.exec(path);
  if (pkg) {
    const root = pkg[1].toLowerCase();
    const model = options.deployment.models.find((m) => m.root.toLowerCase() === root);
    if (!model?.dir || !PACKAGE_FILES.has(pkg[2])) return notFound(res, 'No such model package file.');
    const file = await insideDir(model.dir, pkg[2]);
    return file ? sendFile(res, file) : notFound(res, 'No such model package file.');
  }
  const input = /^\/api\/inputs\/(0x[0-9a-fA-F]{64})$/.exec(path);
  if (input) {
    if (!options.inputsDir || !HEX32.test(input[1].toLowerCase())) return notFound(res, 'No inputs here.');
    const file = await insideDir(options.inputsDir, `${input[1].toLowerCase()}.bin`);
    return file ? sendFile(res, file, 'application/octet-stream') : notFound(res, 'No such input.');
  }
  if (path.startsWith('/api/')) return notFound(res, 'No such endpoint.');
  const dist = options.distDir ?? DASHBOARD_DIST;
  const file = await insideDir(dist, path === '/' ? 'index.html' : path.slice(1));
  return file ? sendFile(res, file) : notFound(res, 'No such file.');
}

/** Starts the server; fails with a DashboardError when the page was never built. */
export async function serveDashboard(options: DashboardServerOptions): Promise<DashboardServer> {
  const dist = options.distDir ?? DASHBOARD_DIST;
  const index = await readFile(join(dist, 'index.html')).catch(() => undefined);
  if (!index)
    throw new DashboardError(`The dashboard is not built (${join(dist, 'index.html')} is missing).`, {
      metaMessages: ['Build it with `node scripts/buildDashboard.mjs` (npm install does it too).'],
    });
  const probeAgents = options.agents ? agentProber(options.agents) : undefined;
  const server: Server = createServer((req, res) => {
    route(options, probeAgents, req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error: 'Internal error.' });
      else res.destroy();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((done, fail) => {
    server.once('error', (cause) =>
      fail(
        new DashboardError(`Cannot serve the dashboard on ${host}:${options.port ?? 0}.`, {
          cause,
          metaMessages: [
            'Another process holds the port: pass another --dashboard-port, or 0 for a free one.',
          ],
        }),
      ),
    );
    server.listen(options.port ?? 0, host, () => done());
  });
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/`,
    port,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
