// Shared setup of the batch tests: the embedded chain with the system deployed, the digits model
// registered, staked agents with libp2p hosts on loopback, a requester with its own key, and
// digits inputs (held-out images with small seeded perturbations).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Account,
  type Chain,
  createWalletClient,
  custom,
  type Hex,
  parseEther,
  type Transport,
  type WalletClient,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { VerinferDeployment } from '../../src/chain/deployVerinfer.ts';
import { deployVerinfer } from '../../src/chain/deployVerinfer.ts';
import { type EmbeddedChain, startEmbeddedChain } from '../../src/chain/embedded.ts';
import { tensorBytes } from '../../src/commit/tensorRoot.ts';
import type { Model } from '../../src/engine/graph.ts';
import type { Backend } from '../../src/engine/interpreter.ts';
import { createPeerHost, type PeerHost } from '../../src/p2p/host.ts';
import { endpointOf } from '../../src/p2p/identity.ts';
import { getBackend } from '../../src/sdk/backends.ts';
import { heldOutBatches } from '../../src/sdk/evaluate.ts';
import { EXAMPLES, loadOrImportExample } from '../../src/sdk/examples.ts';
import { registerModel, TEST_PARAMS } from '../market/support.ts';

type Wallet = WalletClient<Transport, Chain, Account>;

export interface BatchWorld {
  chain: EmbeddedChain;
  v: VerinferDeployment;
  model: Model;
  modelRoot: Hex;
  models: Map<Hex, Model>;
  backend: Backend;
  /** A requester that signs with its own key (as a wallet would), funded with 100 ETH. */
  requester: Wallet;
  hosts: PeerHost[];
  newHost(): Promise<PeerHost>;
  /** Registers accounts[i] as an agent serving the digits model, with `host` as its endpoint. */
  registerAgent(i: number, host?: PeerHost): Promise<void>;
  close(): Promise<void>;
}

const digits = EXAMPLES.find((e) => e.name === 'digits')!;

export async function startBatchWorld(): Promise<BatchWorld> {
  const chain = await startEmbeddedChain();
  const v = await deployVerinfer(chain, { params: TEST_PARAMS });
  const { model } = await loadOrImportExample(digits, join(tmpdir(), 'verinfer-test-digits'));
  const modelRoot = await registerModel(v, model);
  const backend = await getBackend('fast');
  const account = privateKeyToAccount(generatePrivateKey());
  await chain.testClient.setBalance({ address: account.address, value: parseEther('100') });
  const requester = createWalletClient({
    account,
    chain: chain.chain,
    transport: custom(chain.provider, { retryCount: 0 }),
    pollingInterval: 50,
    cacheTime: 0,
  });
  const hosts: PeerHost[] = [];
  const newHost = async () => {
    const h = await createPeerHost();
    hosts.push(h);
    return h;
  };
  return {
    chain,
    v,
    model,
    modelRoot,
    models: new Map([[modelRoot, model]]),
    backend,
    requester,
    hosts,
    newHost,
    async registerAgent(i, host) {
      const endpoint = host ? endpointOf(host.multiaddrs()[0]) : `node://agent${i}`;
      const hash = await v.as(chain.wallet(i)).agentRegistry.write.register([endpoint, [modelRoot]], {
        value: parseEther('10'),
      });
      await chain.publicClient.waitForTransactionReceipt({ hash });
    },
    async close() {
      for (const h of hosts) await h.stop();
      await chain.close();
    },
  };
}

/** n digits inputs (committed bytes): held-out images, each with a few pixels moved by a seeded amount. */
export function digitsInputs(model: Model, n: number, seed = 7): Uint8Array[] {
  const [batch] = heldOutBatches(digits, model, n, n);
  const bytes = tensorBytes(batch.quantized.dtype, batch.quantized.data);
  const per = bytes.length / n;
  const random = seeded(seed);
  return Array.from({ length: n }, (_, i) => {
    const input = bytes.slice(i * per, (i + 1) * per);
    for (let k = 0; k < 3; k++) {
      const at = Math.floor(random() * per);
      input[at] = (input[at] + 1 + Math.floor(random() * 8)) & 0xff;
    }
    return input;
  });
}

export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Advances the chain's clock and mines a block. */
export async function advance(chain: EmbeddedChain, seconds: bigint | number): Promise<void> {
  await chain.testClient.increaseTime({ seconds: Number(seconds) });
  await chain.testClient.mine({ blocks: 1 });
}

/** Waits for `cond` (polled); fails after `timeoutMs` with `what`. */
export async function until<T>(
  what: string,
  cond: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 120_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const got = await cond();
    if (got !== undefined && got !== false) return got;
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
