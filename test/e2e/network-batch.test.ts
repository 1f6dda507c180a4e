// Scenario 7, with nodes as separate processes and real libp2p on loopback: 1,000 requests signed
// off chain settle in one batch; the one wrong result in it is found and challenged alone, the
// worker loses the game, and the batch is convicted.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createWalletClient, type Hex, http, parseEther } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { BATCH_STATUS, requestBatch, waitForBatchFinality } from '../../src/batch/requester.ts';
import { tensorBytes } from '../../src/commit/tensorRoot.ts';
import { createPeerHost, type PeerHost } from '../../src/p2p/host.ts';
import { parseEndpoint } from '../../src/p2p/identity.ts';
import { EXAMPLES } from '../../src/sdk/examples.ts';
import { loadInput } from '../../src/sdk/loadInput.ts';
import { startTestNetwork, type TestNetwork } from '../support/network.ts';

const BAD = 417;
const COUNT = 1_000;

describe('scenario 7: a batch of 1,000 signed requests with one bad result', { timeout: 420_000 }, () => {
  let net: TestNetwork;
  let host: PeerHost;
  before(async () => {
    net = await startTestNetwork([
      { name: 'worker', role: 'worker', worker: { batchCheatIndex: BAD } },
      { name: 'verifier', role: 'verifier' },
    ]);
    host = await createPeerHost({ listen: [] });
  });
  after(async () => {
    await host?.stop();
    await net?.stop();
  });

  it('settles in one batch, and only the bad result is challenged and convicted', async () => {
    const { chain } = net;
    const d = chain.deployment;
    const pc = chain.chain.publicClient;
    const pkg = chain.packages.get('digits')!;
    const samples = await Promise.all(
      ['digit-2.png', 'digit-7.png', 'digit-9.png'].map((f) => loadInput(pkg, join(EXAMPLES[0].samples, f))),
    );
    const root = d.models.find((m) => m.name === 'digits')!.root;
    const worker = net.nodes.get('worker')!;
    const endpoint = await net.until('the worker’s peer endpoint', async () => {
      const info = await chain.contracts.agentRegistry.read.agentInfo([worker.address]);
      return info.endpoint || undefined;
    });
    const wallet = createWalletClient({
      account: privateKeyToAccount(net.requester.privateKey),
      chain: chain.chain.chain,
      transport: http(chain.rpc.url),
    });
    const fee = parseEther('0.0001');
    const posted = await requestBatch({
      host,
      worker: parseEndpoint(endpoint).multiaddr,
      workerAddress: worker.address,
      wallet,
      publicClient: pc,
      addresses: d.addresses,
      requests: Array.from({ length: COUNT }, (_, i) => {
        const t = samples[i % samples.length];
        return { modelRoot: root as Hex, input: tensorBytes(t.dtype, t.data) };
      }),
      fee,
      call: { timeoutMs: 120_000 },
    });
    assert.equal(posted.header.count, COUNT, 'one batch holds all 1,000 results');
    const status = await waitForBatchFinality({
      publicClient: pc,
      addresses: d.addresses,
      batchId: posted.batchId,
      timeoutMs: 300_000,
    });
    assert.equal(status, BATCH_STATUS.convicted);
    const market = { address: d.addresses.batchMarket, abi: chain.contracts.batchMarket.abi } as const;
    const challenged = await pc.getContractEvents({
      ...market,
      eventName: 'ResultChallenged',
      fromBlock: 0n,
    });
    assert.deepEqual(
      challenged.map((e) => Number(e.args.index)),
      [BAD],
      'exactly the bad leaf is challenged, once',
    );
    const gameId = challenged[0].args.gameId!;
    const resolved = await pc.getContractEvents({
      address: d.addresses.disputeGame,
      abi: chain.contracts.disputeGame.abi,
      eventName: 'GameResolved',
      args: { gameId },
      fromBlock: 0n,
    });
    assert.equal(resolved[0]?.args.outcome, 1, 'the verifier wins the game on the bad leaf');
    const slashed = await pc.getContractEvents({
      address: d.addresses.agentRegistry,
      abi: chain.contracts.agentRegistry.abi,
      eventName: 'StakeSlashed',
      args: { agent: worker.address },
      fromBlock: 0n,
    });
    assert.equal(slashed.length, 1, 'the worker is slashed once');
    const dep = await chain.contracts.batchMarket.read.deposits([
      '0x0000000000000000000000000000000000000000',
      wallet.account.address,
    ]);
    assert.ok(dep.available >= fee * BigInt(COUNT), 'the requester’s fees come back to its deposit');
  });
});
