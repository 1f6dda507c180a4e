// Hosts on loopback for the p2p tests, and a poll that waits for the network to settle.
import { createPeerHost, type PeerHost, type PeerHostOptions } from '../../src/p2p/host.ts';

export async function startHosts(n: number, options: PeerHostOptions = {}): Promise<PeerHost[]> {
  const hosts: PeerHost[] = [];
  try {
    for (let i = 0; i < n; i++) hosts.push(await createPeerHost(options));
  } catch (err) {
    await stopHosts(hosts);
    throw err;
  }
  return hosts;
}

export async function stopHosts(hosts: PeerHost[]): Promise<void> {
  await Promise.allSettled(hosts.map((h) => h.stop()));
}

/** Polls `condition` until it holds; fails after `limitMs` (a bound on a hang, not a timing assertion). */
export async function until(condition: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > limitMs) throw new Error(`Gave up waiting for ${what}.`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function addrOf(host: PeerHost) {
  return host.multiaddrs()[0];
}
