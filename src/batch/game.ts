// One party's side of a dispute game, played a turn at a time from a polling loop: the worker and
// the verifier are separate nodes, so each moves only when the game waits for it, and ends the game
// by timeout when the other side lets its clock run out.
import type { Chain, PublicClient, Transport } from 'viem';
import type { TraceProvider } from '../dispute/party.ts';
import { type GameClient, type Player, playDispute, readGameView } from '../dispute/play.ts';

export interface GameSide {
  gameId: bigint;
  role: 'worker' | 'challenger';
  player: Player;
}

/** The result of one turn: the game's outcome once it has resolved (1 challenger won, 2 worker won, 3 moot). */
export async function playTurn(
  v: GameClient,
  client: PublicClient<Transport, Chain>,
  side: GameSide,
): Promise<{ resolved: boolean; outcome: number }> {
  const view = await readGameView(v, client, side.gameId);
  if (view.state === 'resolved') return { resolved: true, outcome: Number(view.game.outcome) };
  const [mover, secondsLeft] = await v.disputeGame.read.clockOf([side.gameId]);
  const us = side.player.wallet.account.address.toLowerCase();
  if (mover.toLowerCase() !== us && secondsLeft === 0n) {
    const hash = await side.player.wallet.writeContract({
      address: v.addresses.disputeGame,
      abi: v.disputeGame.abi,
      functionName: 'timeout',
      args: [side.gameId],
      account: side.player.wallet.account,
      chain: side.player.wallet.chain,
    });
    await client.waitForTransactionReceipt({ hash });
  } else {
    // The other side is silent here: playDispute returns as soon as the game waits for it.
    const other: Player = { wallet: side.player.wallet, silent: true };
    const [worker, challenger] = side.role === 'worker' ? [side.player, other] : [other, side.player];
    await playDispute(v, client, side.gameId, worker, challenger);
  }
  const after = await v.disputeGame.read.game([side.gameId]);
  return { resolved: Number(after.phase) === 11, outcome: Number(after.outcome) };
}

export function playerOf(wallet: Player['wallet'], trace: TraceProvider): Player {
  return { wallet, trace };
}
