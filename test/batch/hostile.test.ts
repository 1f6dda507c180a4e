// Hostile peers on the batch protocols. A requester's bad bundle (a forged signature, an input that
// is not the signed one, too many requests, an oversized input, a duplicate nonce, an unserved
// model, a fee below the minimum, an input the model cannot take) gets a named refusal and nothing
// is posted; a worker whose proposal does not match the requests is refused a signature.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Address, getAddress, type Hex, parseEther } from 'viem';
import { BatchBoundsError, BatchRefusedError } from '../../src/batch/errors.ts';
import {
  type BatchRefusal,
  type Bundle,
  MAX_BATCH_INPUT_BYTES,
  MAX_BATCH_REQUESTS,
  sendBatchBundle,
  serveBatchBundles,
  serveHeaderSignatures,
  signBatchRequest,
} from '../../src/batch/protocol.ts';
import { requestBatch } from '../../src/batch/requester.ts';
import { inputTensorOf, runLeaf } from '../../src/batch/run.ts';
import type { SignedBatchRequest } from '../../src/batch/wire.ts';
import { type BatchWorker, createBatchWorker } from '../../src/batch/worker.ts';
import { buildBatchTree, bytesRoot } from '../../src/chain/bindings/commitments.ts';
import { NATIVE, type RequestArgs } from '../../src/chain/bindings/types.ts';
import { RootMismatchError } from '../../src/p2p/errors.ts';
import type { PeerHost } from '../../src/p2p/host.ts';
import { type BatchWorld, digitsInputs, startBatchWorld } from './support.ts';

const WORKER = 1;
const FEE = parseEther('0.001');
let w: BatchWorld;
let worker: BatchWorker;
let workerHost: PeerHost;
let workerAddress: Address;
let inputs: Uint8Array[];
let nonce = 0n;
let sender: PeerHost | undefined;

before(async () => {
  w = await startBatchWorld();
  inputs = digitsInputs(w.model, 8, 11);
  workerHost = await w.newHost();
  await w.registerAgent(WORKER, workerHost);
  workerAddress = getAddress(w.chain.accounts[WORKER]);
  worker = createBatchWorker({
    host: workerHost,
    publicClient: w.chain.publicClient,
    wallet: w.chain.wallet(WORKER),
    addresses: w.v.addresses,
    models: w.models,
    backend: w.backend,
    minFee: FEE,
  });
  await worker.start();
  const hash = await w.v
    .as(w.requester)
    .batchMarket.write.deposit([NATIVE, parseEther('1')], { value: parseEther('1') });
  await w.chain.publicClient.waitForTransactionReceipt({ hash });
});
after(async () => {
  await worker?.stop();
  await w?.close();
});

const market = () => w.v.addresses.batchMarket;
const chainId = () => w.chain.chain.id;
const me = () => getAddress(w.requester.account.address);

function requestOf(input: Uint8Array, over: Partial<RequestArgs> = {}): RequestArgs {
  nonce += 1n;
  return {
    requester: me(),
    worker: workerAddress,
    modelRoot: w.modelRoot,
    inputRoot: bytesRoot(input),
    feeToken: NATIVE,
    fee: FEE,
    nonce,
    deadline: 2n ** 40n,
    ...over,
  };
}

async function signed(
  input: Uint8Array,
  over: Partial<RequestArgs> = {},
  send = input,
): Promise<SignedBatchRequest> {
  const request = requestOf(input, over);
  return {
    request,
    signature: await signBatchRequest(w.requester, chainId(), market(), request),
    input: send,
  };
}

function bundleOf(requests: SignedBatchRequest[]): Bundle {
  return { requester: me(), worker: workerAddress, feeToken: NATIVE, requests };
}

/** Sends `requests` and expects the named refusal; nothing may be posted. */
async function expectRefusal(requests: SignedBatchRequest[], refusal: BatchRefusal, index?: number) {
  const before = await w.v.batchMarket.read.batchCount();
  // One sender for all: libp2p throttles new inbound connections from one address.
  sender ??= await w.newHost();
  const answer = await sendBatchBundle(sender, workerHost.multiaddrs()[0], bundleOf(requests));
  assert.equal(answer.accepted, false);
  assert.equal(!answer.accepted && answer.refusal, refusal);
  assert.equal(!answer.accepted && answer.index, index);
  assert.equal(await w.v.batchMarket.read.batchCount(), before, 'nothing was posted');
  assert.equal(worker.batches.size, 0);
}

test('a bundle with a forged signature is refused by name, at the forged request', async () => {
  const list = [await signed(inputs[0]), await signed(inputs[1]), await signed(inputs[2])];
  // Request 2 signed by another key (the worker's own).
  list[2].signature = await signBatchRequest(w.chain.wallet(WORKER), chainId(), market(), list[2].request);
  await expectRefusal(list, 'bad-signature', 2);
  // A signature of another request does not carry over either.
  const swapped = [await signed(inputs[0]), await signed(inputs[1])];
  swapped[1].signature = swapped[0].signature;
  await expectRefusal(swapped, 'bad-signature', 1);
});

test('an input that is not the signed one is refused (and counted against the sender)', async () => {
  const list = [await signed(inputs[0]), await signed(inputs[1], {}, inputs[2])];
  const host = await w.newHost();
  const answer = await sendBatchBundle(host, workerHost.multiaddrs()[0], bundleOf(list));
  assert.deepEqual(answer.accepted === false && [answer.refusal, answer.index], ['input-mismatch', 1]);
  assert.equal(workerHost.peers.get(host.peerId.toString())?.offences['wrong-data'], 1);
  assert.equal(await w.v.batchMarket.read.batchCount(), 0n);
});

