// Reading a scenario's outcome back from the devnet chain: decoded events of the system's
// contracts, the moves of one dispute game and who sent them, and every transaction an account
// sent (reverted ones included), so that scenarios assert on the chain and not on node logs.
import { type Abi, decodeFunctionData, type Hex } from 'viem';
import type { TestNetwork } from './network.ts';

export type ContractName = 'taskMarket' | 'disputeGame' | 'agentRegistry';

export interface DecodedEvent {
  eventName: string;
  args: Record<string, unknown>;
  blockNumber: bigint;
  transactionHash: Hex;
}

/** Every `eventName` event of `contract` from block 0 (optionally filtered on indexed args). */
export async function eventsOf(
  net: TestNetwork,
  contract: ContractName,
  eventName: string,
  args?: Record<string, unknown>,
): Promise<DecodedEvent[]> {
  const c = net.chain.contracts[contract];
  const logs = await net.chain.chain.publicClient.getContractEvents({
    address: c.address,
    abi: c.abi as Abi,
    eventName,
    ...(args ? { args } : {}),
    fromBlock: 0n,
  } as never);
  return logs as unknown as DecodedEvent[];
}

/** Waits for the first `eventName` event (matching `args`) and returns it. */
export function eventually(
  net: TestNetwork,
  contract: ContractName,
  eventName: string,
  args?: Record<string, unknown>,
  ms?: number,
): Promise<DecodedEvent> {
  return net.until(
    `${contract}.${eventName}${args ? ` ${JSON.stringify(args, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}` : ''}`,
    async () => (await eventsOf(net, contract, eventName, args))[0],
    ms,
  );
}

export interface GameMove {
  fn: string;
  from: Hex;
  blockNumber: bigint;
}

/** The successful calls to the game contract on `gameId`, in chain order, with their senders. */
export async function gameMoves(net: TestNetwork, gameId: bigint): Promise<GameMove[]> {
  const pc = net.chain.chain.publicClient;
  const game = net.chain.contracts.disputeGame;
  const logs = await pc.getContractEvents({ address: game.address, abi: game.abi, fromBlock: 0n });
  const hashes: { hash: Hex; blockNumber: bigint }[] = [];
  for (const l of logs as unknown as DecodedEvent[]) {
    if (l.args.gameId !== gameId || l.eventName === 'GameOpened') continue;
    if (!hashes.some((h) => h.hash === l.transactionHash))
      hashes.push({ hash: l.transactionHash, blockNumber: l.blockNumber });
  }
  const moves: GameMove[] = [];
  for (const h of hashes) {
    const tx = await pc.getTransaction({ hash: h.hash });
    // A move is a direct call to the game; the opening comes through the market's challenge().
    if (tx.to?.toLowerCase() !== game.address.toLowerCase()) continue;
    const { functionName } = decodeFunctionData({ abi: game.abi, data: tx.input });
    moves.push({ fn: functionName, from: tx.from, blockNumber: h.blockNumber });
  }
  return moves;
}

export interface SentTx {
  fn: string;
  to: Hex;
  hash: Hex;
  blockNumber: bigint;
  ok: boolean;
}

/** Every transaction `from` sent that was mined (reverted ones too), decoded against the system's ABIs. */
export async function sentBy(net: TestNetwork, from: Hex): Promise<SentTx[]> {
  const pc = net.chain.chain.publicClient;
  const head = await pc.getBlockNumber({ cacheTime: 0 });
  const byAddress = new Map<string, Abi>();
  for (const name of ['taskMarket', 'disputeGame', 'agentRegistry'] as const)
    byAddress.set(net.chain.contracts[name].address.toLowerCase(), net.chain.contracts[name].abi as Abi);
  const out: SentTx[] = [];
  for (let n = 0n; n <= head; n++) {
    const block = await pc.getBlock({ blockNumber: n, includeTransactions: true });
    for (const tx of block.transactions) {
      if (tx.from.toLowerCase() !== from.toLowerCase() || !tx.to) continue;
      const abi = byAddress.get(tx.to.toLowerCase());
      let fn = 'unknown';
      if (abi)
        try {
          fn = decodeFunctionData({ abi, data: tx.input }).functionName;
        } catch {}
      const receipt = await pc.getTransactionReceipt({ hash: tx.hash });
      out.push({ fn, to: tx.to, hash: tx.hash, blockNumber: n, ok: receipt.status === 'success' });
    }
  }
  return out;
}

/** The chain timestamp of a block. */
export async function timeOf(net: TestNetwork, blockNumber: bigint): Promise<bigint> {
  return (await net.chain.chain.publicClient.getBlock({ blockNumber })).timestamp;
}

export const same = (a: unknown, b: unknown) => String(a).toLowerCase() === String(b).toLowerCase();
