// The node's local HTTP endpoints: /health (JSON) and /metrics (Prometheus text). Bound to a
// loopback address only: they describe the node to its operator, not to the network.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { VerinferNode } from './service.ts';

export interface HttpEndpoint {
  port: number;
  close(): Promise<void>;
}

export async function startHttp(node: VerinferNode, port: number, host = '127.0.0.1'): Promise<HttpEndpoint> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/health') {
      const h = node.health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(h));
    } else if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(node.metrics.render());
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Try /health or /metrics.\n');
    }
  });
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
