// Serves an EIP-1193 provider (the in-process EDR chain) as an HTTP JSON-RPC endpoint on
// localhost, so that other processes (nodes, the CLI, a wallet) reach the same chain.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EIP1193Provider } from 'viem';

/** The largest request body the server reads: a batch of moves with witnesses stays far below. */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** The most calls one JSON-RPC batch may carry. */
export const MAX_BATCH_CALLS = 1_000;

export interface RpcServerOptions {
  provider: EIP1193Provider;
  /** Default 127.0.0.1: the devnet is never exposed beyond this machine. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Methods the server answers itself instead of the provider (e.g. the devnet's deployment). */
  methods?: Record<string, (params: unknown[]) => unknown>;
}

export interface RpcServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

interface JsonRpcCall {
  jsonrpc: '2.0';
  id: string | number | null;
  method: string;
  params?: unknown[];
}

type JsonRpcReply =
  | { jsonrpc: '2.0'; id: string | number | null; result: unknown }
  | { jsonrpc: '2.0'; id: string | number | null; error: { code: number; message: string; data?: unknown } };

const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;
const INTERNAL_ERROR = -32603;

function failure(id: JsonRpcCall['id'], code: number, message: string, data?: unknown): JsonRpcReply {
  return { jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } };
}

function isCall(value: unknown): value is JsonRpcCall {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const idOk = v.id === null || typeof v.id === 'string' || typeof v.id === 'number' || v.id === undefined;
  return typeof v.method === 'string' && idOk && (v.params === undefined || Array.isArray(v.params));
}

/** Keeps the provider's error code and revert data, so that clients decode custom errors. */
function errorReply(id: JsonRpcCall['id'], error: unknown): JsonRpcReply {
  const e = error as { code?: unknown; message?: unknown; data?: unknown };
  const code = typeof e?.code === 'number' ? e.code : INTERNAL_ERROR;
  const message = typeof e?.message === 'string' ? e.message : String(error);
  return failure(id, code, message, e?.data);
}

async function answer(options: RpcServerOptions, call: unknown): Promise<JsonRpcReply> {
  if (!isCall(call)) return failure(null, INVALID_REQUEST, 'Invalid JSON-RPC request.');
  const id = call.id ?? null;
  const own =
    options.methods && Object.hasOwn(options.methods, call.method) ? options.methods[call.method] : undefined;
  try {
    if (own) return { jsonrpc: '2.0', id, result: (await own(call.params ?? [])) ?? null };
    const result = await options.provider.request({ method: call.method, params: call.params } as never);
    return { jsonrpc: '2.0', id, result: result ?? null };
  } catch (error) {
    return errorReply(id, error);
  }
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

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v));
  res.writeHead(status, {
    'content-type': 'application/json',
    'access-control-allow-origin': '*',
    'access-control-allow-headers': 'content-type',
  });
  res.end(text);
}

/**
 * Starts the server. Calls are forwarded one at a time in arrival order within a batch; the
 * provider itself serializes state changes.
 */
export async function serveRpc(options: RpcServerOptions): Promise<RpcServer> {
  const server: Server = createServer(async (req, res) => {
    if (req.method === 'OPTIONS') {
      send(res, 204, null);
      return;
    }
    if (req.method !== 'POST') {
      send(res, 405, failure(null, INVALID_REQUEST, 'Send JSON-RPC requests with POST.'));
      return;
    }
    const body = await readBody(req).catch(() => undefined);
    if (body === undefined) {
      send(res, 413, failure(null, INVALID_REQUEST, `Request body over ${MAX_BODY_BYTES} bytes.`));
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      send(res, 400, failure(null, PARSE_ERROR, 'The body is not JSON.'));
      return;
    }
    if (Array.isArray(parsed)) {
      if (parsed.length === 0 || parsed.length > MAX_BATCH_CALLS) {
        send(res, 400, failure(null, INVALID_REQUEST, `A batch holds 1 to ${MAX_BATCH_CALLS} calls.`));
        return;
      }
      const replies: JsonRpcReply[] = [];
      for (const call of parsed) replies.push(await answer(options, call));
      send(res, 200, replies);
      return;
    }
    send(res, 200, await answer(options, parsed));
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
