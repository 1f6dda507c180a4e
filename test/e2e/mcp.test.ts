// `verinfer mcp` end to end: an MCP client (the official SDK) over stdio against the devnet chain
// while the test plays the worker; spending refused and then allowed; a challenged task explained;
// bad arguments answered with tool errors by a server that stays up; one Streamable HTTP round trip.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Hex } from 'viem';
import { CHALLENGER, CLI, type Network, startNetwork } from './networkSupport.ts';

const DIGIT_7 = new URL('../../models/digits/samples/digit-7.png', import.meta.url).pathname;
const TOOLS = [
  'explain_dispute',
  'get_task',
  'list_models',
  'request_inference',
  'verify_task',
  'wait_for_finality',
];

let net: Network;
before(async () => {
  net = await startNetwork();
});
after(() => net?.close());

async function connectStdio(extra: string[] = []): Promise<Client> {
  const client = new Client({ name: 'verinfer-test', version: '1' });
  const env = Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined),
  );
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [CLI, 'mcp', '--rpc', net.rpc, ...extra],
      env: { ...env, VERINFER_PRIVATE_KEY: '', VERINFER_MCP_ALLOW_SPEND: '' },
      stderr: 'ignore',
    }),
  );
  return client;
}

interface ToolText {
  isError?: boolean;
  text: string;
  json(): Record<string, unknown>;
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolText> {
  const r = (await client.callTool({ name, arguments: args })) as {
    isError?: boolean;
    content: { text: string }[];
  };
  const text = r.content.map((c) => c.text).join('\n');
  return { isError: r.isError, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

describe('verinfer mcp over stdio', () => {
  test('without --allow-spend: tools listed, models listed, spending refused, bad arguments survived', async () => {
    const client = await connectStdio();
    try {
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), TOOLS);
      const models = await call(client, 'list_models');
      assert.equal(models.isError, undefined, models.text);
      const listed = models.json().models as { name: string; root: string; labels?: string[] }[];
      assert.deepEqual(listed.map((m) => m.name).sort(), ['digits', 'spam']);
      assert.deepEqual(listed.find((m) => m.name === 'spam')?.labels, ['ham', 'spam']);
      const before = await net.counts(net.devnet.chain.accounts[0]);
      const refused = await call(client, 'request_inference', { model: 'digits', inputFile: DIGIT_7 });
      assert.equal(refused.isError, true);
      assert.match(refused.text, /^request_inference spends funds, and spending is not allowed/);
      assert.match(refused.text, /--allow-spend/);
      assert.deepEqual(await net.counts(net.devnet.chain.accounts[0]), before);

      const badId = await call(client, 'get_task', { taskId: '0x12' });
      assert.equal(badId.isError, true);
      assert.match(badId.text, /a task ID is 0x and 64 hex digits/);
      const missing = await call(client, 'get_task', { taskId: `0x${'cd'.repeat(32)}` });
      assert.equal(missing.isError, true);
      assert.match(missing.text, /^Task 0x(cd){32} does not exist on this TaskMarket/);
      const neither = await call(client, 'explain_dispute', {});
      assert.equal(neither.isError, true);
      assert.match(neither.text, /exactly one of taskId and gameId/);
      // Still serving after the errors.
      assert.equal((await call(client, 'list_models')).isError, undefined);
    } finally {
      await client.close();
    }
  });

  test('with --allow-spend: request, wait for finality, verify; a challenged task explained', async () => {
    const client = await connectStdio(['--allow-spend']);
    try {
      const wrongInput = await call(client, 'request_inference', { model: 'digits', text: 'not an image' });
      assert.equal(wrongInput.isError, true);
      assert.match(wrongInput.text, /has no tokenizer/);
      const tooDear = await call(client, 'request_inference', {
        model: 'digits',
        inputFile: DIGIT_7,
        fee: '5',
      });
      assert.equal(tooDear.isError, true);
      assert.match(tooDear.text, /above this server's limit of 0\.1 ETH/);

      const receipt = await call(client, 'request_inference', { model: 'digits', inputFile: DIGIT_7 });
      assert.equal(receipt.isError, undefined, receipt.text);
      const taskId = receipt.json().taskId as Hex;
      assert.equal(receipt.json().status, 'open');
      assert.match(String(receipt.json().inputRoot), /^0x[0-9a-f]{64}$/);
      await net.postedTask(taskId);
      await net.advance(net.devnet.deployment.params.task.challengeWindow + 1n);
      const final = await call(client, 'wait_for_finality', { taskId, timeoutSeconds: 120 });
      assert.equal(final.isError, undefined, final.text);
      assert.equal(final.json().status, 'final');
      assert.deepEqual(final.json().top, [7]);
      assert.equal(final.json().label, '7');
      const verified = await call(client, 'verify_task', { taskId });
      assert.equal(verified.json().ok, true);
      const calm = await call(client, 'explain_dispute', { taskId });
      assert.match(calm.json().summary as string, /has never been challenged/);

      net.cheatNext = 1;
      const bad = await call(client, 'request_inference', { model: 'digits', inputFile: DIGIT_7 });
      const badId = bad.json().taskId as Hex;
      await net.postedTask(badId);
      const wrong = await call(client, 'verify_task', { taskId: badId });
      assert.equal(wrong.json().ok, false);
      const t = await net.client(CHALLENGER).getTask({ taskId: badId });
      const hash = await net.devnet.contracts
        .as(net.devnet.chain.wallet(CHALLENGER))
        .taskMarket.write.challenge([t.task!, t.result!], {
          value: net.devnet.deployment.params.task.challengeBond,
        });
      await net.devnet.chain.publicClient.waitForTransactionReceipt({ hash });
      const open = await call(client, 'explain_dispute', { taskId: badId });
      assert.equal(open.isError, undefined, open.text);
      const [game] = open.json().disputes as {
        phase: string;
        whoseTurn: string;
        outcome: string;
        summary: string;
      }[];
      assert.equal(game.phase, 'awaitWorkerTrace');
      assert.equal(game.whoseTurn, 'worker');
      assert.equal(game.outcome, 'none');
      assert.match(
        game.summary,
        new RegExp(`Challenger ${net.devnet.chain.accounts[CHALLENGER]} disputed`, 'i'),
      );
      assert.match(game.summary, /It is the worker's turn; it has \d+ s left/);

      const { gameId } = (await net.client(CHALLENGER).getTask({ taskId: badId })).disputes.games[0];
      await net.advance(net.devnet.deployment.params.clockBudget + 1n);
      const timeout = await net.devnet.contracts
        .as(net.devnet.chain.wallet(CHALLENGER))
        .disputeGame.write.timeout([gameId]);
      await net.devnet.chain.publicClient.waitForTransactionReceipt({ hash: timeout });
      const ended = await call(client, 'explain_dispute', { gameId: gameId.toString() });
      assert.match(ended.json().summary as string, /Outcome: the challenger won/);
      const convicted = await call(client, 'wait_for_finality', { taskId: badId, timeoutSeconds: 30 });
      assert.equal(convicted.isError, true);
      assert.match(convicted.text, /its worker was convicted/);
      assert.match(convicted.text, /refunded/);
    } finally {
      await client.close();
    }
  });
});

describe('verinfer mcp --http', () => {
  test('lists its tools over Streamable HTTP on 127.0.0.1', async () => {
    const child = spawn(process.execPath, [CLI, 'mcp', '--http', '--port', '0', '--rpc', net.rpc], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`verinfer mcp --http exited with ${code}`)));
      });
      const { url } = JSON.parse(line) as { url: string };
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
      const client = new Client({ name: 'verinfer-test', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), TOOLS);
      await client.close();
    } finally {
      child.kill('SIGTERM');
    }
  });
});
