// Agent liveness for a dashboard started without a node list (`verinfer dashboard --rpc`): the
// agents' own endpoints, as registered in the AgentRegistry, probed from this server. The endpoints
// are the agents' claims on chain, so hostile: only hosts the operator allows are contacted
// (loopback unless told), with a deadline and a size bound; an http(s) endpoint is asked for its
// /health (no redirects followed), a libp2p multiaddr endpoint only for a TCP connection to its
// host and port (nothing is sent). At most MAX_AGENTS agents, the most recently registered first.
import { connect } from 'node:net';
import { type Address, createPublicClient, http, parseAbiItem } from 'viem';
import type { DashboardNode } from './server.ts';

export const MAX_AGENTS = 256;
const MAX_ENDPOINT = 256;
const PROBE_TIMEOUT_MS = 1_500;
/** Blocks per getLogs call, and calls per refresh, so that one request never reads for long. */
const RANGE = 10_000n;
const MAX_WINDOWS = 20;

/** Which hosts the server may contact: loopback by default; '*' allows any. */
export interface HostAllowance {
  any: boolean;
  hosts: Set<string>;
}

const LOOPBACK = ['localhost', '::1', '[::1]'];

/** Parses `--agent-hosts a,b,c`; loopback is always allowed. */
export function hostAllowance(list?: string): HostAllowance {
  const items = (list ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean)
    .slice(0, 64);
  return { any: items.includes('*'), hosts: new Set([...LOOPBACK, ...items]) };
}

export function hostAllowed(allow: HostAllowance, host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return allow.any || allow.hosts.has(h) || /^127(\.\d{1,3}){3}$/.test(h);
}

export type Probe =
  | { kind: 'http'; url: URL }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'none'; why: string };

const MULTIADDR =
  /^\/(ip4|ip6|dns|dns4|dns6)\/([^/]{1,253})\/tcp\/(\d{1,5})(\/p2p\/[1-9A-HJ-NP-Za-km-z]{1,128})?$/;

/** What probing `endpoint` would contact, or why it is not probed. */
export function probeOf(endpoint: string, allow: HostAllowance): Probe {
  if (typeof endpoint !== 'string' || endpoint.length === 0)
    return { kind: 'none', why: 'no endpoint registered' };
  if (endpoint.length > MAX_ENDPOINT) return { kind: 'none', why: 'endpoint too long' };
  const ma = MULTIADDR.exec(endpoint);
  if (ma) {
    const port = Number(ma[3]);
    if (port < 1 || port > 65_535) return { kind: 'none', why: 'bad port' };
    if (!hostAllowed(allow, ma[2])) return { kind: 'none', why: `host ${ma[2]} not allowed (--agent-hosts)` };
    return { kind: 'tcp', host: ma[2], port };
  }
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return { kind: 'none', why: 'neither an http(s) URL nor a multiaddr' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { kind: 'none', why: `${url.protocol} is not http(s)` };
  if (url.username || url.password) return { kind: 'none', why: 'credentials in the URL' };
  if (!hostAllowed(allow, url.hostname))
    return { kind: 'none', why: `host ${url.hostname} not allowed (--agent-hosts)` };
  return { kind: 'http', url: new URL('/health', url) };
}

function tcpReachable(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port, timeout: PROBE_TIMEOUT_MS });
    const end = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.once('connect', () => end(true));
    socket.once('timeout', () => end(false));
    socket.once('error', () => end(false));
  });
}

export type HealthFetch = (
  url: string,
  node: Omit<DashboardNode, 'health'>,
) => Promise<Record<string, unknown>>;

/** One agent's liveness from its registered endpoint. */
export async function probeAgent(
  agent: { address: Address; endpoint: string },
  allow: HostAllowance,
  fetchHealth: HealthFetch,
): Promise<Record<string, unknown>> {
  const base = { name: `agent ${agent.address.slice(0, 8)}…`, role: 'agent', address: agent.address };
  const p = probeOf(agent.endpoint, allow);
  if (p.kind === 'none') return { ...base, reachable: false, error: `not probed: ${p.why}` };
  if (p.kind === 'http') return fetchHealth(p.url.href, base);
  const reachable = await tcpReachable(p.host, p.port);
  // A listening p2p port says the process is up; it says nothing about its chain head.
  return reachable ? { ...base, reachable, ok: true } : { ...base, reachable, error: 'p2p port closed' };
}

/** The agents' current endpoints, read from AgentRegistry events with a cursor. */
export function agentEndpoints(rpcUrl: string, registry: Address) {
  const client = createPublicClient({ transport: http(rpcUrl, { timeout: 5_000, retryCount: 0 }) });
  const events = [
    parseAbiItem(
      'event AgentRegistered(address indexed agent, string endpoint, bytes32[] models, uint256 stake)',
    ),
    parseAbiItem('event EndpointSet(address indexed agent, string endpoint)'),
  ];
  const endpoints = new Map<string, { address: Address; endpoint: string }>();
  let cursor = -1n;
  return async (): Promise<{ address: Address; endpoint: string }[]> => {
    const head = await client.getBlockNumber();
    for (let w = 0; w < MAX_WINDOWS && cursor < head; w++) {
      const from = cursor + 1n;
      const to = from + RANGE - 1n < head ? from + RANGE - 1n : head;
      const logs = await client.getLogs({ address: registry, events, fromBlock: from, toBlock: to });
      for (const l of logs) {
        const a = l.args as { agent?: Address; endpoint?: string };
        if (!a.agent || typeof a.endpoint !== 'string') continue;
        const key = a.agent.toLowerCase();
        // Re-inserted so the map's order is by latest registration or change.
        endpoints.delete(key);
        endpoints.set(key, { address: a.agent, endpoint: a.endpoint.slice(0, MAX_ENDPOINT + 1) });
        if (endpoints.size > 4 * MAX_AGENTS) endpoints.delete(endpoints.keys().next().value as string);
      }
      cursor = to;
    }
    return [...endpoints.values()].reverse().slice(0, MAX_AGENTS);
  };
}
