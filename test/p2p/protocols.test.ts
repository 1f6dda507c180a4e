import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Stream } from '@libp2p/interface';
import { type Address, type Hex, zeroAddress } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { bytesRoot } from '../../src/chain/bindings/commitments.ts';
import type { TaskArgs } from '../../src/chain/bindings/types.ts';
import { toHex } from '../../src/commit/keccak.ts';
import { modelRoot } from '../../src/commit/modelRoot.ts';
import { openChunkProof, tensorRoot } from '../../src/commit/tensorRoot.ts';
import { encodeModel } from '../../src/engine/format.ts';
import { encodeMessage, encodeVarint } from '../../src/p2p/codec.ts';
import {
  ContentNotFoundError,
  MalformedMessageError,
  MessageTooLargeError,
  PeerBannedError,
  PeerClosedError,
  PeerTimeoutError,
  RequestAbortedError,
  RootMismatchError,
} from '../../src/p2p/errors.ts';
import { createPeerHost, type PeerHost } from '../../src/p2p/host.ts';
import { createPeerBook } from '../../src/p2p/peers.ts';
import {
  fetchInput,
  fetchModel,
  fetchTraceChunk,
  inputSpec,
  MAX_INPUT_BYTES,
  modelSpec,
  protocolId,
  sendSignedRequest,
  serveInputs,
  serveModels,
  serveSignedRequests,
  serveTraceChunks,
  signTask,
  traceChunkSpec,
} from '../../src/p2p/protocols.ts';
import { handModel } from '../support/handModel.ts';
import { addrOf, startHosts, stopHosts } from './support.ts';

const CHAIN_ID = 31337;
const MARKET: Address = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const requester = privateKeyToAccount(`0x${'11'.repeat(32)}`);
const worker = privateKeyToAccount(`0x${'22'.repeat(32)}`);

const input = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff);
const inputRoot = bytesRoot(input);
const model = handModel();
const root = toHex(modelRoot(model));
const traceOutput = Uint8Array.from({ length: 5000 }, (_, i) => (i * 13) & 0xff);
const traceRoot = toHex(tensorRoot(traceOutput));
const TASK_ID: Hex = `0x${'77'.repeat(32)}`;

function taskFor(inputRootHex: Hex): TaskArgs {
  return {
    requester: requester.address,
    modelRoot: root,
    inputRoot: inputRootHex,
    feeToken: zeroAddress,
    fee: 10n ** 15n,
    takeDeadline: 2_000_000_000n,
    consumer: zeroAddress,
    callbackGasLimit: 0,
    salt: `0x${'01'.repeat(32)}`,
  };
}

/** A handler that writes `bytes` as its whole answer and leaves the stream open. */
function rawAnswer(bytes: Uint8Array) {
  return (stream: Stream) => {
    stream.send(bytes);
  };
}

function framed(message: Uint8Array): Uint8Array {
  const p = encodeVarint(message.length);
  const out = new Uint8Array(p.length + message.length);
  out.set(p);
  out.set(message, p.length);
  return out;
}

