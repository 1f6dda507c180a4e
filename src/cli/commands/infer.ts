// `verinfer infer`: request a verified inference on the network, follow it to finality, and print
// the answer with its receipt. Every check (model, input, key, chain) runs before the request.
import type { Command } from 'commander';
import { formatEther, type Hex } from 'viem';
import { getTransactionReceipt } from 'viem/actions';
import { TaskConvictedError, TaskExpiredError } from '../../client/errors.ts';
import { requestInference, verifyTask } from '../../client/index.ts';
import { guard } from '../../client/utils/guard.ts';
import { toHex } from '../../commit/keccak.ts';
import { tensorBytes, tensorRoot } from '../../commit/tensorRoot.ts';
import { InputError, VerinferError } from '../../errors/base.ts';
import { answerOf, describeRow } from '../answer.ts';
import { inferBatch } from '../inferBatch.ts';
import {
  connect,
  etherOption,
  modelPackage,
  type NetworkFlags,
  networkOptions,
  readInputFile,
} from '../network.ts';
import { jsonLine } from '../options.ts';
import { settleTask } from '../settle.ts';

interface InferFlags extends NetworkFlags {
  model: string;
  modelDir?: string;
  input: string;
  fee: string;
  batch: boolean;
  json: boolean;
  timeout: string;
  finalize: boolean;
  check: boolean;
}

/** Progress lines on stderr, so that --json stdout holds only the result. */
const say = (line: string) => process.stderr.write(`${line}\n`);
const short = (h: string) => `${h.slice(0, 10)}…${h.slice(-4)}`;

