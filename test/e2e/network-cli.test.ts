// The network commands end to end: `verinfer infer` against the devnet chain while the test plays
// the worker, `verinfer verify`, a convicted task, and bad input that must fail before anything is
// sent (no transaction from the requester, no task created).
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PNG } from 'pngjs';
import type { Hex } from 'viem';
import { anvilAccounts } from '../../src/chain/anvil.ts';
import { devnetAccounts } from '../../src/devnet/chain.ts';
import { CHALLENGER, type Network, runCli, startNetwork } from './networkSupport.ts';

const DIGIT_7 = new URL('../../models/digits/samples/digit-7.png', import.meta.url).pathname;
const SPAM = new URL('../../models/spam/samples/spam.txt', import.meta.url).pathname;
/** The CLI's key on a local chain without one given: the first test account. */
const DEFAULT_SENDER = anvilAccounts(1)[0].address;

let net: Network;
before(async () => {
  net = await startNetwork();
});
after(() => net?.close());

const rpcArgs = () => ['--rpc', net.rpc];

describe('verinfer infer', () => {
  let honestTask: Hex;

  test('digits: requested, posted by the worker, final after the window, the answer is 7', async () => {
    const running = runCli(['infer', ...rpcArgs(), '--model', 'digits', '--input', DIGIT_7, '--json']);
    const taskId = await net.postedTask();
    await net.advance(net.devnet.deployment.params.task.challengeWindow + 1n);
    const r = await running;
    assert.equal(r.code, 0, r.stderr);
    const out = r.json();
    assert.equal(out.status, 'final');
    assert.equal(out.taskId, taskId);
    assert.deepEqual(out.top, [7]);
    assert.equal(out.label, '7');
    assert.equal(out.localCheck, 'ok');
    assert.equal((out.output as number[]).length, 10);
    assert.match(String(out.outputRoot), /^0x[0-9a-f]{64}$/);
    assert.match(r.stderr, /requested task 0x[0-9a-f]{64}/);
    assert.match(r.stderr, /result posted by worker 0x[0-9a-fA-F]{40}/);
    assert.match(r.stderr, /challenge window until/);
    assert.match(r.stderr, /final/);
    assert.equal(r.stdout.trim().split('\n').length, 1, 'stdout holds only the JSON line');
    const task = net.posted.get(taskId);
    assert.equal(task?.task.requester, DEFAULT_SENDER);
    honestTask = taskId;
  });

  test('verify: the honest task re-runs to the same roots, exit 0', async () => {
    const r = await runCli(['verify', honestTask, ...rpcArgs()]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ok\s/m);
  });

  test('spam with $VERINFER_PRIVATE_KEY, human output with the receipt', async () => {
    const requester = devnetAccounts(3, 2).find((a) => a.role === 'requester')!;
    const running = runCli(['infer', ...rpcArgs(), '--model', 'spam', '--input', SPAM], {
      VERINFER_PRIVATE_KEY: requester.privateKey,
    });
    const taskId = await net.postedTask();
    await net.advance(net.devnet.deployment.params.task.challengeWindow + 1n);
    const r = await running;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^answer\s+spam\s/m);
    assert.match(r.stdout, new RegExp(`task\\s+${taskId}`));
    assert.match(r.stdout, /status\s+final/);
    assert.equal(net.posted.get(taskId)?.task.requester, requester.address);
  });

  test('a wrong result is challenged and convicted: exit 1, the refund explained', async () => {
    net.cheatNext = 1;
    const running = runCli(['infer', ...rpcArgs(), '--model', 'digits', '--input', DIGIT_7, '--json']);
    const taskId = await net.postedTask();
    assert.equal(net.posted.get(taskId)?.honest, false);
    const verified = await runCli(['verify', taskId, ...rpcArgs()]);
    assert.equal(verified.code, 1);
    assert.match(verified.stdout, /mismatch\s+outputRoot/);
    assert.match(verified.stderr, /^error: Task 0x[0-9a-f]{64}'s posted result is wrong/m);

    const challenger = net.client(CHALLENGER);
    const t = await challenger.getTask({ taskId });
    const { params } = net.devnet.deployment;
    const hash = await net.devnet.contracts
      .as(net.devnet.chain.wallet(CHALLENGER))
      .taskMarket.write.challenge([t.task!, t.result!], { value: params.task.challengeBond });
    await net.devnet.chain.publicClient.waitForTransactionReceipt({ hash });
    const gameId = (await challenger.getTask({ taskId })).disputes.games[0].gameId;
    await net.advance(params.clockBudget + 1n);
    const timeout = await net.devnet.contracts
      .as(net.devnet.chain.wallet(CHALLENGER))
      .disputeGame.write.timeout([gameId]);
    await net.devnet.chain.publicClient.waitForTransactionReceipt({ hash: timeout });
    const r = await running;
    assert.equal(r.code, 1);
    const out = r.json();
    assert.equal(out.status, 'convicted');
    assert.equal(out.taskId, taskId);
    assert.match(r.stderr, /challenged by 0x[0-9a-fA-F]{40}/);
    assert.match(r.stderr, /error: Task 0x[0-9a-f]{64} has no final result: its worker was convicted/);
    assert.match(r.stderr, /refunded/);
  });
});

