// Nodes on the peer network: a worker, a cheater and a verifier with real libp2p hosts on loopback
// over the embedded chain. A requester sends signed tasks over p2p; the worker posts them with
// postSigned; the verifier fetches their inputs from the worker over p2p, re-executes them, and
// catches the cheater with a game it wins. Bad requests are refused by name and nothing is posted;
// a worker whose peer never answers does not hold up the verifier's other work.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Stream } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { createWalletClient, custom, getAddress, type Hex, parseEther } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { bytesRoot } from '../../src/chain/bindings/commitments.ts';
import { NATIVE, type TaskArgs } from '../../src/chain/bindings/types.ts';
import { toHex } from '../../src/commit/keccak.ts';
import { referenceBackend } from '../../src/engine/interpreter.ts';
import { connectNodeChain } from '../../src/node/chain.ts';
import { createLogger, silentLogger } from '../../src/node/log.ts';
import type { AuditJob } from '../../src/node/machines/audit.ts';
import { loadModels, ModelSet } from '../../src/node/models.ts';
import { NodePeer, type NodePeerOptions } from '../../src/node/peer.ts';
import { VerinferNode } from '../../src/node/service.ts';
import { NodeStore } from '../../src/node/store.ts';
import { encodeVarint } from '../../src/p2p/codec.ts';
import { ContentNotFoundError, MessageTooLargeError } from '../../src/p2p/errors.ts';
import { createPeerHost, type PeerHost } from '../../src/p2p/host.ts';
import { endpointOf, parseEndpoint } from '../../src/p2p/identity.ts';
import { loadOrCreatePeerKey } from '../../src/p2p/peerKey.ts';
import {
  fetchModel,
  fetchTraceChunk,
  inputSpec,
  MAX_INPUT_BYTES,
  serveInputs,
  signedRequestSpec,
  signTask,
} from '../../src/p2p/protocols.ts';
import { callProtocol } from '../../src/p2p/rpc.ts';
import { taskToJson } from '../../src/p2p/schemas.ts';
import { SignedTaskRefusedError, sendSignedTask } from '../../src/p2p/sendSignedTask.ts';
import { MODEL_FILE, saveModelDir } from '../../src/store/modelDir.ts';
import { advance, handInput, idOf, runOf, startWorld, taskOf, type World } from '../market/support.ts';
import { until } from '../p2p/support.ts';

const WORKER = 1;
const VERIFIER = 2;
const CHEATER = 4;
const SILENT = 5;
const ON_CHAIN_REQUESTER = 3;
const LOOPBACK = ['/ip4/127.0.0.1/tcp/0'];