test('too many requests, an oversized input: refused by name before any request is run', async () => {
  const one = await signed(inputs[0]);
  const many = Array.from({ length: MAX_BATCH_REQUESTS + 1 }, () => one);
  await expectRefusal(many, 'too-many-requests');
  const big = new Uint8Array(MAX_BATCH_INPUT_BYTES + 1);
  await expectRefusal([await signed(inputs[0]), await signed(big)], 'input-too-large', 1);
  // requestBatch checks the same bounds before signing or sending anything.
  await assert.rejects(
    requestBatch({
      host: sender!,
      worker: workerHost.multiaddrs()[0],
      workerAddress,
      wallet: w.requester,
      publicClient: w.chain.publicClient,
      addresses: w.v.addresses,
      requests: Array.from({ length: MAX_BATCH_REQUESTS + 1 }, () => ({
        modelRoot: w.modelRoot,
        input: inputs[0],
      })),
      fee: FEE,
    }),
    BatchBoundsError,
  );
});

test('duplicate nonces, an unserved model, a low fee, an input the model cannot take: named refusals', async () => {
  const a = await signed(inputs[0]);
  const dup = await signed(inputs[1], { nonce: a.request.nonce });
  await expectRefusal([a, dup], 'duplicate', 1);
  await expectRefusal(
    [await signed(inputs[0]), await signed(inputs[1], { modelRoot: `0x${'11'.repeat(32)}` })],
    'unknown-model',
    1,
  );
  await expectRefusal([await signed(inputs[0], { fee: FEE - 1n })], 'fee-too-low', 0);
  await expectRefusal([await signed(inputs[0]), await signed(inputs[1].subarray(0, 100))], 'bad-input', 1);
  await expectRefusal([await signed(inputs[0], { deadline: 1n })], 'deadline-passed', 0);
  await assert.rejects(
    requestBatch({
      host: sender!,
      worker: workerHost.multiaddrs()[0],
      workerAddress,
      wallet: w.requester,
      publicClient: w.chain.publicClient,
      addresses: w.v.addresses,
      requests: [{ modelRoot: w.modelRoot, input: inputs[0] }],
      fee: FEE - 1n,
    }),
    (err: unknown) => err instanceof BatchRefusedError && err.refusal === 'fee-too-low' && err.index === 0,
  );
});

/** A worker whose proposal is tampered by `lie` after an honest run; it records every header sent to it. */
async function lyingWorker(
  lie: (leaves: { leaf: { requestHash: Hex; fee: bigint }; output: Uint8Array }[]) => void,
) {
  const host = await w.newHost();
  const signatures: Hex[] = [];
  await serveBatchBundles(host, {
    chainId: chainId(),
    market: market(),
    worker: workerAddress,
    async decide(bundle) {
      const leaves = [];
      for (const r of bundle.requests) {
        const input = inputTensorOf(w.model, r.input);
        const run = await runLeaf(w.backend, w.model, input, r.requestHash, r.request.fee);
        leaves.push({ leaf: run.leaf, output: run.output });
      }
      lie(leaves);
      const tree = buildBatchTree(leaves.map((l) => l.leaf));
      return {
        accepted: true,
        leaves,
        proposal: {
          requester: bundle.requester,
          worker: workerAddress,
          feeToken: bundle.feeToken,
          root: tree.root,
          count: leaves.length,
          totalFee: tree.totalFee,
          nonce: 1n,
          deadline: 2n ** 40n,
        },
      };
    },
  });
  await serveHeaderSignatures(host, async (_h, signature) => {
    signatures.push(signature);
    return { posted: false, refusal: 'post-failed' };
  });
  return { host, signatures };
}

test('a worker whose leaves do not match the requests is refused a signature', async () => {
  const lies: [string, Parameters<typeof lyingWorker>[0]][] = [
    [
      'a leaf charges more than signed',
      (l) => {
        l[1].leaf.fee *= 2n;
      },
    ],
    [
      'a leaf names another request',
      (l) => {
        l[2].leaf.requestHash = l[0].leaf.requestHash;
      },
    ],
    [
      'an output is not its outputRoot',
      (l) => {
        l[0].output = l[1].output.map((b) => b ^ 1);
      },
    ],
    [
      'a leaf is missing',
      (l) => {
        l.pop();
      },
    ],
  ];
  for (const [what, lie] of lies) {
    const liar = await lyingWorker(lie);
    const requester = await w.newHost();
    await assert.rejects(
      requestBatch({
        host: requester,
        worker: liar.host.multiaddrs()[0],
        workerAddress,
        wallet: w.requester,
        publicClient: w.chain.publicClient,
        addresses: w.v.addresses,
        requests: inputs.slice(0, 3).map((input) => ({ modelRoot: w.modelRoot, input })),
        fee: FEE,
      }),
      RootMismatchError,
      what,
    );
    assert.deepEqual(liar.signatures, [], `${what}: nothing was signed`);
    assert.equal(requester.peers.get(liar.host.peerId.toString())?.offences['wrong-data'], 1, what);
  }
  assert.equal(await w.v.batchMarket.read.batchCount(), 0n);
});