describe('request/response protocols between honest peers', () => {
  let hosts: PeerHost[];
  let server: PeerHost;
  let client: PeerHost;
  const decided: Hex[] = [];

  before(async () => {
    hosts = await startHosts(2);
    [server, client] = hosts;
    await serveSignedRequests(server, {
      chainId: CHAIN_ID,
      market: MARKET,
      worker: worker.address,
      async decide(req) {
        decided.push(req.taskId);
        return req.task.fee >= 10n ** 15n
          ? { accepted: true, taskId: req.taskId }
          : { accepted: false, refusal: 'fee-too-low', reason: 'min 0.001' };
      },
    });
    await serveInputs(server, async (r) => (r === inputRoot ? input : undefined));
    await serveModels(server, async (r) => (r === root ? model : undefined));
    await serveTraceChunks(server, async (r) =>
      r.taskId === TASK_ID && r.op === 3 ? openChunkProof(traceOutput, r.chunk) : undefined,
    );
  });
  after(() => stopHosts(hosts));

  test('signed-request: a correctly signed task with its input is accepted', async () => {
    const task = taskFor(inputRoot);
    const signature = await signTask(requester, {
      chainId: CHAIN_ID,
      market: MARKET,
      task,
      worker: worker.address,
    });
    const answer = await sendSignedRequest(client, addrOf(server), { task, signature, input });
    assert.equal(answer.accepted, true);
    assert.ok(answer.accepted && decided.includes(answer.taskId));
    const cheap = { ...taskFor(inputRoot), fee: 1n };
    const sig2 = await signTask(requester, {
      chainId: CHAIN_ID,
      market: MARKET,
      task: cheap,
      worker: worker.address,
    });
    assert.deepEqual(
      await sendSignedRequest(client, server.peerId, { task: cheap, signature: sig2, input }),
      {
        accepted: false,
        refusal: 'fee-too-low',
        reason: 'min 0.001',
      },
    );
  });

  test('signed-request: a wrong input or a signature for another worker is refused by name', async () => {
    const task = taskFor(inputRoot);
    const signature = await signTask(requester, {
      chainId: CHAIN_ID,
      market: MARKET,
      task,
      worker: worker.address,
    });
    const before = decided.length;
    const other = input.slice();
    other[5] ^= 1;
    const a = await sendSignedRequest(client, server.peerId, { task, signature, input: other });
    assert.equal(a.accepted === false && a.refusal, 'input-mismatch');
    const forOther = await signTask(requester, {
      chainId: CHAIN_ID,
      market: MARKET,
      task,
      worker: requester.address,
    });
    const b = await sendSignedRequest(client, server.peerId, { task, signature: forOther, input });
    assert.equal(b.accepted === false && b.refusal, 'bad-signature');
    assert.equal(decided.length, before, 'the node is never asked about an unchecked request');
    assert.equal(server.peers.get(client.peerId.toString())?.offences['wrong-data'], 1);
  });

  test('input: fetched by root and checked', async () => {
    assert.deepEqual(await fetchInput(client, server.peerId, inputRoot), input);
    await assert.rejects(fetchInput(client, server.peerId, `0x${'00'.repeat(32)}`), ContentNotFoundError);
  });

  test('model: fetched by root, decoded and its root recomputed', async () => {
    const got = await fetchModel(client, server.peerId, root);
    assert.equal(toHex(modelRoot(got.model)), root);
    assert.deepEqual(got.bytes, encodeModel(model));
  });

  test('trace-chunk: chunk and proof verified against the op output root', async () => {
    const proof = await fetchTraceChunk(client, server.peerId, {
      taskId: TASK_ID,
      op: 3,
      chunk: 4,
      tensorRoot: traceRoot,
    });
    assert.equal(proof.index, 4);
    assert.deepEqual(proof.chunk, traceOutput.subarray(4096, 5000));
    await assert.rejects(
      fetchTraceChunk(client, server.peerId, { taskId: TASK_ID, op: 2, chunk: 0, tensorRoot: traceRoot }),
      ContentNotFoundError,
    );
  });
});

