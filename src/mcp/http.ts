// Streamable HTTP for the MCP server, stateless: each POST to /mcp gets a server and a transport
// of its own (one server per client), bound to 127.0.0.1 only.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

/** A JSON-RPC request to the MCP server is small; a bigger body is refused unread. */
const MAX_BODY_BYTES = 1024 * 1024;

export interface McpHttpServer {
  url: string;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new RangeError('body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (err) {
        reject(err);
      }
    });
    req.on('error', reject);
  });
}

const rpcError = (code: number, message: string) =>
  JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null });

export async function serveMcpHttp(makeServer: () => McpServer, port: number): Promise<McpHttpServer> {
  const http: Server = createServer(async (req, res) => {
    if (req.url !== '/mcp') {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(rpcError(-32000, 'Not found: POST to /mcp.'));
      return;
    }
    if (req.method !== 'POST') {
      res
        .writeHead(405, { 'content-type': 'application/json', allow: 'POST' })
        .end(rpcError(-32000, 'Method not allowed: this server is stateless; POST to /mcp.'));
      return;
    }
    let body: unknown;
    try {
      body = await readBody(req);
    } catch {
      if (!res.headersSent)
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end(rpcError(-32700, 'Parse error: the body is not JSON of at most 1 MiB.'));
      return;
    }
    const server = makeServer();
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    } catch {
      if (!res.headersSent)
        res.writeHead(500, { 'content-type': 'application/json' }).end(rpcError(-32603, 'Internal error.'));
    }
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: bound } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/mcp`,
    close: () => new Promise<void>((resolve) => http.close(() => resolve())),
  };
}
