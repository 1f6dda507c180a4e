// Scenario 7 under a crash: a batch worker that corrupted one result and the verifier that caught
// it are both SIGKILLed in their dispute game, after its first move, and restarted on
// their databases. The game still ends ChallengerWon, the batch is convicted, and the verifier
// never sends a second challenge.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createWalletClient, decodeFunctionData, type Hex, http, parseEther } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { BATCH_STATUS, requestBatch, waitForBatchFinality } from '../../src/batch/requester.ts';
import { tensorBytes } from '../../src/commit/tensorRoot.ts';
import { createPeerHost, type PeerHost } from '../../src/p2p/host.ts';
import { parseEndpoint } from '../../src/p2p/identity.ts';
import { EXAMPLES } from '../../src/sdk/examples.ts';
import { loadInput } from '../../src/sdk/loadInput.ts';
import { startTestNetwork, type TestNetwork } from '../support/network.ts';
import { eventsOf, gameMoves, same, sentBy } from '../support/networkChain.ts';

const BAD = 37;
const COUNT = 64;
const CHALLENGER_WON = 1;

describe('scenario 7 killed mid-game: a cheating batch worker and its verifier SIGKILLed and restarted', {
  timeout: 420_000,
}, () => {
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

  it('resume from their databases: ChallengerWon, convicted, one challenge', async (t) => {
    const { chain } = net;
    const d = chain.deployment;
    const pc = chain.chain.publicClient;
    const pkg = chain.packages.get('digits')!;
    const samples = await Promise.all(
      ['digit-2.png', 'digit-7.png', 'digit-9.png'].map((f) => loadInput(pkg, join(EXAMPLES[0].samples, f))),
    );
    const root = d.models.find((m) => m.name === 'digits')!.root;
    const worker = net.nodes.get('worker')!;
    const verifier = net.nodes.get('verifier')!;
    const endpoint = await net.until('the worker’s peer endpoint', async () => {
      const info = await chain.contracts.agentRegistry.read.agentInfo([worker.address]);
      return info.endpoint || undefined;
    });
    const wallet = createWalletClient({
      account: privateKeyToAccount(net.requester.privateKey),
      chain: chain.chain.chain,
      transport: http(chain.rpc.url),
    });
    const posted = await requestBatch({
      host,
      worker: parseEndpoint(endpoint).multiaddr,
      workerAddress: worker.address,
      wallet,
      publicClient: pc,
      addresses: d.addresses,
      requests: Array.from({ length: COUNT }, (_, i) => {
        const s = samples[i % samples.length];
        return { modelRoot: root as Hex, input: tensorBytes(s.dtype, s.data) };
      }),
      fee: parseEther('0.0001'),
      call: { timeoutMs: 120_000 },
    });
    const market = { address: d.addresses.batchMarket, abi: chain.contracts.batchMarket.abi } as const;
    const challenges = () =>
      pc.getContractEvents({
        ...market,
        eventName: 'ResultChallenged',
        args: { batchId: posted.batchId },
        fromBlock: 0n,
      });

    // SIGKILL both once the worker has made its first move (a move takes a block a second, and
    // the game needs seven): both hold a game in their databases, in the middle of the dissection.
    const challenge = await net.until('the challenge', async () => (await challenges())[0]);
    await net.until('the worker’s first move', async () =>
      (await gameMoves(net, challenge.args.gameId!)).length > 0 ? true : undefined,
    );
    worker.process.kill();
    verifier.process.kill();
    await Promise.all([worker.process.exited, verifier.process.exited]);
    const gameId = challenge.args.gameId!;
    const killedAt = await pc.getBlockNumber({ cacheTime: 0 });
    assert.equal(
      (await eventsOf(net, 'disputeGame', 'GameResolved', { gameId })).length,
      0,
      'the game is still open when both die',
    );
    const before = await gameMoves(net, gameId);
    assert.ok(before.length >= 1);
    t.diagnostic(`killed after: ${before.map((m) => m.fn).join(', ')}`);
    await new Promise((r) => setTimeout(r, 3_000));
    await Promise.all([net.restart('worker'), net.restart('verifier')]);

    const status = await waitForBatchFinality({
      publicClient: pc,
      addresses: d.addresses,
      batchId: posted.batchId,
      timeoutMs: 300_000,
    });
    assert.equal(status, BATCH_STATUS.convicted);
    const [resolved] = await eventsOf(net, 'disputeGame', 'GameResolved', { gameId });
    assert.equal(resolved?.args.outcome, CHALLENGER_WON, 'the verifier wins the game on the bad leaf');
    const moves = await gameMoves(net, gameId);
    const resumed = moves.filter((m) => m.blockNumber > killedAt);
    t.diagnostic(`after the restart: ${resumed.map((m) => m.fn).join(', ')}`);
    assert.ok(!moves.some((m) => m.fn === 'timeout'), 'nobody ran out of time');
    assert.ok(
      resumed.some((m) => same(m.from, worker.address)),
      'the restarted worker defends on',
    );
    assert.ok(
      resumed.some((m) => same(m.from, verifier.address)),
      'the restarted verifier plays on',
    );
    assert.deepEqual(
      (await challenges()).map((e) => Number(e.args.index)),
      [BAD],
      'exactly the bad leaf is challenged, once',
    );
    // Not even a reverted second challenge was sent.
    const toMarket = (await sentBy(net, verifier.address)).filter((x) => same(x.to, d.addresses.batchMarket));
    const fns = await Promise.all(
      toMarket.map(async (x) => {
        const tx = await pc.getTransaction({ hash: x.hash });
        return decodeFunctionData({ abi: market.abi, data: tx.input }).functionName;
      }),
    );
    assert.equal(fns.filter((f) => f === 'challengeResult').length, 1, 'the verifier challenged once');
    const slashed = await eventsOf(net, 'agentRegistry', 'StakeSlashed', { agent: worker.address });
    assert.equal(slashed.length, 1, 'the worker is slashed once');
  });
});