export function registerInfer(program: Command): void {
  const cmd = program
    .command('infer')
    .description('Request a verified inference, follow it to finality, and print the answer with its receipt')
    .requiredOption('--model <name|root>', 'a model of the deployment, by name or model root')
    .requiredOption('--input <file>', 'a PNG (image models), a text file (models with a tokenizer), or JSON')
    .option('--model-dir <dir>', "the model's local package (default: the deployment's)")
    .option('--fee <eth>', 'fee in ETH, escrowed until the task settles', '0.01')
    .option('--timeout <seconds>', 'stop waiting after this long (the task goes on)', '600')
    .option('--batch', 'send it to a worker over libp2p as a signed request, settled in a batch', false)
    .option('--no-finalize', 'do not send the finalize transaction once the challenge window has passed')
    .option('--no-check', 'do not re-run the model locally against the posted result')
    .option('--json', 'the last stdout line is one JSON object', false);
  networkOptions(cmd, true).action(async (flags: InferFlags) => {
    const fee = etherOption(flags.fee, '--fee');
    const timeoutS = Number(flags.timeout);
    if (!Number.isInteger(timeoutS) || timeoutS <= 0 || timeoutS > 86_400)
      throw new InputError(`--timeout ${flags.timeout} is not a whole number of seconds in 1..86400.`);
    const net = await connect(flags);
    const { pkg, root, name } = await modelPackage(net.deployment, flags.model, flags.modelDir);
    const input = await readInputFile(pkg, flags.input);
    const inputRoot = toHex(tensorRoot(tensorBytes(input.dtype, input.data)));
    say(
      `… model ${name} ${short(root)}, input ${flags.input} -> ${input.dtype} [${input.shape}] root ${short(inputRoot)}`,
    );
    if (flags.batch) {
      const b = await inferBatch(net, { modelRoot: root, input, fee, timeoutMs: timeoutS * 1000, say });
      say(`✓ final: batch ${b.batchId} settled without a successful challenge`);
      const answer = answerOf(pkg.model, b.output);
      const top = answer.top;
      const label = answer.labels.length === 1 ? answer.labels[0] : answer.labels;
      if (flags.json) {
        process.stdout.write(
          jsonLine({
            status: 'final',
            taskId: b.taskId,
            output: answer.bytes,
            top,
            label,
            outputRoot: b.outputRoot,
            inputRoot,
            modelRoot: root,
            model: name,
            worker: b.worker,
            batchId: b.batchId,
            txs: { posted: b.txHash },
          }),
        );
        return;
      }
      console.log(`answer      ${label ?? top}   (${describeRow(pkg.model, answer, 0)})`);
      console.log(`output      [${answer.values.join(', ')}]`);
      console.log('receipt');
      console.log(`  request     ${b.taskId}`);
      console.log(`  batch       ${b.batchId} (tx ${b.txHash})`);
      console.log(`  output root ${b.outputRoot}`);
      console.log(`  worker      ${b.worker}`);
      console.log('  status      final');
      return;
    }
    const { client, key } = await net.writer();
    say(
      `… signing as ${key.account.address}${key.source === 'local-test-key' ? " (the local test chain's first test account)" : ''}`,
    );
    const requested = await requestInference(client, { model: pkg.model, input, fee });
    const { taskId } = requested;
    const receipt = await guard('getTransactionReceipt', () =>
      getTransactionReceipt(client, { hash: requested.txHash }),
    );
    const txs: Record<string, Hex> = { requested: requested.txHash };
    say(`✓ requested task ${taskId}\n    tx ${requested.txHash}, fee ${formatEther(fee)} ETH escrowed`);
    let final: Awaited<ReturnType<typeof settleTask>>;
    try {
      final = await settleTask(client, {
        taskId,
        timeout: timeoutS * 1000,
        fromBlock: receipt.blockNumber,
        finalizer: flags.finalize ? client : undefined,
        onStep: (s) => {
          if (s.step === 'taken') say(`… taken by worker ${s.worker ?? '(unknown)'}`);
          else if (s.step === 'posted') {
            txs.posted = s.txHash;
            say(
              `✓ result posted by worker ${s.worker}\n    tx ${s.txHash}, output root ${short(s.outputRoot)}`,
            );
            say(
              `… challenge window until chain time ${new Date(Number(s.windowEndsAt) * 1000).toISOString()}`,
            );
          } else if (s.step === 'disputed')
            for (const g of s.games) say(`! challenged by ${g.challenger} (dispute game ${g.gameId})`);
          else if (s.step === 'finalizing')
            say(
              `… ${s.finalized ? 'finalized' : 'finalize drew an audit; waiting for the auditor'} (tx ${s.txHash})`,
            );
          else if (s.step === 'waiting') say('… waiting for a worker to take the task');
        },
      });
    } catch (err) {
      if (flags.json && (err instanceof TaskConvictedError || err instanceof TaskExpiredError)) {
        const status = err instanceof TaskConvictedError ? 'convicted' : 'expired';
        process.stdout.write(
          jsonLine({ status, taskId, modelRoot: root, inputRoot, fee, txs, error: err.shortMessage }),
        );
      }
      throw err;
    }
    txs.final = final.txHash;
    say(`✓ final: the challenge window closed without a successful challenge (tx ${final.txHash})`);
    const answer = answerOf(pkg.model, final.output);
    let check: 'ok' | 'skipped' = 'skipped';
    if (flags.check) {
      const v = await verifyTask(client, { taskId, model: pkg.model });
      if (!v.ok)
        throw new VerinferError(
          `Task ${taskId} is final, but re-running the model locally gives another result: ${v.mismatches.map((m) => m.field).join(', ')} differ.`,
          {
            metaMessages: [
              'The worker posted a wrong result that nobody challenged. Run `verinfer verify` for details.',
            ],
          },
        );
      check = 'ok';
      say('✓ re-ran the model locally: the same output root and commitment');
    }
    if (flags.json) {
      process.stdout.write(
        jsonLine({
          status: 'final',
          taskId,
          output: answer.bytes,
          top: answer.top,
          label: answer.labels.length === 1 ? answer.labels[0] : answer.labels,
          outputRoot: final.outputRoot,
          inputRoot,
          modelRoot: root,
          model: name,
          worker: final.worker,
          workerPay: final.workerPay,
          txs,
          localCheck: check,
        }),
      );
      return;
    }
    for (let row = 0; row < answer.top.length; row++)
      console.log(
        `answer${answer.top.length > 1 ? `[${row}]` : '   '}   ${answer.labels[row] ?? answer.top[row]}   (${describeRow(pkg.model, answer, row)})`,
      );
    console.log(`output      [${answer.values.join(', ')}]`);
    console.log('receipt');
    console.log(`  task        ${taskId}`);
    console.log(`  model       ${name} ${root}`);
    console.log(`  input root  ${inputRoot}`);
    console.log(`  output root ${final.outputRoot}`);
    console.log(`  worker      ${final.worker} (paid ${formatEther(final.workerPay)} ETH)`);
    for (const [what, hash] of Object.entries(txs)) console.log(`  tx ${what.padEnd(9)} ${hash}`);
    console.log(`  status      final${check === 'ok' ? ', re-checked locally' : ''}`);
  });
}
