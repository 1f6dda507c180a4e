// Debian's chromium driven by playwright-core, for the dashboard's browser tests, and the checks
// that a screenshot shows something: a page that renders blank or broken fails its test.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { PNG } from 'pngjs';

export const CHROMIUM = process.env.VERINFER_CHROMIUM ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  assert.ok(
    existsSync(CHROMIUM),
    `${CHROMIUM} is missing: run the tests with \`npm test\` (it installs Debian chromium), or \`apt-get install -y chromium\`.`,
  );
  return chromium.launch({
    executablePath: CHROMIUM,
    // The machine's network is closed: without these, chromium keeps dialling its own services.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** The standard deviation of a PNG's grey levels (0 for a blank image). */
export function pixelSpread(png: Buffer): number {
  const img = PNG.sync.read(png);
  const n = img.width * img.height;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const v = (img.data[4 * i] + img.data[4 * i + 1] + img.data[4 * i + 2]) / 3;
    sum += v;
    sq += v * v;
  }
  const mean = sum / n;
  return Math.sqrt(Math.max(0, sq / n - mean * mean));
}

/**
 * Saves a full-page screenshot to `path` and checks that the view is not blank or broken: the
 * image varies, the view's root element has text, and the page threw nothing.
 */
export async function screenshotView(
  page: Page,
  path: string,
  root: string,
  errors: string[],
): Promise<void> {
  const text = (await page.locator(root).textContent()) ?? '';
  assert.ok(text.trim().length > 40, `${root} renders text (got ${JSON.stringify(text.slice(0, 80))})`);
  const png = await page.screenshot({ fullPage: true });
  assert.ok(pixelSpread(png) > 12, `the screenshot of ${root} is not blank`);
  assert.deepEqual(errors, [], 'the page threw no error');
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, png);
}
