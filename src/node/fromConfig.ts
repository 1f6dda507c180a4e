// Builds a running node from a validated config: the key (keystore, or a plain key on a devnet),
// viem clients for the RPC URL, the deployment's addresses, the models, the database, and the
// local HTTP endpoints, and with p2p.listen the peer host (peer.ts; node.start() starts it).
// Everything that can fail is checked before the node starts.
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hex,
  http,
  nonceManager,
  type Transport,
  webSocket,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { getBackend } from '../sdk/backends.ts';
import { ChainSetupError, connectNodeChain, type NodePublicClient } from './chain.ts';
import { type NodeConfig, readDeploymentFile } from './config.ts';
import { type HttpEndpoint, startHttp } from './http.ts';
import { loadKey, readPassword } from './keystore.ts';
import { createLogger, type Logger } from './log.ts';
import { Metrics } from './metrics.ts';
import { loadModels } from './models.ts';
import { NodePeer } from './peer.ts';
import { VerinferNode } from './service.ts';
import { NodeStore } from './store.ts';
import { isTransportError, withRetry } from './sync.ts';

export interface RunningNode {
  node: VerinferNode;
  store: NodeStore;
  http?: HttpEndpoint;
  log: Logger;
  /** Stops the node, the HTTP server and closes the database. */
  close(): Promise<void>;
}

export async function nodeFromConfig(config: NodeConfig, env = process.env): Promise<RunningNode> {
  const log = createLogger({ service: 'node', level: config.logLevel });
  let privateKey: Hex;
  if (config.key.privateKey) {
    privateKey = config.key.privateKey as Hex;
  } else {
    const password = readPassword({ file: config.key.passwordFile, envName: config.key.passwordEnv }, env);
    log.addSecret(password);
    privateKey = loadKey(config.key.keystore as string, password).privateKey;
  }
  log.addSecret(privateKey);
  // The worker, verifier and batch services send from this one account at once: the nonce
  // manager hands out consecutive nonces instead of letting concurrent sends collide.
  const account = privateKeyToAccount(privateKey, { nonceManager });

  let addresses = config.addresses;
  let fromBlock = config.fromBlock;
  if (!addresses) {
    const d = readDeploymentFile(config.deployment as string);
    addresses = d.addresses;
    fromBlock ??= d.blockNumber;
  }
  // A few quick transport retries of a dropped call (a reset, a timeout, a 5xx): a job's wake
  // makes several calls and fails on the first lost one, so without them a provider that drops
  // 10% of calls fails most wakes, and a game's clock runs while they are retried block after
  // block. Resending is safe for every call the node makes: reads, and eth_sendRawTransaction
  // of the same signed transaction (one nonce: it lands once). Errors the provider answers
  // (a revert) are not retried by the transport; longer outages are the sync path's backoff.
  const transport: Transport = /^wss?:/.test(config.rpcUrl)
    ? webSocket(config.rpcUrl, { retryCount: 3, retryDelay: 150 })
    : http(config.rpcUrl, { retryCount: 3, retryDelay: 150, timeout: 30_000 });
  const probe = createPublicClient({ transport });
  // A provider that drops a call now and then must not stop the node at start: the start-up
  // reads retry dropped calls (only those) with the sync path's backoff.
  const metrics = new Metrics();
  const startRetry = { attempts: (err: unknown) => (isTransportError(err) ? 8 : 1), maxDelayMs: 5_000 };
  let id: number;
  try {
    id = await withRetry(() => probe.getChainId(), 'eth_chainId', { log, metrics }, startRetry);
  } catch (cause) {
    throw new ChainSetupError(
      `Cannot reach the chain at rpcUrl ${config.rpcUrl}. Check the URL and that the node is up.`,
      {
        cause,
      },
    );
  }
  const chain = defineChain({
    id,
    name: `rpc ${id}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [config.rpcUrl] } },
  });
  const pollingInterval = Math.min(config.pollIntervalMs, 1_000);
  const publicClient = createPublicClient({ chain, transport, pollingInterval }) as NodePublicClient;
  const walletClient = createWalletClient({ account, chain, transport, pollingInterval });
  const nodeChain = await withRetry(
    () => connectNodeChain({ publicClient, walletClient, addresses, chainId: config.chainId }),
    'connect',
    { log, metrics },
    startRetry,
  );
  const models = await loadModels(config.models);
  const backend = await getBackend(config.backend);
  const store = new NodeStore(config.database);
  const roles = new Set(config.roles);
  const worker = config.worker ?? {
    stake: 2n * 10n ** 18n,
    endpoint: '',
    withdrawThreshold: 5n * 10n ** 16n,
    cheat: 0,
    silentInDisputes: false,
    takeStaggerBlocks: 0,
  };
  const verifier = config.verifier ?? {
    stake: 2n * 10n ** 18n,
    endpoint: '',
    withdrawThreshold: 5n * 10n ** 16n,
    watchShare: 0.1,
    behaviour: 'honest' as const,
  };
  // The peer key lives next to the database: both belong to this node, and the PeerId must
  // survive restarts (the AgentRegistry endpoint names it).
  const p2p = config.p2p?.listen.length ? config.p2p : undefined;
  const peer =
    p2p &&
    new NodePeer({
      listen: p2p.listen,
      announce: p2p.announce,
      bootstrap: p2p.bootstrap,
      heartbeatSeconds: p2p.heartbeatSeconds,
      keyFile: p2p.keyFile ?? (config.database === ':memory:' ? undefined : `${config.database}.peer-key`),
    });
  let node: VerinferNode;
  try {
    node = new VerinferNode({
      chain: nodeChain,
      store,
      log,
      models,
      backend,
      ...(roles.has('worker') ? { worker } : {}),
      ...(roles.has('verifier') ? { verifier } : {}),
      metrics,
      fromBlock: fromBlock === undefined ? undefined : BigInt(fromBlock),
      maxBlockRange: config.maxBlockRange,
      pollIntervalMs: config.pollIntervalMs,
      peer,
    });
  } catch (err) {
    store.close();
    throw err;
  }
  const endpoint = config.http ? await startHttp(node, config.http.port, config.http.host) : undefined;
  if (endpoint) log.info('http listening', { port: endpoint.port, paths: ['/health', '/metrics'] });
  log.info('node configured', {
    account: account.address,
    chainId: id,
    roles: config.roles,
    models: models.roots(),
    database: config.database,
  });
  return {
    node,
    store,
    http: endpoint,
    log,
    close: async () => {
      await node.stop();
      await endpoint?.close();
      store.close();
    },
  };
}
