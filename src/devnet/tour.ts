// The guided tour of `npm start`: an honest inference settled end to end, then the cheating
// worker caught by a verifier and slashed, then what to try next. Everything is read back from
// the chain; nothing here is scripted on the nodes' side.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createWalletClient, formatEther, type Hex, http, parseEther } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { BATCH_STATUS, requestBatch, waitForBatchFinality } from '../batch/requester.ts';
import { inlineTaskOf, taskIdOf } from '../chain/bindings/commitments.ts';
import { abis } from '../chain/deployVerinfer.ts';
import { toHex } from '../commit/keccak.ts';
import { tensorBytes } from '../commit/tensorRoot.ts';
import { VerinferError } from '../errors/base.ts';
import { createPeerHost } from '../p2p/host.ts';
import { parseEndpoint } from '../p2p/identity.ts';
import { EXAMPLES } from '../sdk/examples.ts';
import { loadInput } from '../sdk/loadInput.ts';
import type { Devnet } from './devnet.ts';

export interface TourIo {
  log: (line: string) => void;
  emit: (event: Record<string, unknown>) => void;
}

/** How long the tour waits for the network before it says what went wrong. */
const WAIT_MS = 180_000;

async function until<T>(what: string, poll: () => Promise<T | undefined>, ms = WAIT_MS): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await poll();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new VerinferError(`The devnet did not ${what} within ${ms / 1000} s.`, {
    metaMessages: ['Run `npx verinfer status` and look at the nodes with --json to see why.'],
  });
}

export async function runTour(devnet: Devnet, io: TourIo): Promise<void> {
  const { chain } = devnet;
  const d = chain.deployment;
  const pc = chain.chain.publicClient;
  const account = privateKeyToAccount(devnet.requester.privateKey);
  const wallet = createWalletClient({ account, chain: chain.chain.chain, transport: http(devnet.rpcUrl) });
  const market = { address: d.addresses.taskMarket, abi: abis.taskMarket } as const;
  let salt = 0n;
  const request = async (modelName: string, sample: string) => {
    const pkg = chain.packages.get(modelName)!;
    const example = EXAMPLES.find((e) => e.name === modelName)!;
    const input = await loadInput(pkg, join(example.samples, sample));
    const bytes = tensorBytes(input.dtype, input.data);
    const modelRoot = d.models.find((m) => m.name === modelName)!.root;
    salt += 1n;
    const task = inlineTaskOf({
      requester: account.address,
      modelRoot,
      input: bytes,
      fee: parseEther('0.01'),
      takeDeadline: BigInt(Math.floor(Date.now() / 1000) + 600),
      salt: BigInt(Date.now()) * 1000n + salt,
    });
    const hash = await wallet.writeContract({
      ...market,
      functionName: 'createTask',
      args: [task, toHex(bytes)],
      value: task.fee,
    });
    await pc.waitForTransactionReceipt({ hash });
    return { id: taskIdOf(d.chainId, d.addresses.taskMarket, task), hash, pkg };
  };
  const status = async (id: Hex) =>
    (await pc.readContract({ ...market, functionName: 'taskState', args: [id] })).status;

  io.log('\n── 1. An honest inference ──────────────────────────────────────────');
  const digits = (await readdir(EXAMPLES[0].samples)).sort();
  // Any worker may take an open task, the cheater included: a task it corrupts is convicted
  // (step 3 shows how), and the tour asks again until an honest answer is final.
  for (let attempt = 1; ; attempt++) {
    const first = await request('digits', digits[0]);
    io.log(`requested   digits on ${digits[0]}: task ${first.id}\n            tx ${first.hash}`);
    const posted = await until('post a result', async () => {
      const logs = await pc.getContractEvents({
        ...market,
        eventName: 'ResultPosted',
        args: { taskId: first.id },
        fromBlock: 0n,
      });
      return logs[0];
    });
    const output = posted.args.output as Hex;
    const labels = first.pkg.model.meta.labels ?? [];
    const scores = [...Buffer.from(output.slice(2), 'hex')];
    const top = scores.indexOf(Math.max(...scores));
    io.log(
      `posted      by ${posted.args.worker}: output root ${posted.args.outputRoot}\n            tx ${posted.transactionHash}`,
    );
    const final = await until('finalize the task', async () => {
      const s = await status(first.id);
      if (s === 4 || s === 6) return s;
      return undefined;
    });
    if (final === 4) {
      io.log(
        `final       after the challenge window: the answer is "${labels[top] ?? top}" (verified on chain)`,
      );
      io.emit({ event: 'tour', step: 'honest', taskId: first.id, top, label: labels[top] });
      break;
    }
    if (attempt === 5) throw new VerinferError(`${attempt} tasks in a row were convicted, none finalized.`);
    io.log('convicted   that worker was the cheater: a verifier caught it; asking again');
  }

  io.log('\n── 2. A batch of signed requests over libp2p ────────────────────────');
  await tourBatch(devnet, io, digits);

  io.log('\n── 3. A cheating worker is caught ──────────────────────────────────');
  const cheater = devnet.nodes.find((n) => n.cheater);
  if (!cheater) {
    io.log('(no cheater on this devnet: start it with --with-cheater)');
  } else {
    io.log(
      `${cheater.name} (${cheater.address}) corrupts some of its results. Requesting tasks until it cheats…`,
    );
    const convicted = await until(
      'convict the cheater',
      async () => {
        const logs = await pc.getContractEvents({ ...market, eventName: 'TaskConvicted', fromBlock: 0n });
        if (logs.length > 0) return logs[0];
        const open = await pc.getContractEvents({ ...market, eventName: 'TaskCreated', fromBlock: 0n });
        const finalized = await pc.getContractEvents({
          ...market,
          eventName: 'TaskFinalized',
          fromBlock: 0n,
        });
        if (open.length - finalized.length < 3) await request('digits', digits[open.length % digits.length]);
        return undefined;
      },
      300_000,
    );
    const slash = await pc.getContractEvents({
      address: d.addresses.agentRegistry,
      abi: abis.agentRegistry,
      eventName: 'StakeSlashed',
      args: { agent: convicted.args.worker },
      fromBlock: 0n,
    });
    io.log(
      `convicted   task ${convicted.args.taskId}: ${convicted.args.challenger} won the dispute game\n` +
        `slashed     ${convicted.args.worker} lost ${formatEther(slash[0]?.args.amount ?? 0n)} ETH of stake`,
    );
    io.emit({ event: 'tour', step: 'cheater', taskId: convicted.args.taskId, worker: convicted.args.worker });
  }

  io.log('\n── Try next (in another terminal) ──────────────────────────────────');
  io.log(
    `  npx verinfer infer --rpc ${devnet.rpcUrl} --model digits --input models/digits/samples/digit-7.png`,
  );
  io.log(
    `  npx verinfer infer --rpc ${devnet.rpcUrl} --model spam --input models/spam/samples/spam.txt --json`,
  );
  io.log(`  npx verinfer status --rpc ${devnet.rpcUrl}`);
}

