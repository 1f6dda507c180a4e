import type { Command } from 'commander';
import { createPublicClient, formatEther, http } from 'viem';
import { resolveDeployment } from '../../chain/deploymentFile.ts';
import { getNetworkStatus } from '../../chain/networkStatus.ts';
import { jsonLine, rpcUrlOption } from '../options.ts';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('Agents with stake, earnings, slashes and reputation; tasks by status; disputes')
    .option('--rpc <url>', 'JSON-RPC endpoint (default: $VERINFER_RPC_URL or http://127.0.0.1:8545)')
    .option('--deployment <file>', 'deployment file (default: asked from the devnet at --rpc)')
    .option('--json', 'one JSON object on stdout', false)
    .action(async (opts: { rpc?: string; deployment?: string; json: boolean }) => {
      const rpc = rpcUrlOption(opts.rpc);
      const deployment = await resolveDeployment(rpc, opts.deployment);
      const client = createPublicClient({ transport: http(rpc, { retryCount: 2, timeout: 10_000 }) });
      const s = await getNetworkStatus(client, deployment);
      if (opts.json) {
        process.stdout.write(jsonLine(s));
        return;
      }
      const eth = (v: bigint) => `${formatEther(v)} ETH`;
      console.log(`block ${s.blockNumber}   rpc ${rpc}`);
      console.log('\nagents');
      for (const a of s.agents) {
        const r = a.reputation;
        console.log(
          `  ${a.address}  stake ${eth(a.stake)} (locked ${formatEther(a.locked)})  earned ${eth(a.earned)}  ` +
            `slashed ${eth(a.slashed)} ×${a.slashes}  accepted ${r.resultsAccepted} audits ${r.auditsPassed} ` +
            `disputes won ${r.disputesWon} lost ${r.disputesLost}`,
        );
      }
      if (s.agents.length === 0) console.log('  (none registered)');
      console.log('\ntasks');
      console.log(
        `  ${Object.entries(s.tasks)
          .filter(([k]) => k !== 'none')
          .map(([k, v]) => `${k} ${v}`)
          .join('   ')}`,
      );
      console.log(
        `batches\n  posted ${s.batches.posted}   finalized ${s.batches.finalized}   convicted ${s.batches.convicted}`,
      );
      console.log(`disputes\n  open ${s.disputes.open.length}   resolved ${s.disputes.resolved.length}`);
      for (const g of [...s.disputes.open, ...s.disputes.resolved])
        console.log(`  game ${g.gameId}  ${g.outcome.padEnd(14)} subject ${g.subject}`);
    });
}
