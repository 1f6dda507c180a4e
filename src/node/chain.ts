// The node's view of a chain where Verinfer is deployed: viem clients (injected by tests, built
// from rpcUrl by `verinfer node`), the bound contracts, and the market parameters read back from
// the contracts themselves (so the node follows any deployment, not its own defaults).
import type {
  Account,
  Address,
  Chain,
  Hex,
  PublicClient,
  TransactionReceipt,
  Transport,
  WalletClient,
} from 'viem';
import { revertErrorName } from '../chain/bindings/errors.ts';
import {
  bindVerinfer,
  mergeParams,
  type VerinferAddresses,
  type VerinferDeployment,
} from '../chain/deployVerinfer.ts';
import { VerinferError } from '../errors/base.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';

export type NodeWallet = WalletClient<Transport, Chain, Account>;
export type NodePublicClient = PublicClient<Transport, Chain>;

export class ChainSetupError extends VerinferError {
  override name = 'ChainSetupError' as const;
}

/** A transaction that failed to send or reverted. */
export class TxError extends VerinferError {
  override name = 'TxError' as const;
  readonly revert?: string;
  constructor(label: string, revert: string | undefined, cause: unknown) {
    super(`Transaction "${label}" failed${revert ? ` with ${revert}` : ''}.`, { cause });
    this.revert = revert;
  }
}

/** The TaskMarket parameters a node needs, read from the contract. */
export interface MarketView {
  workerStake: bigint;
  auditStake: bigint;
  challengeBond: bigint;
  challengeWindow: bigint;
  auditBps: number;
}

export interface NodeChain {
  chainId: number;
  account: Address;
  publicClient: NodePublicClient;
  walletClient: NodeWallet;
  addresses: VerinferAddresses;
  /** The contracts bound to this node's wallet, shaped as a deployment for src/dispute's readers. */
  v: VerinferDeployment;
  market: MarketView;
}

export async function connectNodeChain(opts: {
  publicClient: NodePublicClient;
  walletClient: NodeWallet;
  addresses: VerinferAddresses;
  /** When given, the chain must report this ID. */
  chainId?: number;
}): Promise<NodeChain> {
  const { publicClient, walletClient, addresses } = opts;
  const chainId = await publicClient.getChainId();
  if (opts.chainId !== undefined && opts.chainId !== chainId)
    throw new ChainSetupError(
      `The RPC endpoint serves chain ${chainId}, but the config says chainId ${opts.chainId}. Fix rpcUrl or chainId.`,
    );
  for (const [name, address] of Object.entries(addresses)) {
    const code = await publicClient.getCode({ address });
    if (!code || code === '0x')
      throw new ChainSetupError(
        `No contract at ${name} = ${address} on chain ${chainId}. Check the deployment addresses.`,
      );
  }
  const bound = bindVerinfer(addresses, publicClient, walletClient);
  const tm = bound.taskMarket.read;
  const [workerStake, auditStake, challengeBond, challengeWindow, auditBps] = await Promise.all([
    tm.workerStake(),
    tm.auditStake(),
    tm.challengeBond(),
    tm.challengeWindow(),
    tm.auditBps(),
  ]);
  const market = { workerStake, auditStake, challengeBond, challengeWindow, auditBps: Number(auditBps) };
  const v: VerinferDeployment = {
    ...bound,
    addresses,
    // Only the task market's parameters are read back; the rest are the defaults (unused by the node).
    params: mergeParams({
      task: { workerStake, auditStake, challengeBond, challengeWindow, auditBps: market.auditBps },
    }),
    gas: {},
    as: (wallet) => bindVerinfer(addresses, publicClient, wallet),
  };
  return { chainId, account: walletClient.account.address, publicClient, walletClient, addresses, v, market };
}

/**
 * Reverts that mean another node got there first (several workers race for an open task, several
 * verifiers for an audit draw): the next wake re-reads the chain and moves on, so they are routine.
 */
export const LOST_RACES = new Set([
  'TaskMarketWrongStatus',
  'TaskMarketNotWorker',
  'TaskMarketTaskExists',
  'TaskMarketAuditAlreadyDrawn',
]);

export const isLostRace = (err: unknown) => err instanceof TxError && LOST_RACES.has(err.revert ?? '');

/** Sends one transaction, waits for its receipt, and counts and logs it. */
export async function sendTx(
  chain: NodeChain,
  deps: { log: Logger; metrics: Metrics },
  label: string,
  send: () => Promise<Hex>,
  fields: Record<string, unknown> = {},
): Promise<TransactionReceipt> {
  let receipt: TransactionReceipt;
  try {
    const hash = await send();
    receipt = await chain.publicClient.waitForTransactionReceipt({ hash });
  } catch (err) {
    deps.metrics.inc('txs_reverted_total');
    const revert = revertErrorName(err);
    if (revert && LOST_RACES.has(revert)) deps.log.debug(`tx ${label} lost a race`, { ...fields, revert });
    else deps.log.warn(`tx ${label} failed`, { ...fields, revert, error: err });
    throw new TxError(label, revert, err);
  }
  deps.metrics.inc('txs_sent_total');
  if (receipt.status !== 'success') {
    deps.metrics.inc('txs_reverted_total');
    deps.log.warn(`tx ${label} reverted`, { ...fields, tx: receipt.transactionHash });
    throw new TxError(label, 'reverted', undefined);
  }
  deps.log.info(`tx ${label}`, { ...fields, tx: receipt.transactionHash, gas: receipt.gasUsed });
  return receipt;
}