describe('bad input through the CLI: one clear error, exit 1, nothing sent', () => {
  const cases: [string, () => Promise<string[]>, RegExp][] = [
    [
      'unknown model',
      async () => ['--model', 'nope', '--input', DIGIT_7],
      /^error: Model "nope" is not in the deployment/,
    ],
    [
      'a text file for the digits model',
      async () => ['--model', 'digits', '--input', SPAM],
      /^error: Input file ".*spam\.txt" is neither \.json nor \.png/,
    ],
    [
      'a PNG of the wrong size',
      async () => {
        const png = new PNG({ width: 10, height: 12 });
        png.data.fill(255);
        const path = join(net.home, 'small.png');
        await writeFile(path, PNG.sync.write(png));
        return ['--model', 'digits', '--input', path];
      },
      /^error: Image ".*small\.png" is 10x12; the model needs 28x28/,
    ],
    [
      'an empty file',
      async () => {
        const path = join(net.home, 'empty.png');
        await writeFile(path, '');
        return ['--model', 'digits', '--input', path];
      },
      /^error: Input file ".*empty\.png" is empty/,
    ],
    [
      'an oversized file',
      async () => {
        const path = join(net.home, 'big.txt');
        await writeFile(path, 'a'.repeat(2 * 1024 * 1024));
        return ['--model', 'spam', '--input', path];
      },
      /^error: Input file ".*big\.txt" has 2097152 bytes; an input file has at most 1048576/,
    ],
    [
      'an unreachable RPC',
      async () => ['--model', 'digits', '--input', DIGIT_7, '--rpc', 'http://127.0.0.1:9'],
      /^error: http:\/\/127\.0\.0\.1:9 did not tell its Verinfer deployment/,
    ],
    [
      'a malformed deployment file',
      async () => {
        const path = join(net.home, 'bad-deployment.json');
        await writeFile(
          path,
          JSON.stringify({ version: 1, chainId: 31337, addresses: { taskMarket: '0x12' } }),
        );
        return ['--model', 'digits', '--input', DIGIT_7, '--deployment', path];
      },
      /^error: .*bad-deployment\.json is not a Verinfer deployment/,
    ],
    [
      'a fee of zero',
      async () => ['--model', 'digits', '--input', DIGIT_7, '--fee', '0'],
      /^error: --fee must be more than 0 ETH/,
    ],
    [
      '--batch',
      async () => ['--model', 'digits', '--input', DIGIT_7, '--batch'],
      /^error: No registered worker serves this model with a peer endpoint/,
    ],
  ];
  for (const [name, args, expected] of cases) {
    test(name, async () => {
      const before = await net.counts(DEFAULT_SENDER);
      const a = await args();
      const r = await runCli(['infer', ...(a.includes('--rpc') ? [] : rpcArgs()), ...a, '--json']);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, '', 'no JSON result');
      const firstError = r.stderr.split('\n').find((l) => l.startsWith('error: '));
      assert.match(firstError ?? '', expected, r.stderr);
      assert.deepEqual(await net.counts(DEFAULT_SENDER), before, 'no transaction sent, no task created');
    });
  }

  test('verify with a malformed task ID', async () => {
    const r = await runCli(['verify', '0x1234', ...rpcArgs()]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: taskId 0x1234 is not 32 bytes of hex/m);
  });

  test('verify of a task that does not exist', async () => {
    const r = await runCli(['verify', `0x${'ab'.repeat(32)}`, ...rpcArgs()]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: Task 0x(ab){32} does not exist on this TaskMarket/m);
  });
});

describe('registries and stake through the CLI', () => {
  test('data register, model register with lineage, agent register and claim', async () => {
    const dataFile = join(net.home, 'train.csv');
    await writeFile(dataFile, 'x,y\n1,2\n');
    const data = await runCli([
      'data',
      'register',
      dataFile,
      '--uri',
      'ipfs://train',
      '--json',
      ...rpcArgs(),
    ]);
    assert.equal(data.code, 0, data.stderr);
    const contentId = data.json().contentId as string;
    assert.equal(data.json().isNew, true);
    const digits = net.devnet.deployment.models.find((m) => m.name === 'digits')!;
    const publisher = { VERINFER_PRIVATE_KEY: anvilAccounts(8)[7].privateKey };
    const reg = await runCli(
      [
        'model',
        'register',
        digits.dir!,
        '--version',
        '1-retrained',
        '--data',
        contentId,
        '--uri',
        'vrnf://digits-2',
        '--json',
        ...rpcArgs(),
      ],
      publisher,
    );
    // The same package is the same root: a second publisher may claim it with its own lineage.
    assert.equal(reg.code, 0, reg.stderr);
    assert.equal(reg.json().modelRoot, digits.root);
    const lineage = await runCli(['model', 'lineage', 'digits', '--json', ...rpcArgs()]);
    assert.equal(lineage.code, 0, lineage.stderr);
    assert.ok(Array.isArray(lineage.json().entries));
    const agent = await runCli([
      'agent',
      'register',
      '--amount',
      '2',
      '--models',
      'digits',
      '--json',
      ...rpcArgs(),
    ]);
    assert.equal(agent.code, 0, agent.stderr);
    assert.equal(agent.json().registered, true);
    const again = await runCli(['agent', 'register', '--amount', '2', ...rpcArgs()]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /is already a registered agent/);
    const claim = await runCli(['agent', 'claim', '--json', ...rpcArgs()]);
    assert.equal(claim.code, 0, claim.stderr);
    // The convicted task's fee came back to the requester's TaskMarket balance.
    assert.notEqual(claim.json().market, '0');
    assert.equal((claim.json().txHashes as string[]).length, 1);
  });
});