describe('lying, slow and malformed peers', () => {
  let hosts: PeerHost[];
  let liar: PeerHost;
  let client: PeerHost;

  before(async () => {
    liar = await createPeerHost();
    // Lenient, so that the offences below are counted without banning the liar half-way.
    client = await createPeerHost({ peers: createPeerBook({ banThreshold: 100_000 }) });
    hosts = [liar, client];
    await client.dial(addrOf(liar));
  });
  after(() => stopHosts(hosts));

  const reset = async (spec: string) => {
    await liar.libp2p.unhandle(spec);
  };

  test('a wrong input, a wrong model and a wrong chunk proof are rejected and counted', async () => {
    const other = input.slice();
    other[0] ^= 0xff;
    await serveInputs(liar, async () => other);
    await assert.rejects(fetchInput(client, liar.peerId, inputRoot), RootMismatchError);

    const tampered = handModel();
    const [id, data] = [...tampered.consts.entries()][0];
    const copy = data.slice();
    copy[0] = copy[0] === 1 ? 2 : 1;
    tampered.consts.set(id, copy);
    await serveModels(liar, async () => tampered);
    await assert.rejects(fetchModel(client, liar.peerId, root), RootMismatchError);
    const corrupt = encodeModel(model);
    corrupt[corrupt.length - 40] ^= 1;
    await serveModels(liar, async () => corrupt);
    await assert.rejects(fetchModel(client, liar.peerId, root), MalformedMessageError);

    await serveTraceChunks(liar, async (r) => {
      const proof = openChunkProof(traceOutput, r.chunk);
      proof.chunk[0] ^= 1;
      return proof;
    });
    const ask = { taskId: TASK_ID, op: 3, chunk: 1, tensorRoot: traceRoot };
    await assert.rejects(fetchTraceChunk(client, liar.peerId, ask), RootMismatchError);
    // An honest proof of another chunk is still a lie about the one asked for.
    await serveTraceChunks(liar, async () => openChunkProof(traceOutput, 0));
    await assert.rejects(fetchTraceChunk(client, liar.peerId, ask), RootMismatchError);

    const record = client.peers.get(liar.peerId.toString());
    assert.equal(record?.offences['wrong-data'], 4);
    assert.equal(record?.offences.malformed, 1);
    await reset(inputSpec.id);
    await reset(modelSpec.id);
    await reset(traceChunkSpec.id);
  });

  test('an oversized response is refused on its length prefix, before the body arrives', async () => {
    // Announces 1 byte more than the bound, sends 1 KiB of it and never closes.
    const prefix = encodeVarint(inputSpec.maxResponseBytes + 1);
    const partial = new Uint8Array(prefix.length + 1024);
    partial.set(prefix);
    await liar.libp2p.handle(inputSpec.id, rawAnswer(partial), { force: true });
    const err = await fetchInput(client, liar.peerId, inputRoot, { timeoutMs: 60_000 }).catch((e) => e);
    assert.ok(err instanceof MessageTooLargeError, `got ${err}`);
    assert.equal(err.limit, inputSpec.maxResponseBytes);
    await reset(inputSpec.id);
  });

  test('an oversized request is refused by the server and counted against the sender', async () => {
    await serveInputs(client, async () => input);
    const before = client.peers.get(liar.peerId.toString())?.offences.oversized ?? 0;
    const stream = await liar.libp2p.dialProtocol(client.peerId, inputSpec.id);
    stream.send(encodeVarint(64 * 1024 * 1024));
    stream.send(new Uint8Array(100));
    await new Promise<void>((resolve) => stream.addEventListener('close', () => resolve(), { once: true }));
    assert.equal(client.peers.get(liar.peerId.toString())?.offences.oversized, before + 1);
    await client.libp2p.unhandle(inputSpec.id);
  });

  test('malformed JSON and off-schema headers give MalformedMessageError', async () => {
    const notJson = new Uint8Array([1, 0, 0, 0, 3, 0x7b, 0x7b, 0x7b]);
    await liar.libp2p.handle(inputSpec.id, rawAnswer(framed(notJson)), { force: true });
    await assert.rejects(fetchInput(client, liar.peerId, inputRoot), /not UTF-8 JSON/);
    const offSchema = encodeMessage(inputSpec.request, { inputRoot });
    await liar.libp2p.handle(inputSpec.id, rawAnswer(framed(offSchema)), { force: true });
    await assert.rejects(fetchInput(client, liar.peerId, inputRoot), MalformedMessageError);
    await reset(inputSpec.id);
  });

  test('a peer that never answers times out within the bound; an abort is reported as such', async () => {
    await liar.libp2p.handle(traceChunkSpec.id, () => {}, { force: true });
    const ask = { taskId: TASK_ID, op: 3, chunk: 1, tensorRoot: traceRoot };
    const start = Date.now();
    await assert.rejects(
      fetchTraceChunk(client, liar.peerId, { ...ask }, { timeoutMs: 300 }),
      PeerTimeoutError,
    );
    // Generous: only a hang (no bound at all) would break it.
    assert.ok(Date.now() - start < 5_000);
    const controller = new AbortController();
    const call = fetchTraceChunk(client, liar.peerId, ask, { signal: controller.signal, timeoutMs: 60_000 });
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(call, RequestAbortedError);
    await reset(traceChunkSpec.id);
  });

  test('a peer that closes without answering gives PeerClosedError', async () => {
    await liar.libp2p.handle(protocolId('input'), (stream) => void stream.close(), { force: true });
    await assert.rejects(fetchInput(client, liar.peerId, inputRoot), PeerClosedError);
    await reset(inputSpec.id);
  });

  test('an input above the bound is refused before sending', async () => {
    const big = new Uint8Array(MAX_INPUT_BYTES + 1);
    const task = taskFor(bytesRoot(big));
    await assert.rejects(
      sendSignedRequest(client, liar.peerId, { task, signature: `0x${'00'.repeat(65)}`, input: big }),
      MessageTooLargeError,
    );
  });
  test('a banned peer is not dialled, and cannot dial in', async () => {
    client.peers.ban(liar.peerId.toString());
    await assert.rejects(fetchInput(client, addrOf(liar), inputRoot), PeerBannedError);
    await client.libp2p.hangUp(liar.peerId);
    await serveInputs(client, async () => input);
    await assert.rejects(fetchInput(liar, client.peerId, inputRoot));
    await client.libp2p.unhandle(inputSpec.id);
  });
});
