// Agent liveness from registered endpoints: only allowed hosts are contacted (loopback unless
// told), only over http(s) (/health, no redirect followed, bounded) or a bare TCP connection to a
// libp2p multiaddr's port; anything else is reported, not probed.
import assert from 'node:assert/strict';
import { createServer as createHttp, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createTcp, type Server as TcpServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { hostAllowance, hostAllowed, probeAgent, probeOf } from './agentProbe.ts';
import { healthAt } from './server.ts';

const AGENT = `0x${'22'.repeat(20)}` as const;
const PEER = '12D3KooWHFrmLWTTDD4NodngtRMEVYgxrsDdp4qfcGLKJBtr9X2m';
const loopback = hostAllowance();

describe('which endpoints are probed', () => {
  it('allows loopback by default, named hosts when told, and any with *', () => {
    assert.ok(hostAllowed(loopback, '127.0.0.1'));
    assert.ok(hostAllowed(loopback, '127.4.5.6'));
    assert.ok(hostAllowed(loopback, '[::1]'));
    assert.ok(hostAllowed(loopback, 'LOCALHOST'));
    assert.ok(!hostAllowed(loopback, '10.0.0.1'));
    assert.ok(!hostAllowed(loopback, 'agent.example'));
    assert.ok(hostAllowed(hostAllowance('agent.example, 10.0.0.1'), 'agent.example'));
    assert.ok(hostAllowed(hostAllowance('*'), 'anything.example'));
  });

  it('probes http(s) URLs at /health and multiaddrs by TCP, and refuses everything else', () => {
    assert.deepEqual(probeOf('http://127.0.0.1:9000/x', loopback), {
      kind: 'http',
      url: new URL('http://127.0.0.1:9000/health'),
    });
    assert.deepEqual(probeOf(`/ip4/127.0.0.1/tcp/4001/p2p/${PEER}`, loopback), {
      kind: 'tcp',
      host: '127.0.0.1',
      port: 4001,
    });
    const why = (e: string, allow = loopback) => {
      const p = probeOf(e, allow);
      return p.kind === 'none' ? p.why : p.kind;
    };
    assert.match(why('https://agent.example'), /not allowed/);
    assert.match(why(`/ip4/10.1.2.3/tcp/4001/p2p/${PEER}`), /not allowed/);
    assert.equal(why(`/ip4/10.1.2.3/tcp/4001/p2p/${PEER}`, hostAllowance('10.1.2.3')), 'tcp');
    assert.match(why('file:///etc/passwd'), /not http/);
    assert.match(why('gopher://127.0.0.1/'), /not http/);
    assert.match(why('http://user:pw@127.0.0.1/'), /credentials/);
    assert.match(why('/ip4/127.0.0.1/udp/4001'), /neither/);
    assert.match(why('/ip4/127.0.0.1/tcp/99999'), /bad port/);
    assert.match(why(''), /no endpoint/);
    assert.match(why(`http://127.0.0.1/${'a'.repeat(300)}`), /too long/);
  });
});

describe('probing', () => {
  let web: Server;
  let tcp: TcpServer;
  let webPort: number;
  let tcpPort: number;
  const asked: string[] = [];
  before(async () => {
    web = createHttp((req, res) => {
      asked.push(req.url ?? '');
      if (req.url === '/health') res.end(JSON.stringify({ ok: true, head: '12', lag: '0' }));
      else if (req.url?.startsWith('/far')) res.writeHead(302, { location: 'http://10.9.9.9/health' }).end();
      else res.end('x'.repeat(200_000));
    });
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    webPort = (web.address() as AddressInfo).port;
    tcp = createTcp((s) => s.end());
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    tcpPort = (tcp.address() as AddressInfo).port;
  });
  after(() => {
    web.close();
    tcp.close();
  });

  const probe = (endpoint: string) =>
    probeAgent({ address: AGENT, endpoint }, loopback, (url, base) => healthAt(url, base));

  it("reads an http endpoint's /health", async () => {
    const h = await probe(`http://127.0.0.1:${webPort}/`);
    assert.equal(h.reachable, true);
    assert.equal(h.ok, true);
    assert.equal(h.head, '12');
    assert.equal(h.address, AGENT);
  });

  it('follows no redirect and cuts off a long answer', async () => {
    const far = await healthAt(`http://127.0.0.1:${webPort}/far`, {
      name: 'a',
      role: 'agent',
      address: AGENT,
    });
    assert.equal(far.reachable, false);
    assert.match(String(far.error), /redirected/);
    const long = await healthAt(`http://127.0.0.1:${webPort}/long`, {
      name: 'a',
      role: 'agent',
      address: AGENT,
    });
    assert.equal(long.reachable, false);
    assert.match(String(long.error), /too long/);
  });

  it("connects to a multiaddr's TCP port, and says when it is closed", async () => {
    const up = await probe(`/ip4/127.0.0.1/tcp/${tcpPort}/p2p/${PEER}`);
    assert.equal(up.reachable, true);
    const closed = createTcp();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const down = await probe(`/ip4/127.0.0.1/tcp/${port}/p2p/${PEER}`);
    assert.equal(down.reachable, false);
  });

  it('does not contact a host that is not allowed', async () => {
    const before = asked.length;
    const h = await probe('http://agent.example/');
    assert.equal(h.reachable, false);
    assert.match(String(h.error), /not probed/);
    assert.equal(asked.length, before);
  });
});
