import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PeerUnreachableError } from '../../src/p2p/errors.ts';
import { createPeerHost } from '../../src/p2p/host.ts';
import { loadOrCreatePeerKey, PeerKeyError, peerKeyFromSecret } from '../../src/p2p/peerKey.ts';
import { createPeerBook } from '../../src/p2p/peers.ts';
import { addrOf, stopHosts } from './support.ts';

test('a node keeps its PeerId across restarts, from a secret or a key file', async () => {
  const secret = new Uint8Array(32).fill(9);
  const a = await peerKeyFromSecret(secret);
  const b = await peerKeyFromSecret(secret.slice());
  assert.deepEqual(a.raw, b.raw);
  await assert.rejects(peerKeyFromSecret(new Uint8Array(8)), PeerKeyError);

  const dir = await mkdtemp(join(tmpdir(), 'verinfer-p2p-'));
  try {
    const file = join(dir, 'peer.key');
    const first = await createPeerHost({ privateKey: await loadOrCreatePeerKey(file) });
    const id = first.peerId.toString();
    await first.stop();
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const second = await createPeerHost({ privateKey: await loadOrCreatePeerKey(file) });
    assert.equal(second.peerId.toString(), id);
    await second.stop();
    assert.equal((await readFile(file)).length > 0, true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('bootstrap dials what it can; dial errors are typed', async () => {
  const seed = await createPeerHost();
  const hosts = [seed];
  try {
    const node = await createPeerHost({
      bootstrap: [
        addrOf(seed).toString(),
        '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWK99VoVxNE7XzyBwXEzW7xhK7Gpv85r9F3V3fyKSUKPH5',
      ],
      dialTimeoutMs: 2_000,
    });
    hosts.push(node);
    assert.deepEqual(node.bootstrapped(), [addrOf(seed).toString()]);
    assert.equal(node.libp2p.getConnections(seed.peerId).length > 0, true);
    await assert.rejects(node.dial('garbage'), PeerUnreachableError);
  } finally {
    await stopHosts(hosts);
  }
});

test('the peer book bans a lying peer and lets the ban expire', () => {
  let now = 0;
  const book = createPeerBook({ banThreshold: 100, banMs: 1000, now: () => now });
  book.record('p', 'timeout');
  assert.equal(book.isBanned('p'), false);
  book.record('p', 'wrong-data');
  book.record('p', 'wrong-data');
  assert.equal(book.isBanned('p'), true);
  now = 1001;
  assert.equal(book.isBanned('p'), false);
  book.record('p', 'closed');
  assert.equal(book.isBanned('p'), true, 'one offence after a ban bans again');
  assert.equal(book.totals()['wrong-data'], 2);
  const small = createPeerBook({ maxPeers: 2, now: () => now });
  small.ban('banned');
  small.success('x');
  small.success('y');
  assert.equal(small.isBanned('banned'), true, 'a flood of new peers does not evict a ban');
});
