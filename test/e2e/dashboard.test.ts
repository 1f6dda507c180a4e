// The dashboard in a real browser (Debian chromium, playwright-core) against `verinfer devnet
// --tour`, whose tour runs an honest task and gets the cheating worker convicted. A digit drawn in
// Try it is finalized; verify-in-your-browser agrees on a final task and disagrees on the
// convicted one; the dispute replay draws every move and names the winner; a lineage opens; and
// when the chain stops the page says it is disconnected. Each view is saved and checked not to be
// blank: into a temporary folder, or into VERINFER_SCREENSHOTS (docs/screenshots/ holds the ones in
// the docs: `VERINFER_SCREENSHOTS=docs/screenshots node --test test/e2e/dashboard.test.ts`).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { createPublicClient, type Hex, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { buildDashboard } from '../../scripts/buildDashboard.mjs';
import { anvilAccounts } from '../../src/chain/anvil.ts';
import { abis } from '../../src/chain/bindings/systemAbis.ts';
import { createVerinferClient } from '../../src/client/index.ts';
import { CLI_ENTRY } from '../../src/devnet/processes.ts';
import { loadModelDir } from '../../src/store/modelDir.ts';
import { launchChromium, screenshotView } from '../support/browser.ts';
import { type DevnetProcess, MODEL_CACHE, startDevnetProcess } from '../support/devnetProcess.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SHOTS = process.env.VERINFER_SCREENSHOTS
  ? resolve(process.env.VERINFER_SCREENSHOTS)
  : await mkdtemp(join(tmpdir(), 'verinfer-shots-'));
const MOVES = new Set([
  'TraceRevealed',
  'NodesRevealed',
  'ChildPicked',
  'OpNamed',
  'TensorRevealed',
  'ChunkRevealed',
  'ElementNamed',
  'StepVerified',
  'PrefixRevealed',
  'SegmentVerified',
]);

/**
 * The devnet's deployer (which published digits v1) publishes a v2 trained on a registered
 * dataset, and the requester registers the same data again, which the registry links as a duplicate.
 */
async function publishDigitsV2(devnet: DevnetProcess): Promise<void> {
  const contracts = devnet.ready.contracts as never;
  const as = (key: Hex) =>
    createVerinferClient({
      transport: http(devnet.ready.rpcUrl),
      account: privateKeyToAccount(key),
      contracts,
    });
  const deployer = as(anvilAccounts(1)[0].privateKey);
  const data = new TextEncoder().encode('the MNIST training images, as the example was trained on them');
  const { contentId } = await deployer.registerDataset({ data, uri: 'mnist://train' });
  await as(devnet.ready.requester.privateKey).registerDataset({ data, uri: 'mnist://copy' });
  const v1 = await loadModelDir(join(MODEL_CACHE, 'digits'));
  const v2 = { ...v1.model, meta: { ...v1.model.meta, version: '2' } };
  const parent = devnet.ready.models.find((m) => m.name === 'digits')!.root;
  await deployer.registerModel({
    model: v2,
    info: { name: 'digits', version: '2', parent, dataId: contentId },
  });
}