/** 16 requests signed off chain, sent to one worker over libp2p, settled in one batch. */
async function tourBatch(devnet: Devnet, io: TourIo, samples: string[]): Promise<void> {
  const { chain } = devnet;
  const d = chain.deployment;
  const worker = devnet.nodes.find((n) => n.role === 'worker' && !n.cheater)!;
  const info = await chain.contracts.agentRegistry.read.agentInfo([worker.address]);
  const pkg = chain.packages.get('digits')!;
  const example = EXAMPLES[0];
  const requests: { modelRoot: Hex; input: Uint8Array }[] = [];
  for (let i = 0; i < 16; i++) {
    const input = await loadInput(pkg, join(example.samples, samples[i % samples.length]));
    requests.push({
      modelRoot: d.models.find((m) => m.name === 'digits')!.root,
      input: tensorBytes(input.dtype, input.data),
    });
  }
  const account = privateKeyToAccount(devnet.requester.privateKey);
  const wallet = createWalletClient({ account, chain: chain.chain.chain, transport: http(devnet.rpcUrl) });
  const host = await createPeerHost({ listen: [] });
  try {
    const posted = await requestBatch({
      host,
      worker: parseEndpoint(info.endpoint).multiaddr,
      workerAddress: worker.address,
      wallet,
      publicClient: chain.chain.publicClient,
      addresses: d.addresses,
      requests,
      fee: parseEther('0.001'),
    });
    const receipt = await chain.chain.publicClient.getTransactionReceipt({ hash: posted.transactionHash });
    io.log(
      `posted      ${worker.name} checked 16 signed requests, ran them, and posted batch ${posted.batchId}\n` +
        `            in one transaction: ${receipt.gasUsed} gas, ${receipt.gasUsed / 16n} per result`,
    );
    const status = await waitForBatchFinality({
      publicClient: chain.chain.publicClient,
      addresses: d.addresses,
      batchId: posted.batchId,
      timeoutMs: WAIT_MS,
    });
    if (status !== BATCH_STATUS.finalized)
      throw new VerinferError(`Batch ${posted.batchId} was not finalized.`);
    io.log('final       every verifier re-ran the batch; its challenge window closed; fees paid');
    io.emit({ event: 'tour', step: 'batch', batchId: posted.batchId.toString(), results: 16 });
  } finally {
    await host.stop();
  }
}
