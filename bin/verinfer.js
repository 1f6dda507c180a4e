#!/usr/bin/env node
// Entry point for `npx verinfer`. Verinfer needs Node >= 22. In the repository it runs the
// TypeScript sources (built-in type stripping); an installed package has no src/ and runs the
// build in dist/ (Node does not strip types inside node_modules).
// On an older Node, re-run this command under the Node binary pinned in the package's dependencies.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  const pinned = join(here, '..', 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(pinned)) {
    console.error(`verinfer needs Node >= 22 (found ${process.versions.node}). Run \`npm install\` first.`);
    process.exit(1);
  }
  const result = spawnSync(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(result.status ?? 1);
} else if (existsSync(join(here, '..', 'src', 'cli', 'main.ts'))) {
  await import('../src/cli/main.ts');
} else {
  await import('../dist/cli/main.js');
}
