// npm running on Node < 22 skips optional native packages whose `engines` need Node >= 22, such as
// the binding of the embedded EDR chain. This hook runs under the pinned Node 24 (npm puts
// node_modules/.bin first on PATH), so it repeats the install once there to add what was skipped.
// It acts only in the repository itself: installed as a dependency, the package has no say in how
// its consumer's tree is installed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const inRepository = existsSync(fileURLToPath(new URL('../src/cli/main.ts', import.meta.url)));
const npmNode = /node\/v(\d+)/.exec(process.env.npm_config_user_agent ?? '');
const hereMajor = Number(process.versions.node.split('.')[0]);
if (inRepository && npmNode && Number(npmNode[1]) < 22 && hereMajor >= 22 && process.env.npm_execpath) {
  console.log(
    `verinfer: npm ran on Node ${npmNode[1]}; installing the optional packages that need Node >= 22`,
  );
  const result = spawnSync(
    process.execPath,
    [process.env.npm_execpath, 'install', '--no-save', '--ignore-scripts', '--no-audit', '--no-fund'],
    { stdio: 'inherit' },
  );
  if (result.status !== 0) process.exit(result.status ?? 1);
}

// The native kernels are optional (the WebAssembly engine runs without them): a failed build is one
// line of notice, never a failed install.
try {
  const { buildNative } = await import('./buildNative.mjs');
  const built = buildNative();
  console.log(
    built.file
      ? 'verinfer: native kernels built'
      : `verinfer: native kernels not built (${built.error}); the WebAssembly engine runs instead`,
  );
} catch (e) {
  console.log(`verinfer: native kernels not built (${e instanceof Error ? e.message : e})`);
}

// The dashboard's page is built here, after the optional packages above (Vite's bundler is one),
// so that a fresh clone serves it. A failed build does not fail the install: the test command and
// `verinfer dashboard` say how to build it.
if (inRepository && hereMajor >= 22) {
  try {
    const { buildDashboard } = await import('./buildDashboard.mjs');
    if (await buildDashboard()) console.log('verinfer: dashboard built into dashboard/dist');
  } catch (error) {
    console.warn(
      `verinfer: the dashboard was not built (${error?.message ?? error}); run \`node scripts/buildDashboard.mjs\``,
    );
  }
}
