import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { PeerId } from '@libp2p/interface';
import {
  type Announcement,
  type AnnouncementInput,
  type Announcements,
  createAnnouncements,
  encodeAnnouncement,
  GOSSIP_TOPICS,
  parseAnnouncement,
} from '../../src/p2p/gossip.ts';
import type { PeerHost } from '../../src/p2p/host.ts';
import { addrOf, startHosts, stopHosts, until } from './support.ts';

const task: AnnouncementInput<'tasks'> = {
  v: 1,
  chainId: 31337,
  market: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
  taskId: `0x${'aa'.repeat(32)}`,
  modelRoot: `0x${'bb'.repeat(32)}`,
  inputRoot: `0x${'cc'.repeat(32)}`,
  feeToken: '0x0000000000000000000000000000000000000000',
  fee: '1000000000000000',
  takeDeadline: '2000000000',
};

let hosts: PeerHost[];
let announcements: Announcements[];

// A line A - B - C: whatever C gets from A, B has validated and forwarded.
before(async () => {
  hosts = await startHosts(3);
  const [a, b, c] = hosts;
  await b.dial(addrOf(a));
  await c.dial(addrOf(b));
  announcements = hosts.map(createAnnouncements);
  for (const ann of announcements) ann.subscribe('tasks', () => {});
  const mesh = (h: PeerHost) =>
    (h.libp2p.services.pubsub as unknown as { getMeshPeers(t: string): string[] }).getMeshPeers(
      GOSSIP_TOPICS.tasks,
    );
  await until(
    () => mesh(b).includes(a.peerId.toString()) && mesh(b).includes(c.peerId.toString()),
    'the tasks mesh to form around B',
  );
});
after(() => stopHosts(hosts));

test('an announcement published at A reaches C through B', async () => {
  const got: { message: Announcement<'tasks'>; from: PeerId }[] = [];
  const off = announcements[2].subscribe('tasks', (message, from) => {
    got.push({ message, from });
  });
  const sent = await announcements[0].publish('tasks', task);
  assert.ok(sent >= 1);
  await until(() => got.length === 1, 'C to receive the task');
  assert.equal(got[0].message.taskId, task.taskId);
  assert.equal(got[0].message.fee, 10n ** 15n);
  assert.equal(got[0].message.market, '0x5FbDB2315678afecb367f032d93F642f64180aa3');
  assert.equal(got[0].from.toString(), hosts[0].peerId.toString());
  off();
});

test('garbage is dropped at the first hop, counted, and never delivered', async () => {
  const [a, b] = hosts;
  const got: Announcement<'tasks'>[] = [];
  const off = announcements[2].subscribe('tasks', (m) => {
    got.push(m);
  });
  const before = announcements[1].stats().dropped.tasks;
  const garbage = [
    new TextEncoder().encode('{not json'),
    new TextEncoder().encode(JSON.stringify({ ...task, v: 2 })),
    new TextEncoder().encode(JSON.stringify({ ...task, endpoint: 'x'.repeat(2000) })),
    new Uint8Array([0xff, 0xfe, 0x00]),
  ];
  // Raw publishes: the sender's own helpers would refuse to encode these.
  for (const g of garbage) await a.libp2p.services.pubsub.publish(GOSSIP_TOPICS.tasks, g);
  await announcements[0].publish('tasks', { ...task, taskId: `0x${'dd'.repeat(32)}` });
  await until(() => got.length === 1, 'C to receive the valid task sent after the garbage');
  assert.equal(got[0].taskId, `0x${'dd'.repeat(32)}`);
  assert.equal(announcements[1].stats().dropped.tasks - before, garbage.length);
  assert.equal(announcements[2].stats().dropped.tasks, 0, 'nothing invalid was forwarded to C');
  assert.equal(b.peers.get(a.peerId.toString())?.offences['bad-gossip'], garbage.length);
  off();
});

test('a handler that throws is counted and does not disturb delivery', async () => {
  let calls = 0;
  const off = announcements[2].subscribe('tasks', () => {
    calls += 1;
    throw new Error('handler bug');
  });
  await announcements[0].publish('tasks', { ...task, taskId: `0x${'ee'.repeat(32)}` });
  await until(() => announcements[2].stats().handlerErrors >= 1, 'the handler error to be counted');
  assert.equal(calls, 1);
  off();
});

test('announcements are bounded and validated on both ends', () => {
  assert.throws(() => encodeAnnouncement('tasks', { ...task, fee: '-1' }), TypeError);
  assert.throws(
    () =>
      encodeAnnouncement('heartbeat', {
        v: 1,
        chainId: 1,
        agent: task.market,
        endpoint: 'e',
        models: [],
        time: -1,
      }),
    TypeError,
  );
  assert.equal(parseAnnouncement('tasks', new Uint8Array(1025)), undefined);
  assert.equal(parseAnnouncement('results', encodeAnnouncement('tasks', task)), undefined);
  assert.ok(parseAnnouncement('tasks', encodeAnnouncement('tasks', task)));
});
