// The node's standing in the AgentRegistry (registered, staked, serving its models) and its
// payouts: fees and refunds owed by the task market, game credits, slash proceeds.
import type { Hex } from 'viem';
import { NATIVE } from '../chain/bindings/types.ts';
import { sendTx } from './chain.ts';
import type { NodeEnv } from './context.ts';

export interface AgentOptions {
  stake: bigint;
  endpoint: string;
  models: readonly Hex[];
}

/** Registers the node's account, adds stake up to `stake`, and adds the models it serves. */
export async function ensureAgent(env: NodeEnv, o: AgentOptions): Promise<void> {
  const reg = env.chain.v.agentRegistry;
  const me = env.chain.account;
  const served: Hex[] = [];
  for (const root of o.models) {
    if (await env.chain.v.modelRegistry.read.isRegistered([root])) served.push(root);
    else env.log.warn('model not registered on chain; not serving it', { modelRoot: root });
  }
  const info = await reg.read.agentInfo([me]);
  if (!info.registered) {
    await sendTx(
      env.chain,
      env,
      'register',
      () => reg.write.register([o.endpoint, served], { value: o.stake }),
      {
        stake: o.stake,
        models: served.length,
      },
    );
    return;
  }
  // The endpoint names the node's p2p address (its PeerId is stable, but its address may move).
  if (o.endpoint && info.endpoint !== o.endpoint)
    await sendTx(env.chain, env, 'setEndpoint', () => reg.write.setEndpoint([o.endpoint]), {
      endpoint: o.endpoint,
    });
  const have = new Set(info.models.map((m) => m.toLowerCase()));
  const missing = served.filter((m) => !have.has(m.toLowerCase()));
  if (missing.length > 0)
    await sendTx(env.chain, env, 'setModels', () => reg.write.setModels([[...info.models, ...missing]]));
  if (info.stake < o.stake)
    await sendTx(env.chain, env, 'addStake', () => reg.write.addStake({ value: o.stake - info.stake }), {
      added: o.stake - info.stake,
    });
}

/** Withdraws what the market owes the node once it reaches `threshold`, and claims other credits. */
export async function collectPayouts(env: NodeEnv, threshold: bigint): Promise<void> {
  const me = env.chain.account;
  const { taskMarket, disputeGame, agentRegistry } = env.chain.v;
  const owed = await taskMarket.read.owed([NATIVE, me]);
  if (owed > 0n && owed >= threshold)
    await sendTx(env.chain, env, 'withdraw', () => taskMarket.write.withdraw([NATIVE, me]), { amount: owed });
  if ((await disputeGame.read.credits([me])) > 0n)
    await sendTx(env.chain, env, 'game.claim', () => disputeGame.write.claim([me]));
  if ((await agentRegistry.read.claimable([me])) > 0n)
    await sendTx(env.chain, env, 'registry.claim', () => agentRegistry.write.claim([me]));
}