describe('the dashboard in a browser', { timeout: 900_000 }, () => {
  let devnet: DevnetProcess;
  let browser: Browser;
  let page: Page;
  let url: string;
  const errors: string[] = [];
  const shot = (name: string, root: string) => screenshotView(page, join(SHOTS, `${name}.png`), root, errors);
  const text = async (selector: string) => (await page.locator(selector).first().textContent()) ?? '';
  const open = async (hash: string) => {
    await page.goto(`${url}#/${hash}`);
    await page.waitForSelector('[data-status="live"]', { timeout: 30_000 });
  };

  before(async () => {
    await buildDashboard();
    browser = await launchChromium();
    devnet = await startDevnetProcess(['--tour']);
    url = devnet.ready.dashboardUrl ?? '';
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on('pageerror', (e) => errors.push(e.message));
  });

  after(async () => {
    await browser?.close();
    await devnet?.stop();
  });

  it('is served on localhost by the devnet, whose ready event names it', async () => {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    await open('');
    await page.waitForFunction(
      () => document.querySelector('[data-testid="stat-agents"]')?.textContent === '5',
      null,
      { timeout: 30_000 },
    );
    assert.equal(await text('[data-testid="stat-models"]'), '2');
    assert.equal(await page.locator('[data-testid="health-card"]').count(), 4);
    assert.equal(await page.locator('[data-testid="live-chart"] canvas').count(), 1, 'uPlot draws the chart');
  });

  let honestTask = '';
  it('takes a digit drawn in Try it and shows it finalize', async () => {
    // Any worker may take the task, the cheater included; a corrupted one is convicted, so the
    // page is asked again, as the tour does, until an honest answer is final.
    let last = '';
    for (let attempt = 1; attempt <= 5 && !honestTask; attempt++) {
      await open('try');
      const pad = page.locator('[data-testid="draw-pad"]');
      await pad.waitFor({ timeout: 30_000 });
      const box = (await pad.boundingBox())!;
      await page.mouse.move(box.x + 140, box.y + 40);
      await page.mouse.down();
      await page.mouse.move(box.x + 140, box.y + 245, { steps: 25 });
      await page.mouse.up();
      await page.click('[data-testid="try-submit"]');
      // The page may still show the previous attempt's task: wait for this request's own.
      await page.waitForFunction(
        (previous) => {
          const id = document.querySelector('[data-testid="try-task"]')?.getAttribute('data-task');
          return Boolean(id) && id !== previous;
        },
        last,
        { timeout: 30_000 },
      );
      const task = page.locator('[data-testid="try-task"]');
      last = (await task.getAttribute('data-task')) ?? '';
      const ended = page.locator(
        '[data-testid="try-task"] [data-stage="final"], [data-testid="try-task"] [data-stage="convicted"]',
      );
      await ended.waitFor({ timeout: 240_000 });
      if ((await ended.getAttribute('data-stage')) === 'final')
        honestTask = (await task.getAttribute('data-task'))!;
    }
    assert.match(honestTask, /^0x[0-9a-f]{64}$/);
    await shot('try-it', '[data-testid="try"]');
  });

  it('verifies a final task in the browser and agrees with the chain', async () => {
    await open(`task/${honestTask}`);
    await page.click('[data-testid="verify-button"]');
    const result = page.locator('[data-testid="verify-result"]');
    await result.waitFor({ timeout: 120_000 });
    assert.equal(await result.getAttribute('data-ok'), 'true');
    assert.match((await result.textContent()) ?? '', /Agrees with the chain/);
    assert.equal(await page.locator('[data-testid="input-image"]').count(), 1, 'the digit is drawn');
    assert.equal(await page.locator('[data-testid="scores"] .score').count(), 10, 'ten class scores');
    await shot('task', '[data-testid="task-page"]');
  });

  it('verifies with the reference interpreter when the page is told to (its fallback engine)', async () => {
    await page.goto(`${url}?engine=reference#/task/${honestTask}`);
    await page.waitForSelector('[data-status="live"]', { timeout: 30_000 });
    await page.click('[data-testid="verify-button"]');
    const result = page.locator('[data-testid="verify-result"]');
    await result.waitFor({ timeout: 120_000 });
    assert.equal(await result.getAttribute('data-engine'), 'reference');
    assert.equal(await result.getAttribute('data-ok'), 'true');
    assert.match((await result.textContent()) ?? '', /Ran the reference interpreter/);
  });

  let convicted = '';
  it('disagrees with the convicted cheater, and replays its dispute move by move', async () => {
    const cheater = await devnet.waitFor((e) => e.event === 'tour' && e.step === 'cheater', 600_000);
    convicted = String(cheater.taskId).toLowerCase();
    await open(`task/${convicted}`);
    await page.locator('[data-testid="stepper"][data-stage="convicted"]').waitFor({ timeout: 30_000 });
    await page.click('[data-testid="verify-button"]');
    const result = page.locator('[data-testid="verify-result"]');
    await result.waitFor({ timeout: 120_000 });
    assert.equal(await result.getAttribute('data-ok'), 'false');
    assert.match((await result.textContent()) ?? '', /outputRoot: this page computes/);

    const chain = createPublicClient({ transport: http(devnet.ready.rpcUrl) });
    const [challenge] = await chain.getContractEvents({
      address: devnet.ready.contracts.taskMarket,
      abi: abis.taskMarket,
      eventName: 'TaskChallenged',
      args: { taskId: convicted as `0x${string}` },
      fromBlock: 0n,
    });
    const gameId = challenge.args.gameId!;
    const logs = await chain.getContractEvents({
      address: devnet.ready.contracts.disputeGame,
      abi: abis.disputeGame,
      fromBlock: 0n,
    });
    const moves = logs.filter(
      (l) => MOVES.has(l.eventName) && (l.args as { gameId?: bigint }).gameId === gameId,
    );
    assert.ok(moves.length >= 4, 'the game went through the dissection');
    await page.click(`a[href="#/dispute/${gameId}"]`);
    await page.locator('[data-testid="winner"]').waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('[data-testid="move"]').count(), moves.length, 'every move is drawn');
    assert.equal(await page.locator('[data-testid="move"] [data-testid="range"]').count(), moves.length);
    assert.match(await text('[data-testid="winner"]'), /Winner: the challenger/);
    // The step's gas comes from its receipt, read after the page draws the move ("gas …" until then).
    await page.waitForFunction(
      () => /gas \d/.test(document.querySelector('[data-testid="one-step"]')?.textContent ?? ''),
      null,
      { timeout: 30_000 },
    );
    assert.match(await text('[data-testid="one-step"]'), /recomputed on chain: \d+ · gas \d+/);
    await shot('dispute-replay', '[data-testid="dispute-replay"]');
    await open('disputes');
    await shot('disputes', '[data-testid="disputes"]');
  });

  it('lists and searches tasks, and shows the agents with the slashed cheater', async () => {
    await open('tasks');
    await page.fill('[data-testid="task-search"]', 'convicted');
    await page.locator('[data-testid="task-row"]').first().waitFor();
    for (const s of await page
      .locator('[data-testid="task-row"]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status'))))
      assert.equal(s, 'convicted');
    await page.fill('[data-testid="task-search"]', '');
    // One page of the newest tasks; the devnet's few fit on it, so there is no older page.
    assert.match(await text('[data-testid="tasks-page"]'), /page 1 · the newest, live · \d+ tasks in all/);
    assert.equal(await page.locator('[data-testid="tasks-older"]').isDisabled(), true);
    await shot('tasks', '[data-testid="tasks"]');
    await open('agents');
    assert.equal(await page.locator('[data-testid="agent-row"]').count(), 5);
    // The cheater is slashed once per task of its that was challenged: the tour's, and any Try it
    // request it took before the test asked again.
    assert.match(await text('[data-testid="agents"]'), /[1-9]\d* · −\d/);
    await shot('agents', '[data-testid="agents"]');
    await open('');
    // Every contract's books match its balance: the card names all three and is green.
    const books = page.locator('[data-testid="health-card"]', { hasText: 'Contract books' });
    await page.waitForFunction(() => !document.body.textContent?.includes('reading…'), null, {
      timeout: 30_000,
    });
    assert.match((await books.textContent()) ?? '', /TaskMarket .* = open fees .*BatchMarket .*DisputeGame/);
    assert.equal(await books.getAttribute('class'), 'card good');
    await shot('overview', '[data-testid="overview"]');
  });

  it("opens a model's lineage: its parent version, its training data and that data's duplicate", async () => {
    await publishDigitsV2(devnet);
    await open('models');
    await page.locator('[data-testid="lineage-digits-2"]').waitFor({ timeout: 30_000 });
    await shot('models', '[data-testid="models"]');
    await page.click('[data-testid="lineage-digits-2"]');
    await page.locator('[data-testid="lineage-graph"]').waitFor({ timeout: 30_000 });
    // digits v2 → its parent v1, the dataset it was trained on, and the duplicate registration.
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="lineage-node"]').length === 4,
      null,
      {
        timeout: 30_000,
      },
    );
    assert.equal(await page.locator('[data-testid="lineage-graph"] polyline').count(), 3);
    const lineage = await text('[data-testid="lineage"]');
    assert.match(lineage, /digits v2/);
    assert.match(lineage, /digits v1/);
    assert.match(lineage, /data mnist:\/\/train/);
    assert.match(lineage, /duplicate by/);
    await shot('lineage', '[data-testid="lineage"]');
  });

  it('takes an e-mail pasted in Try it, and shows it as text with its two class scores', async () => {
    await open('try');
    await page.selectOption('[data-testid="try-model"]', { label: 'spam' });
    const email = await readFile(join(REPO, 'models/spam/samples/ham.txt'), 'utf8');
    await page.locator('[data-testid="try-text"]').fill(email);
    await page.click('[data-testid="try-submit"]');
    const task = page.locator('[data-testid="try-task"]');
    await task.waitFor({ timeout: 30_000 });
    // Final, or convicted if the cheater took it: either way the page shows what was asked and answered.
    await page
      .locator(
        '[data-testid="try-task"] [data-stage="final"], [data-testid="try-task"] [data-stage="convicted"]',
      )
      .waitFor({ timeout: 240_000 });
    await open(`task/${await task.getAttribute('data-task')}`);
    await page.locator('[data-testid="input-text"]').waitFor({ timeout: 30_000 });
    const words = email.toLowerCase().match(/[a-z0-9]+/g)!;
    const shown = await text('[data-testid="input-text"]');
    assert.ok(
      words.slice(0, 5).some((w) => shown.includes(w)),
      'the e-mail is drawn as its words',
    );
    assert.equal(await page.locator('[data-testid="scores"] .score').count(), 2, 'ham and spam');
    await shot('task-email', '[data-testid="task-page"]');
  });

  it('is served for any chain by `verinfer dashboard --rpc`, which hands out no key', async () => {
    const child = spawn(
      process.execPath,
      [CLI_ENTRY, 'dashboard', '--rpc', devnet.ready.rpcUrl, '--port', '0'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on('line', (l) => l.includes('dashboard on') && resolve(l));
        child.once('exit', (code) => reject(new Error(`verinfer dashboard exited (${code})`)));
      });
      const served = /on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(line)![1];
      const config = (await (await fetch(`${served}api/config`)).json()) as Record<string, unknown>;
      assert.equal(
        (config.contracts as Record<string, string>).taskMarket,
        devnet.ready.contracts.taskMarket,
      );
      assert.equal(config.devnet, null, 'outside the devnet command the page gets no key');
      // No node list here: the agents' registered endpoints (libp2p multiaddrs on loopback) are probed.
      const probed = (await (await fetch(`${served}api/nodes`)).json()) as {
        address: string;
        reachable: boolean;
      }[];
      assert.equal(probed.length, 5, 'every registered agent');
      assert.ok(
        probed.every((n) => n.reachable),
        `every agent's endpoint answers: ${JSON.stringify(probed)}`,
      );
      await page.goto(`${served}#/try`);
      await page.waitForSelector('[data-status="live"]', { timeout: 30_000 });
      await page.locator('[data-testid="try-nokey"]').waitFor({ timeout: 10_000 });
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('says it is disconnected when the chain stops, instead of showing stale data as live', async () => {
    await open(`task/${convicted}`);
    await devnet.stop();
    const conn = page.locator('[data-testid="connection"][data-status="disconnected"]');
    await conn.waitFor({ timeout: 60_000 });
    assert.match((await conn.textContent()) ?? '', /Disconnected from the chain/);
    assert.equal(await page.locator('.shell.stale').count(), 1, 'the data is greyed out as stale');
    await shot('disconnected', '.shell');
  });
});
