// `verinfer agent register|stake|unbond|claim`: an agent's stake in the AgentRegistry and its
// earnings from the TaskMarket.
import type { Command } from 'commander';
import { formatEther, type Hex } from 'viem';
import { readContract } from 'viem/actions';
import { abis } from '../../chain/bindings/systemAbis.ts';
import { claim, stake, unbond } from '../../client/index.ts';
import { guard } from '../../client/utils/guard.ts';
import { InputError, VerinferError } from '../../errors/base.ts';
import {
  connect,
  etherOption,
  findModel,
  isRoot,
  type Network,
  type NetworkFlags,
  networkOptions,
  unknownModel,
} from '../network.ts';
import { jsonLine } from '../options.ts';

interface AgentFlags extends NetworkFlags {
  amount?: string;
  models?: string;
  endpoint?: string;
  json: boolean;
}

export class AgentStateError extends VerinferError {
  override name = 'AgentStateError' as const;
}

async function registered(net: Network, address: Hex): Promise<boolean> {
  const info = await guard('agentInfo', () =>
    readContract(net.reader, {
      address: net.deployment.addresses.agentRegistry,
      abi: abis.agentRegistry,
      functionName: 'agentInfo',
      args: [address],
    }),
  );
  return info.registered;
}

function amountOf(flags: AgentFlags): bigint {
  if (flags.amount === undefined) throw new InputError('--amount <eth> is required.');
  return etherOption(flags.amount, '--amount');
}

const out = (flags: AgentFlags, value: Record<string, unknown>, text: string) =>
  flags.json ? process.stdout.write(jsonLine(value)) : console.log(text);

export function registerAgent(program: Command): void {
  const agent = program.command('agent').description("An agent's stake, served models and earnings");

  const reg = agent
    .command('register')
    .description('Register the signing account as an agent, bonding --amount of stake')
    .option('--amount <eth>', 'stake to bond, in ETH (at least the registry minimum)')
    .option('--models <list>', 'comma-separated model names or roots it serves')
    .option('--endpoint <url>', 'where peers reach it')
    .option('--json', 'one JSON object on stdout', false);
  networkOptions(reg, true).action(async (flags: AgentFlags) => {
    const amount = amountOf(flags);
    if (flags.endpoint !== undefined && flags.endpoint.length > 256)
      throw new InputError('--endpoint must be at most 256 characters.');
    const net = await connect(flags);
    const models = (flags.models ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map((m) => {
        const entry = findModel(net.deployment, m);
        if (entry) return entry.root;
        if (isRoot(m)) return m.toLowerCase() as Hex;
        throw unknownModel(net.deployment, m);
      });
    const { client, key } = await net.writer();
    if (await registered(net, key.account.address))
      throw new AgentStateError(`${key.account.address} is already a registered agent.`, {
        metaMessages: ['Add stake with `verinfer agent stake --amount <eth>`.'],
      });
    const r = await stake(client, { amount, models, endpoint: flags.endpoint });
    out(
      flags,
      { address: key.account.address, ...r, models },
      `registered ${key.account.address} with ${formatEther(r.stake)} ETH staked\ntx ${r.txHash}`,
    );
  });

  const add = agent
    .command('stake')
    .description("Add --amount to a registered agent's stake")
    .option('--amount <eth>', 'stake to add, in ETH')
    .option('--json', 'one JSON object on stdout', false);
  networkOptions(add, true).action(async (flags: AgentFlags) => {
    const amount = amountOf(flags);
    const net = await connect(flags);
    const { client, key } = await net.writer();
    if (!(await registered(net, key.account.address)))
      throw new AgentStateError(`${key.account.address} is not a registered agent.`, {
        metaMessages: ['Register first with `verinfer agent register --amount <eth> --models <roots>`.'],
      });
    const r = await stake(client, { amount });
    out(
      flags,
      { address: key.account.address, ...r },
      `stake now ${formatEther(r.stake)} ETH\ntx ${r.txHash}`,
    );
  });

  const ub = agent
    .command('unbond')
    .description('Start unbonding --amount of free stake (claim it after the unbonding delay)')
    .option('--amount <eth>', 'stake to unbond, in ETH')
    .option('--json', 'one JSON object on stdout', false);
  networkOptions(ub, true).action(async (flags: AgentFlags) => {
    const amount = amountOf(flags);
    const net = await connect(flags);
    const { client, key } = await net.writer();
    const r = await unbond(client, { amount });
    out(
      flags,
      { address: key.account.address, ...r },
      `unbonding ${formatEther(amount)} ETH, claimable from chain time ${new Date(Number(r.readyAt) * 1000).toISOString()}\ntx ${r.txHash}`,
    );
  });

  const cl = agent
    .command('claim')
    .description('Withdraw fees, refunds, slash proceeds and unbonded stake that are due')
    .option('--json', 'one JSON object on stdout', false);
  networkOptions(cl, true).action(async (flags: AgentFlags) => {
    const net = await connect(flags);
    const { client, key } = await net.writer();
    const r = await claim(client);
    const lines = [
      `fees and refunds  ${formatEther(r.market)} ETH`,
      `slash proceeds    ${formatEther(r.slashProceeds)} ETH`,
      `unbonded stake    ${formatEther(r.stake)} ETH`,
    ];
    if (r.pending.amount > 0n)
      lines.push(
        `still unbonding   ${formatEther(r.pending.amount)} ETH until ${new Date(Number(r.pending.readyAt) * 1000).toISOString()}`,
      );
    if (r.txHashes.length === 0) lines.push('nothing was due: no transaction sent');
    for (const h of r.txHashes) lines.push(`tx ${h}`);
    out(flags, { address: key.account.address, ...r }, lines.join('\n'));
  });
}
