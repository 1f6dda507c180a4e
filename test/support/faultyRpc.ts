// A fault-injecting JSON-RPC proxy for scenarios: an HTTP server on localhost that forwards each
// POST to an upstream RPC URL, but drops a seeded share of the requests and delays a share of the
// others. A drop is one of: an HTTP 503 without forwarding, a connection reset without
// forwarding, or a connection reset after forwarding (the call took effect, e.g. a transaction
// was sent, but its answer is lost). Answers that do get through are never altered.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The largest body forwarded (the devnet's RPC server reads at most this much too). */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

export interface FaultyRpcOptions {
  upstream: string;
  /** The PRNG's seed: the same seed draws the same faults for the same request sequence. */
  seed: number;
  /** The share of requests dropped, in basis points. */
  dropBps: number;
  /** The share of the other requests delayed, in basis points. */
  delayBps: number;
  /** The longest delay, in milliseconds (each delayed request waits a uniform draw up to it). */
  maxDelayMs: number;
  port?: number;
}

export type DropKind = 'http503' | 'resetBefore' | 'resetAfter';

export interface FaultyRpcStats {
  requests: number;
  forwarded: number;
  delayed: number;
  dropped: Record<DropKind, number>;
  /** Methods whose answer was lost after they reached the chain (resetAfter), by name. */
  lostAnswers: Record<string, number>;
}

export interface FaultyRpc {
  url: string;
  stats: FaultyRpcStats;
  /** Turns the faults off (true) or back on; the proxy keeps forwarding either way. */
  pause(paused: boolean): void;
  close(): Promise<void>;
}

/** mulberry32: a small, seedable 32-bit PRNG (integer arithmetic only). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (part: Buffer) => {
      size += part.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        req.destroy();
        return;
      }
      parts.push(part);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

/** The JSON-RPC method names of a body (for the stats only; the body is forwarded as is). */
function methodsOf(body: Buffer): string[] {
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown;
    const calls = Array.isArray(v) ? v : [v];
    return calls.map((c) => String((c as { method?: unknown })?.method ?? '?'));
  } catch {
    return ['?'];
  }
}

export async function startFaultyRpc(options: FaultyRpcOptions): Promise<FaultyRpc> {
  const next = prng(options.seed);
  const stats: FaultyRpcStats = {
    requests: 0,
    forwarded: 0,
    delayed: 0,
    dropped: { http503: 0, resetBefore: 0, resetAfter: 0 },
    lostAnswers: {},
  };
  let paused = false;
  const server: Server = createServer(async (req, res) => {
    const body = req.method === 'POST' ? await readBody(req).catch(() => undefined) : undefined;
    if (body === undefined) {
      res.writeHead(req.method === 'POST' ? 413 : 405).end();
      return;
    }
    stats.requests += 1;
    // Every request draws its fate, paused or not, so that the sequence stays seeded.
    const roll = next() % 10_000;
    const kindRoll = next() % 3;
    const delayRoll = next();
    const drop: DropKind | undefined =
      !paused && roll < options.dropBps
        ? (['http503', 'resetBefore', 'resetAfter'] as const)[kindRoll]
        : undefined;
    if (drop === 'http503') {
      stats.dropped.http503 += 1;
      res.writeHead(503, { 'content-type': 'text/plain' }).end('Service Unavailable');
      return;
    }
    if (drop === 'resetBefore') {
      stats.dropped.resetBefore += 1;
      req.socket.resetAndDestroy();
      return;
    }
    if (!drop && !paused && roll < options.dropBps + options.delayBps) {
      stats.delayed += 1;
      await new Promise((r) => setTimeout(r, delayRoll % (options.maxDelayMs + 1)));
    }
    let answer: { status: number; type: string; body: Buffer };
    try {
      const r = await fetch(options.upstream, {
        method: 'POST',
        headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
        body: new Uint8Array(body),
      });
      answer = {
        status: r.status,
        type: r.headers.get('content-type') ?? 'application/json',
        body: Buffer.from(await r.arrayBuffer()),
      };
    } catch {
      // The upstream itself is down: say so, as a gateway would.
      res.writeHead(502).end();
      return;
    }
    stats.forwarded += 1;
    if (drop === 'resetAfter') {
      stats.dropped.resetAfter += 1;
      for (const m of methodsOf(body)) stats.lostAnswers[m] = (stats.lostAnswers[m] ?? 0) + 1;
      req.socket.resetAndDestroy();
      return;
    }
    res.writeHead(answer.status, { 'content-type': answer.type }).end(answer.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    pause: (p) => {
      paused = p;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
