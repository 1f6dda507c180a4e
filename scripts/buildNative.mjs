// Builds the native kernels (src/engine/native/kernels.cc and the headers beside it) into a
// Node-API addon with the machine's C++ compiler and the headers of the npm package
// node-api-headers: nothing is fetched.
// The addon goes to build/native/ (gitignored) under a name that carries a hash of the source,
// the flags and the headers, so a changed source never loads a stale build. The engine works
// without it (the WebAssembly kernels run instead), so a failure is a one-line notice, never an
// error of the install.
//
//   node scripts/buildNative.mjs     build (npm run build:native); exit 1 if it failed
// Run from scripts/postinstall.mjs, and lazily by src/engine/native/addon.ts when the addon for
// the current source is missing. CXX overrides the compiler (default g++).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
export const NATIVE_SOURCE = join(root, 'src/engine/native/kernels.cc');
/** Every header beside the source, all part of the addon's hash, so that no edit loads a stale build. */
export const NATIVE_HEADERS = readdirSync(dirname(NATIVE_SOURCE))
  .filter((f) => f.endsWith('.h'))
  .sort()
  .map((f) => join(dirname(NATIVE_SOURCE), f));
export const NATIVE_DIR = join(root, 'build/native');

/** Plain optimisation, no -march: each vector path carries its own target attribute. */
const FLAGS = ['-O3', '-shared', '-fPIC', '-std=c++17', '-fvisibility=hidden', '-Wall'];

function headersDir() {
  try {
    const pkg = createRequire(import.meta.url).resolve('node-api-headers/package.json');
    return join(dirname(pkg), 'include');
  } catch {
    return undefined;
  }
}

/** Where the addon for the current source lives, or undefined when the source is not here. */
export function nativeAddonFile() {
  if (!existsSync(NATIVE_SOURCE)) return undefined;
  const include = headersDir();
  const hash = createHash('sha256').update(readFileSync(NATIVE_SOURCE)).update(FLAGS.join(' '));
  for (const h of NATIVE_HEADERS) if (existsSync(h)) hash.update(readFileSync(h));
  if (include && existsSync(join(include, 'node_api.h')))
    hash.update(readFileSync(join(include, 'node_api.h')));
  return join(NATIVE_DIR, `verinfer-${hash.digest('hex').slice(0, 16)}.node`);
}

/**
 * Builds the addon unless it is already there. Returns { file } or { error } (one line); never
 * throws. The output is written to a temporary name and renamed, so a concurrent build or an
 * interrupted one never leaves a partial addon under the final name.
 */
export function buildNative() {
  try {
    const file = nativeAddonFile();
    if (!file) return { error: `no source at ${NATIVE_SOURCE}` };
    if (existsSync(file)) return { file };
    const include = headersDir();
    if (!include || !existsSync(join(include, 'node_api.h')))
      return { error: 'the npm package node-api-headers is not installed' };
    mkdirSync(NATIVE_DIR, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    const cxx = process.env.CXX || 'g++';
    const out = spawnSync(cxx, [...FLAGS, '-I', include, NATIVE_SOURCE, '-o', tmp], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (out.error || out.status !== 0) {
      rmSync(tmp, { force: true });
      const why = out.error
        ? out.error.message
        : (out.stderr
            .trim()
            .split('\n')
            .find((l) => l.includes('error')) ?? `exit ${out.status}`);
      return { error: `${cxx} failed: ${why}` };
    }
    renameSync(tmp, file);
    // Builds of older sources can never load again (their hash is gone).
    for (const old of readdirSync(NATIVE_DIR)) {
      if (/^verinfer-[0-9a-f]{16}\.node$/.test(old) && join(NATIVE_DIR, old) !== file)
        rmSync(join(NATIVE_DIR, old), { force: true });
    }
    return { file };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = buildNative();
  if (result.file) console.log(`verinfer: native kernels ready at ${result.file}`);
  else {
    console.log(`verinfer: native kernels not built (${result.error}); the WebAssembly engine runs instead`);
    process.exitCode = 1;
  }
}
