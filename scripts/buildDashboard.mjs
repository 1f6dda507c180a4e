// Builds the dashboard (dashboard/ → dashboard/dist) with Vite when the build is missing or older
// than its sources: the page bundles src/ (the SDK, the engine, the commitments), so those count.
// npm install runs it (scripts/postinstall.mjs) and so does the test command, so a fresh clone has
// a page to serve. `--force` builds regardless.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const stamp = join(repo, 'dashboard', 'dist', 'index.html');

/** The newest modification time under `dir`, skipping build output and dependencies. */
function newest(dir) {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const p = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

export function dashboardIsStale() {
  if (!existsSync(stamp)) return true;
  const built = statSync(stamp).mtimeMs;
  const sources = Math.max(newest(join(repo, 'dashboard')), newest(join(repo, 'src')));
  return sources > built;
}

export async function buildDashboard({ force = false } = {}) {
  if (!force && !dashboardIsStale()) return false;
  const { build } = await import('vite');
  await build({ configFile: join(repo, 'dashboard', 'vite.config.ts') });
  return true;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const built = await buildDashboard({ force: process.argv.includes('--force') });
  console.log(built ? 'verinfer: dashboard built into dashboard/dist' : 'verinfer: dashboard is up to date');
}