describe('nodes over libp2p', () => {
  let w: World;
  let dir: string;
  const stores: NodeStore[] = [];
  const hosts: PeerHost[] = [];
  const nodes: VerinferNode[] = [];
  let worker: VerinferNode;
  let cheater: VerinferNode;
  let verifier: VerinferNode;
  let requesterHost: PeerHost;
  const requester = privateKeyToAccount(generatePrivateKey());
  const broke = privateKeyToAccount(generatePrivateKey());
  let deployment: { chainId: number; addresses: World['v']['addresses'] };

  async function nodeFor(
    account: number,
    db: string,
    roles: { worker?: { cheat?: number }; verifier?: { watchShare: number } },
    peer?: Partial<NodePeerOptions>,
    models = new ModelSet([w.model]),
  ): Promise<VerinferNode> {
    const chain = await connectNodeChain({
      publicClient: w.chain.publicClient,
      walletClient: w.chain.wallet(account),
      addresses: w.v.addresses,
    });
    const store = new NodeStore(join(dir, db));
    stores.push(store);
    const node = new VerinferNode({
      chain,
      store,
      log: process.env.NODE_TEST_LOG
        ? createLogger({ service: db, level: 'debug', sink: (l) => process.stderr.write(`${l}\n`) })
        : silentLogger(),
      models,
      backend: referenceBackend,
      ...(roles.worker
        ? { worker: { stake: parseEther('2'), withdrawThreshold: parseEther('1000'), ...roles.worker } }
        : {}),
      ...(roles.verifier
        ? { verifier: { stake: parseEther('2'), withdrawThreshold: parseEther('1000'), ...roles.verifier } }
        : {}),
      ...(peer
        ? { peer: new NodePeer({ listen: LOOPBACK, keyFile: join(dir, `${db}.peer-key`), ...peer }) }
        : {}),
    });
    nodes.push(node);
    await node.setup();
    return node;
  }

  /** Funds a fresh requester key and deposits its balance in the market, as signed tasks require. */
  async function deposit(account: typeof requester, amount: bigint) {
    await w.chain.testClient.setBalance({ address: account.address, value: parseEther('10') });
    const wallet = createWalletClient({ account, chain: w.chain.chain, transport: custom(w.chain.provider) });
    const hash = await w.v.as(wallet).taskMarket.write.deposit([NATIVE, amount], { value: amount });
    await w.chain.publicClient.waitForTransactionReceipt({ hash });
  }

  const endpointOfAgent = async (i: number) =>
    (await w.v.agentRegistry.read.agentInfo([w.accounts[i]])).endpoint;
  const signedPosts = async () =>
    (await w.v.taskMarket.getEvents.SignedTaskPosted({}, { fromBlock: 0n })).length;
  const auditOf = (id: Hex) => verifier.env.store.getJob<AuditJob>('audit', id);
  const fetcher = () => {
    const f = verifier.peer?.inputFetcher;
    assert.ok(f, 'the verifier fetches inputs');
    return f;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verinfer-p2p-'));
    w = await startWorld();
    deployment = { chainId: w.chain.chain.id, addresses: w.v.addresses };
    // The worker serves its model from a package directory, as `verinfer node` does.
    await saveModelDir(join(dir, 'models', 'hand'), w.model);
    const fromDisk = await loadModels({
      roots: [],
      dirs: [join(dir, 'models', 'hand')],
      examples: [],
      cacheDir: join(dir, 'cache'),
    });
    worker = await nodeFor(WORKER, 'worker.db', { worker: {} }, {}, fromDisk);
    cheater = await nodeFor(CHEATER, 'cheater.db', { worker: { cheat: 1 } }, {});
    // The verifier dials the worker at start, so it hears the worker's announcements.
    verifier = await nodeFor(
      VERIFIER,
      'verifier.db',
      { verifier: { watchShare: 1 } },
      { bootstrap: [worker.peer?.endpoint as string], fetch: { timeoutMs: 120_000, retryMs: 0 } },
    );
    // A node refuses signed requests until its first sync gives it the chain's clock.
    for (const n of [worker, cheater, verifier]) await n.tick();
    requesterHost = await createPeerHost();
    hosts.push(requesterHost);
    await deposit(requester, parseEther('1'));
  });

  after(async () => {
    for (const n of nodes) await n.stop();
    await Promise.allSettled(hosts.map((h) => h.stop()));
    for (const s of stores) s.close();
    await w?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers its multiaddr as its endpoint, and keeps its PeerId in a key file', async () => {
    for (const [i, node] of [
      [WORKER, worker],
      [VERIFIER, verifier],
    ] as const) {
      const endpoint = await endpointOfAgent(i);
      assert.equal(endpoint, node.peer?.endpoint);
      assert.equal(parseEndpoint(endpoint).peerId.toString(), node.peer?.peerId?.toString());
      assert.match(endpoint, /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3/);
      const h = node.health();
      assert.equal(h.p2p?.peerId, node.peer?.peerId?.toString());
      assert.ok(h.p2p?.multiaddrs.includes(endpoint));
    }
    const file = join(dir, 'worker.db.peer-key');
    assert.ok(existsSync(file));
    const again = peerIdFromPrivateKey(await loadOrCreatePeerKey(file));
    assert.equal(again.toString(), worker.peer?.peerId?.toString(), 'the same PeerId after a restart');
    assert.ok(verifier.peer?.host?.bootstrapped().length === 1, 'the verifier dialled the worker');
    await until(() => worker.metrics.get('p2p_peers_connected') >= 1n, 'the verifier connected');
    // A second setup sends nothing: the endpoint on chain is already the host's.
    const sent = worker.metrics.get('txs_sent_total');
    await worker.setup();
    assert.equal(worker.metrics.get('txs_sent_total'), sent);
  });

  it('serves its model package file over p2p, checked against the model root; announces heartbeats', async () => {
    const { multiaddr: ma } = parseEndpoint(await endpointOfAgent(WORKER));
    const { model, bytes } = await fetchModel(requesterHost, ma, w.modelRoot);
    assert.equal(model.ops.length, w.model.ops.length);
    assert.deepEqual(bytes, new Uint8Array(readFileSync(join(dir, 'models', 'hand', MODEL_FILE))));
    await assert.rejects(fetchModel(requesterHost, ma, `0x${'ab'.repeat(32)}`), ContentNotFoundError);
    const beats: string[] = [];
    verifier.peer?.announcements?.subscribe('heartbeat', (m) => {
      beats.push(m.endpoint);
    });
    const endpoint = worker.peer?.endpoint as string;
    await until(() => {
      void worker.peer?.heartbeat();
      return beats.includes(endpoint);
    }, "the worker's heartbeat at the verifier");
    assert.equal(worker.metrics.get('p2p_requests_served_total', { protocol: '/verinfer/model/1.0.0' }), 1n);
  });

  it('a signed task sent over p2p is posted, announced, fetched by the verifier, re-executed and finalized', async () => {
    const run = runOf(w.model, handInput(21));
    const task = taskOf(w, requester.address, run);
    const got: Hex[] = [];
    verifier.peer?.announcements?.subscribe('results', (m) => {
      got.push(m.taskId);
    });
    // The worker's address is learned from its peer binding (hello).
    const sent = await sendSignedTask({
      host: requesterHost,
      workerEndpoint: await endpointOfAgent(WORKER),
      account: requester,
      deployment,
      task,
      input: run.inputBytes,
    });
    assert.equal(sent.taskId, idOf(w, task));
    assert.equal(sent.worker, getAddress(w.accounts[WORKER]));
    // The hello carried the requester's binding: the worker knows which address runs that peer.
    assert.equal(worker.peer?.agentOf(requesterHost.peerId), requester.address);
    assert.equal(worker.metrics.get('p2p_requests_served_total', { protocol: signedRequestSpec.id }), 1n);
    await worker.tick();
    const st = await w.v.taskMarket.read.taskState([sent.taskId]);
    assert.equal(st.status, 3, 'posted');
    const posted = await w.v.taskMarket.getEvents.SignedTaskPosted(
      { taskId: sent.taskId },
      { fromBlock: 0n },
    );
    assert.equal(posted.length, 1, 'with postSigned');
    assert.equal(worker.metrics.get('p2p_announcements_published_total', { topic: 'results' }), 1n);
    await until(() => got.includes(sent.taskId), 'the results announcement at the verifier');
    // The worker serves chunks of the run it committed to, each proven against its op's root.
    const { multiaddr: ma } = parseEndpoint(await endpointOfAgent(WORKER));
    const op = run.opRoots.length - 1;
    const proof = await fetchTraceChunk(requesterHost, ma, {
      taskId: sent.taskId,
      op,
      chunk: 0,
      tensorRoot: run.opRoots[op],
    });
    assert.deepEqual(proof.chunk, run.outputBytes.slice(0, proof.chunk.length));
    await assert.rejects(
      fetchTraceChunk(requesterHost, ma, {
        taskId: `0x${'cd'.repeat(32)}`,
        op,
        chunk: 0,
        tensorRoot: run.opRoots[op],
      }),
      ContentNotFoundError,
    );

    // The first tick sees the result and starts the fetch; the next hands the input in.
    const checked = verifier.metrics.get('results_checked_total');
    await verifier.tick();
    assert.equal(auditOf(sent.taskId)?.payload.input, undefined, 'no input on chain');
    await fetcher().idle();
    await verifier.tick();
    assert.equal(verifier.metrics.get('p2p_inputs_fetched_total'), 1n);
    assert.equal(auditOf(sent.taskId)?.payload.input, toHex(run.inputBytes));
    assert.equal(auditOf(sent.taskId)?.payload.verdict, 'ok');
    assert.equal(verifier.metrics.get('results_checked_total'), checked + 1n);
    assert.equal(verifier.metrics.get('results_challenged_total'), 0n);
    assert.equal(worker.metrics.get('p2p_requests_served_total', { protocol: inputSpec.id }), 1n);

    await advance(w, Number(w.v.params.task.challengeWindow) + 1);
    await worker.tick();
    assert.equal((await w.v.taskMarket.read.taskState([sent.taskId])).status, 4, 'finalized');
    assert.equal(
      await w.v.taskMarket.read.owed([NATIVE, requester.address]),
      parseEther('1') - task.fee,
      'the fee came out of the deposit',
    );
  });

  it("a cheater's signed task is caught with the input fetched over p2p: challenged, game won, convicted", async () => {
    const run = runOf(w.model, handInput(22));
    const task = taskOf(w, requester.address, run);
    const { taskId } = await sendSignedTask({
      host: requesterHost,
      workerEndpoint: await endpointOfAgent(CHEATER),
      account: requester,
      deployment,
      task,
      input: run.inputBytes,
      worker: w.accounts[CHEATER],
    });
    await cheater.tick();
    assert.equal((await w.v.taskMarket.read.taskState([taskId])).status, 3, 'the cheater posted');
    const fetched = verifier.metrics.get('p2p_inputs_fetched_total');
    let gameId: bigint | undefined;
    for (let round = 0; round < 60; round++) {
      await verifier.tick();
      await fetcher().idle();
      await cheater.tick();
      if (gameId === undefined && verifier.metrics.get('results_challenged_total') > 0n) {
        const logs = await w.v.taskMarket.getEvents.TaskChallenged({ taskId }, { fromBlock: 0n });
        gameId = logs[0]?.args.gameId;
      }
      if (gameId !== undefined && Number((await w.v.disputeGame.read.game([gameId])).phase) === 11) break;
    }
    assert.equal(verifier.metrics.get('p2p_inputs_fetched_total'), fetched + 1n);
    assert.ok(gameId !== undefined, 'the verifier challenged');
    assert.equal(auditOf(taskId)?.payload.verdict, 'wrong');
    assert.equal(Number((await w.v.disputeGame.read.game([gameId])).outcome), 1, 'the challenger won');
    assert.equal((await w.v.taskMarket.read.taskState([taskId])).status, 6, 'convicted');
    await verifier.tick();
    assert.equal(verifier.metrics.get('disputes_won_total'), 1n);
  });

  it('refuses bad signed requests by name and posts nothing', async () => {
    const { multiaddr: ma } = parseEndpoint(await endpointOfAgent(WORKER));
    await worker.tick();
    const postsBefore = await signedPosts();
    const jobsBefore = worker.env.store.countOpenJobs().task;
    const refusal = async (p: Promise<unknown>) => {
      const err = await p.then(
        (r) => r,
        (e) => e,
      );
      assert.ok(err instanceof SignedTaskRefusedError, `got ${err}`);
      return err.refusal;
    };
    const run = runOf(w.model, handInput(23));
    const send = (over: Partial<Parameters<typeof sendSignedTask>[0]>) =>
      sendSignedTask({
        host: requesterHost,
        workerEndpoint: ma.toString(),
        account: requester,
        deployment,
        task: taskOf(w, requester.address, run),
        input: run.inputBytes,
        worker: w.accounts[WORKER],
        ...over,
      });
    // Signed for another worker.
    assert.equal(await refusal(send({ worker: w.accounts[CHEATER] })), 'bad-signature');
    // A requester whose market balance is below the fee.
    await deposit(broke, 1n);
    assert.equal(await refusal(send({ account: broke, task: taskOf(w, broke.address, run) })), 'fee-too-low');
    // Bytes whose root is the task's, but which are no input of the model.
    const junk = Uint8Array.from({ length: 15 }, (_, i) => i);
    assert.equal(
      await refusal(
        send({ task: taskOf(w, requester.address, run, { inputRoot: bytesRoot(junk) }), input: junk }),
      ),
      'input-mismatch',
    );
    // An expired request.
    assert.equal(
      await refusal(send({ task: taskOf(w, requester.address, run, { takeDeadline: 1n }) })),
      'deadline-passed',
    );
    // The client refuses an oversized input before sending; sent anyway, the worker refuses it.
    const big = new Uint8Array(MAX_INPUT_BYTES + 1);
    const bigTask = taskOf(w, requester.address, run, { inputRoot: bytesRoot(big) });
    await assert.rejects(send({ task: bigTask, input: big }), MessageTooLargeError);
    const signature = await signTask(requester, {
      chainId: deployment.chainId,
      market: w.v.addresses.taskMarket,
      task: bigTask,
      worker: w.accounts[WORKER],
    });
    const answer = await callProtocol(
      requesterHost,
      ma,
      signedRequestSpec,
      { header: { task: taskToJson(bigTask), signature }, body: big },
      {},
      (r) => r.header,
    );
    assert.deepEqual(
      { ...answer, reason: undefined },
      {
        accepted: false,
        refusal: 'input-too-large',
        reason: undefined,
      },
    );

    // Raw garbage from another peer: a frame above the bound, and a frame that is no message.
    const attacker = await createPeerHost();
    hosts.push(attacker);
    const refused = (reason: string) =>
      worker.metrics.get('p2p_requests_refused_total', { protocol: signedRequestSpec.id, reason });
    const oversized = await attacker.libp2p.dialProtocol(ma, signedRequestSpec.id);
    oversized.send(encodeVarint(signedRequestSpec.maxRequestBytes + 1));
    oversized.send(new Uint8Array(100));
    await until(() => refused('oversized') === 1n, 'the oversized request refused');
    const garbage = await attacker.libp2p.dialProtocol(ma, signedRequestSpec.id);
    const noise = Uint8Array.from({ length: 64 }, (_, i) => (i * 89 + 7) & 255);
    garbage.send(encodeVarint(noise.length));
    garbage.send(noise);
    await until(() => refused('malformed') === 1n, 'the garbage request refused');

    await worker.tick();
    assert.equal(await signedPosts(), postsBefore, 'nothing was posted');
    assert.equal(worker.env.store.countOpenJobs().task, jobsBefore, 'nothing was queued');
    for (const name of [
      'bad-signature',
      'fee-too-low',
      'input-mismatch',
      'deadline-passed',
      'input-too-large',
    ])
      assert.equal(refused(name), 1n, name);
    assert.equal(worker.metrics.get('p2p_bad_messages_total', { offence: 'oversized' }), 1n);
    assert.equal(worker.metrics.get('p2p_bad_messages_total', { offence: 'malformed' }), 1n);
    assert.match(worker.metrics.render(), /^verinfer_p2p_peers_connected [1-9]\d*$/m);
  });

  it('a worker whose peer never answers does not hold up an on-chain task; the fetch is retried until it gets the input', async () => {
    // A worker with no host of its own: its registry endpoint names a peer that takes the input
    // request and never answers.
    const silent = await nodeFor(SILENT, 'silent.db', { worker: {} });
    const stall = await createPeerHost();
    hosts.push(stall);
    const held: Stream[] = [];
    await stall.libp2p.handle(inputSpec.id, (stream) => {
      held.push(stream);
    });
    const silentWallet = w.v.as(w.chain.wallet(SILENT));
    await w.chain.publicClient.waitForTransactionReceipt({
      hash: await silentWallet.agentRegistry.write.setEndpoint([endpointOf(stall.multiaddrs()[0])]),
    });
    const run = runOf(w.model, handInput(24));
    const task: TaskArgs = taskOf(w, requester.address, run);
    const signature = await signTask(requester, {
      chainId: deployment.chainId,
      market: w.v.addresses.taskMarket,
      task,
      worker: w.accounts[SILENT],
    });
    const id = await silent.worker!.acceptSignedRequest({ task, signature, input: toHex(run.inputBytes) });
    await silent.tick();
    assert.equal((await w.v.taskMarket.read.taskState([id])).status, 3, 'posted');

    await verifier.tick();
    assert.equal(fetcher().pending, 1, 'the fetch from the silent worker is under way');
    await until(() => held.length === 1, 'the stalled request at the silent peer');

    // Meanwhile an ordinary task with its input on chain is handled as usual.
    const onChain = runOf(w.model, handInput(25));
    const created = taskOf(w, w.accounts[ON_CHAIN_REQUESTER], onChain);
    await w.chain.publicClient.waitForTransactionReceipt({
      hash: await w.v
        .as(w.chain.wallet(ON_CHAIN_REQUESTER))
        .taskMarket.write.createTask([created, toHex(onChain.inputBytes)], { value: created.fee }),
    });
    await worker.tick();
    const checked = verifier.metrics.get('results_checked_total');
    await verifier.tick();
    assert.equal(verifier.metrics.get('results_checked_total'), checked + 1n);
    assert.equal(auditOf(idOf(w, created))?.payload.verdict, 'ok');
    assert.equal(fetcher().pending, 1, 'the stalled fetch is still under way');
    assert.equal(auditOf(id)?.payload.input, undefined);

    // The peer drops the stream: the fetch fails and is retried on the next tick.
    for (const s of held) s.abort(new Error('gone'));
    await fetcher().idle();
    assert.equal(verifier.metrics.get('p2p_input_fetch_failures_total', { error: 'PeerClosedError' }), 1n);
    // Now it lies: bytes of another input. The client refuses them on their root.
    await serveInputs(stall, async () => runOf(w.model, handInput(26)).inputBytes);
    await verifier.tick();
    await fetcher().idle();
    assert.equal(verifier.metrics.get('p2p_input_fetch_failures_total', { error: 'RootMismatchError' }), 1n);
    assert.equal(auditOf(id)?.payload.input, undefined, 'a lie is never handed in');
    assert.equal(verifier.peer?.host?.peers.get(stall.peerId.toString())?.offences['wrong-data'], 1);
    // Then it answers: the input is handed in and the result re-executed.
    await serveInputs(stall, async () => run.inputBytes);
    await verifier.tick();
    await fetcher().idle();
    await verifier.tick();
    assert.equal(auditOf(id)?.payload.verdict, 'ok');
    assert.equal(multiaddr(await endpointOfAgent(SILENT)).toString(), endpointOf(stall.multiaddrs()[0]));
  });
});
