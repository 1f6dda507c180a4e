// npm run bench:network [-- --json] [-- --batches N --size S --tasks T]
//
// The devnet as `verinfer devnet` runs it (a block a second; 3 workers and 2 verifiers, each its
// own OS process), driven by requesters in this process:
//   batched  requesters send bundles of signed digits requests to the workers over libp2p; each
//            becomes one batch, which every verifier re-runs, and which finalizes after its window.
//            Sustained verified inferences per second = results finalized / wall time from the
//            first bundle sent to the last batch final.
//   single   on-chain tasks (createTask with the input inline), all sent at once; a worker posts
//            each, verifiers re-run each, and each finalizes after its window.
// Latencies are wall time from the request to the result's commitment on chain (batch posted,
// ResultPosted seen) and to finality. CPU and memory of each node process come from /proc. The
// engine alone (the fast backend on the same inputs, in this process) is the reference rate.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWalletClient, type Hex, http, parseEther } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { BATCH_STATUS, requestBatch, waitForBatchFinality } from '../src/batch/requester.ts';
import { anvilAccounts } from '../src/chain/anvil.ts';
import { inlineTaskOf, taskIdOf } from '../src/chain/bindings/commitments.ts';
import { toHex } from '../src/commit/keccak.ts';
import { tensorBytes } from '../src/commit/tensorRoot.ts';
import { startDevnet } from '../src/devnet/devnet.ts';
import { createPeerHost } from '../src/p2p/host.ts';
import { parseEndpoint } from '../src/p2p/identity.ts';
import { getBackend } from '../src/sdk/backends.ts';
import { EXAMPLES } from '../src/sdk/examples.ts';
import { loadInput } from '../src/sdk/loadInput.ts';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const JSON_OUT = args.includes('--json');
const BATCHES_PER_WORKER = flag('batches', 2);
const BATCH_SIZE = flag('size', 512);
const TASKS = flag('tasks', 24);
const log = (line: string) => {
  if (!JSON_OUT) console.error(line);
};

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function procStats(pid: number): Promise<{ cpuSeconds: number; rssMiB: number }> {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]);
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuSeconds: ticks / 100, rssMiB: Math.round(rss / 1024) };
}

