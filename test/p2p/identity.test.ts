import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Address } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { EndpointError, PeerBindingError } from '../../src/p2p/errors.ts';
import type { PeerHost } from '../../src/p2p/host.ts';
import {
  endpointOf,
  parseEndpoint,
  peerBindingStatement,
  sayHello,
  serveHello,
  signPeerBinding,
  verifyPeerBinding,
} from '../../src/p2p/identity.ts';
import { addrOf, startHosts, stopHosts } from './support.ts';

const context = { chainId: 31337, registry: '0xe7f1725e7734ce288f8367e1bb143e90bb3f0512' as Address };
const alice = privateKeyToAccount(`0x${'a1'.repeat(32)}`);
const mallory = privateKeyToAccount(`0x${'b2'.repeat(32)}`);

let hosts: PeerHost[];
before(async () => {
  hosts = await startHosts(2);
});
after(() => stopHosts(hosts));

test('a binding verifies for its PeerId and context only', async () => {
  const peerId = hosts[0].peerId;
  assert.equal(
    peerBindingStatement(peerId, context),
    `verinfer-peer:${peerId}:31337:0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512`,
  );
  const binding = await signPeerBinding(alice, peerId, context);
  assert.equal(await verifyPeerBinding(peerId, binding, context), alice.address);
  await assert.rejects(verifyPeerBinding(hosts[1].peerId, binding, context), PeerBindingError);
  await assert.rejects(verifyPeerBinding(peerId, binding, { ...context, chainId: 1 }), PeerBindingError);
  // Mallory signs a binding but claims to be Alice.
  const forged = {
    address: alice.address,
    signature: (await signPeerBinding(mallory, peerId, context)).signature,
  };
  await assert.rejects(verifyPeerBinding(peerId, forged, context), /signed by 0x/);
  await assert.rejects(
    verifyPeerBinding(peerId, { ...binding, signature: `0x${'00'.repeat(65)}` }, context),
    PeerBindingError,
  );
});

test('hello exchanges bindings; a forged one is rejected and counted', async () => {
  const [server, client] = hosts;
  const seen: string[] = [];
  await serveHello(server, {
    ...context,
    binding: await signPeerBinding(alice, server.peerId, context),
    onPeer: (_peer, agent) => seen.push(agent),
  });
  const clientBinding = await signPeerBinding(mallory, client.peerId, context);
  assert.equal(await sayHello(client, addrOf(server), { ...context, binding: clientBinding }), alice.address);
  assert.deepEqual(seen, [mallory.address]);

  // The server now presents a binding made for another PeerId (replayed from another node).
  await serveHello(server, { ...context, binding: await signPeerBinding(alice, client.peerId, context) });
  await assert.rejects(
    sayHello(client, server.peerId, { ...context, binding: clientBinding }),
    PeerBindingError,
  );
  assert.equal(client.peers.get(server.peerId.toString())?.offences['wrong-data'], 1);
});

test('endpoints: built from a listen address, parsed with validation', () => {
  const host = hosts[0];
  const endpoint = endpointOf(addrOf(host));
  assert.match(endpoint, /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3KooW/);
  assert.equal(parseEndpoint(endpoint).peerId.toString(), host.peerId.toString());
  assert.equal(
    endpointOf('/dns4/node.example/tcp/4001', host.peerId),
    `/dns4/node.example/tcp/4001/p2p/${host.peerId}`,
  );
  for (const bad of [
    '',
    'not a multiaddr',
    '/ip4/1.2.3.4/tcp/4001',
    `/ip4/1.2.3.4/udp/4001/p2p/${host.peerId}`,
    `/ip4/0.0.0.0/tcp/4001/p2p/${host.peerId}`,
    `/ip4/1.2.3.4/tcp/4001/p2p/${host.peerId}/p2p-circuit`,
    `/ip4/1.2.3.4/tcp/4001/p2p/${'x'.repeat(300)}`,
  ]) {
    assert.throws(() => parseEndpoint(bad), EndpointError, bad);
  }
});