const home = await mkdtemp(join(tmpdir(), 'verinfer-bench-net-'));
log('… starting the devnet (3 workers, 2 verifiers)');
const devnet = await startDevnet({
  home: join(home, 'devnet'),
  modelCache: process.env.VERINFER_MODEL_CACHE ?? join(tmpdir(), 'verinfer-test-models'),
  port: 0,
});
try {
  const { chain } = devnet;
  const d = chain.deployment;
  const pc = chain.chain.publicClient;
  const pkg = chain.packages.get('digits')!;
  const digitsRoot = d.models.find((m) => m.name === 'digits')!.root;
  const samples = await Promise.all(
    ['digit-2.png', 'digit-7.png', 'digit-9.png'].map((f) => loadInput(pkg, join(EXAMPLES[0].samples, f))),
  );
  const inputs = samples.map((t) => tensorBytes(t.dtype, t.data));

  // The engine alone on the same model and inputs: the rate verification is measured against.
  const engineRuns = 2_000;
  const t0 = performance.now();
  const fastBackend = await getBackend('fast');
  for (let i = 0; i < engineRuns; i++) await fastBackend.run(pkg.model, samples[i % samples.length]);
  const enginePerSecond = engineRuns / ((performance.now() - t0) / 1000);

  log('… waiting for every node to register');
  const workers = devnet.nodes.filter((n) => n.role === 'worker');
  for (;;) {
    const infos = await Promise.all(
      workers.map((w) => chain.contracts.agentRegistry.read.agentInfo([w.address])),
    );
    if (infos.every((i) => i.registered && i.endpoint)) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const cpuBefore = new Map<number, number>();
  for (const n of devnet.nodes) cpuBefore.set(n.pid, (await procStats(n.pid)).cpuSeconds);

  // ---- batched ----
  log(`… batched: ${workers.length} workers × ${BATCHES_PER_WORKER} bundles × ${BATCH_SIZE} requests`);
  const keys = anvilAccounts(20).slice(10);
  const host = await createPeerHost({ listen: [] });
  const commitLatency: number[] = [];
  const finalLatency: number[] = [];
  const batchStart = performance.now();
  let settled = 0;
  let gasPosted = 0n;
  await Promise.all(
    workers.flatMap((w, wi) =>
      Array.from({ length: BATCHES_PER_WORKER }, async (_, bi) => {
        const key = keys[wi * BATCHES_PER_WORKER + bi];
        const wallet = createWalletClient({
          account: privateKeyToAccount(key.privateKey),
          chain: chain.chain.chain,
          transport: http(devnet.rpcUrl),
        });
        const info = await chain.contracts.agentRegistry.read.agentInfo([w.address]);
        const sent = performance.now();
        const posted = await requestBatch({
          host,
          worker: parseEndpoint(info.endpoint).multiaddr,
          workerAddress: w.address,
          wallet,
          publicClient: pc,
          addresses: d.addresses,
          requests: Array.from({ length: BATCH_SIZE }, (_, i) => ({
            modelRoot: digitsRoot,
            input: inputs[i % 3],
          })),
          fee: parseEther('0.0001'),
          call: { timeoutMs: 120_000 },
        });
        commitLatency.push(performance.now() - sent);
        gasPosted += (await pc.getTransactionReceipt({ hash: posted.transactionHash })).gasUsed;
        const status = await waitForBatchFinality({
          publicClient: pc,
          addresses: d.addresses,
          batchId: posted.batchId,
          timeoutMs: 300_000,
        });
        if (status !== BATCH_STATUS.finalized) throw new Error(`batch ${posted.batchId} was not finalized`);
        finalLatency.push(performance.now() - sent);
        settled += BATCH_SIZE;
      }),
    ),
  );
  const batchSeconds = (performance.now() - batchStart) / 1000;
  await host.stop();

  // ---- single ----
  log(`… single: ${TASKS} on-chain tasks sent at once`);
  const requester = devnet.requester;
  const wallet = createWalletClient({
    account: privateKeyToAccount(requester.privateKey),
    chain: chain.chain.chain,
    transport: http(devnet.rpcUrl),
  });
  const market = chain.contracts.as(wallet as never).taskMarket;
  const singleCommit: number[] = [];
  const singleFinal: number[] = [];
  const singleStart = performance.now();
  const sent: { id: Hex; at: number }[] = [];
  let nonce = await pc.getTransactionCount({ address: wallet.account.address });
  for (let i = 0; i < TASKS; i++) {
    const bytes = inputs[i % 3];
    const task = inlineTaskOf({
      requester: wallet.account.address,
      modelRoot: digitsRoot,
      input: bytes,
      fee: parseEther('0.001'),
      salt: BigInt(1000 + i),
    });
    await market.write.createTask([task, toHex(bytes)], { value: task.fee, nonce: nonce++ } as never);
    sent.push({ id: taskIdOf(d.chainId, d.addresses.taskMarket, task), at: performance.now() });
  }
  const pending = new Map(sent.map((s) => [s.id, s]));
  const committed = new Set<Hex>();
  while (pending.size > 0) {
    for (const [id, s] of pending) {
      const st = await chain.contracts.taskMarket.read.taskState([id]);
      if (st.status >= 3 && !committed.has(id)) {
        committed.add(id);
        singleCommit.push(performance.now() - s.at);
      }
      if (st.status === 4 || st.status === 6) {
        singleFinal.push(performance.now() - s.at);
        pending.delete(id);
      }
    }
    if (performance.now() - singleStart > 300_000) throw new Error(`${pending.size} tasks never finalized`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const singleSeconds = (performance.now() - singleStart) / 1000;
  const elapsed = (performance.now() - batchStart) / 1000;

  const nodes = await Promise.all(
    devnet.nodes.map(async (n) => {
      const s = await procStats(n.pid);
      const cpu = s.cpuSeconds - (cpuBefore.get(n.pid) ?? 0);
      return {
        name: n.name,
        cpuSeconds: Number(cpu.toFixed(2)),
        cpuShare: Number((cpu / elapsed).toFixed(3)),
        rssMiB: s.rssMiB,
      };
    }),
  );
  const batchedRate = settled / batchSeconds;
  const result = {
    machine: '2 cores; devnet: a block every second, challenge window 12 s',
    engineAlonePerSecond: Math.round(enginePerSecond),
    batched: {
      verifiedPerSecond: Number(batchedRate.toFixed(1)),
      results: settled,
      batches: workers.length * BATCHES_PER_WORKER,
      batchSize: BATCH_SIZE,
      seconds: Number(batchSeconds.toFixed(1)),
      requestToCommitmentMs: {
        p50: Math.round(percentile(commitLatency, 50)),
        p99: Math.round(percentile(commitLatency, 99)),
      },
      requestToFinalityMs: {
        p50: Math.round(percentile(finalLatency, 50)),
        p99: Math.round(percentile(finalLatency, 99)),
      },
      postGasPerResult: Number(gasPosted / BigInt(settled)),
      engineToVerifiedRatio: Number((enginePerSecond / batchedRate).toFixed(1)),
    },
    single: {
      verifiedPerSecond: Number((TASKS / singleSeconds).toFixed(2)),
      tasks: TASKS,
      seconds: Number(singleSeconds.toFixed(1)),
      requestToCommitmentMs: {
        p50: Math.round(percentile(singleCommit, 50)),
        p99: Math.round(percentile(singleCommit, 99)),
      },
      requestToFinalityMs: {
        p50: Math.round(percentile(singleFinal, 50)),
        p99: Math.round(percentile(singleFinal, 99)),
      },
    },
    nodes,
    target: { batchedVerifiedPerSecond: 100, met: batchedRate >= 100 },
  };
  if (JSON_OUT) console.log(JSON.stringify(result));
  else {
    const b = result.batched;
    const s = result.single;
    console.log('\n                         batched           single');
    console.log(`verified / s             ${String(b.verifiedPerSecond).padEnd(17)} ${s.verifiedPerSecond}`);
    console.log(`results                  ${String(b.results).padEnd(17)} ${s.tasks}`);
    console.log(
      `request→commitment p50   ${`${b.requestToCommitmentMs.p50} ms`.padEnd(17)} ${s.requestToCommitmentMs.p50} ms`,
    );
    console.log(
      `request→commitment p99   ${`${b.requestToCommitmentMs.p99} ms`.padEnd(17)} ${s.requestToCommitmentMs.p99} ms`,
    );
    console.log(
      `request→finality p50     ${`${b.requestToFinalityMs.p50} ms`.padEnd(17)} ${s.requestToFinalityMs.p50} ms`,
    );
    console.log(
      `request→finality p99     ${`${b.requestToFinalityMs.p99} ms`.padEnd(17)} ${s.requestToFinalityMs.p99} ms`,
    );
    console.log(
      `\nengine alone: ${result.engineAlonePerSecond} inferences/s; verified batched is ${b.engineToVerifiedRatio}× slower`,
    );
    console.log(`batch post gas per result: ${b.postGasPerResult}`);
    console.log('\nnode          cpu s   cpu share  rss MiB');
    for (const n of nodes)
      console.log(
        `${n.name.padEnd(13)} ${String(n.cpuSeconds).padEnd(7)} ${String(n.cpuShare).padEnd(10)} ${n.rssMiB}`,
      );
    console.log(`\ntarget ≥ 100 verified/s batched: ${result.target.met ? 'met' : 'NOT met'}`);
  }
} finally {
  await devnet.stop();
}
