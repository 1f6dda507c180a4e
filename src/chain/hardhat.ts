// One Hardhat runtime per process, built from the repository's hardhat.config.ts (compiler: the
// pinned npm `solc`, run as solc-js; no download). See README.md in this folder.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHardhatRuntimeEnvironment } from 'hardhat/hre';
import type { HardhatRuntimeEnvironment } from 'hardhat/types/hre';
import config from './hardhatConfig.ts';

// src/chain/ in the repository, dist/chain/ in the published package: the root is two levels up in both.
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/**
 * The published package ships no Solidity sources but the ABI and bytecode of the deployable
 * contracts, in dist/artifacts/ (written by scripts/packArtifacts.ts). From src/ this folder does
 * not exist, and artifacts are built from contracts/.
 */
export const PACKED_ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../artifacts');
const CONFIG_PATH = path.join(PROJECT_ROOT, 'hardhat.config.ts');
/** Serializes builds across processes (node --test runs files in parallel). Git-ignored. */
const LOCK_DIR = path.join(PROJECT_ROOT, '.tmp', 'hardhat', 'build.lock');
const STALE_LOCK_MS = 10 * 60 * 1000;

let hrePromise: Promise<HardhatRuntimeEnvironment> | undefined;
let builtPromise: Promise<void> | undefined;

/** The process-wide Hardhat runtime environment. */
export function hardhat(): Promise<HardhatRuntimeEnvironment> {
  hrePromise ??= createHardhatRuntimeEnvironment(config, { config: CONFIG_PATH }, PROJECT_ROOT);
  return hrePromise;
}

/**
 * Compiles contracts/ if any source changed since the last build (Hardhat caches by content under
 * .tmp/hardhat). Called before any artifact is read, so a fresh clone needs no manual step.
 */
export function buildContracts(): Promise<void> {
  builtPromise ??= (async () => {
    const hre = await hardhat();
    await withLock(async () => {
      await hre.tasks.getTask('build').run({ quiet: true, noTests: true });
    });
  })();
  return builtPromise;
}

/** ABI and creation bytecode of a contract, built on demand. */
export async function readArtifact(
  name: string,
): Promise<{ abi: readonly unknown[]; bytecode: `0x${string}` }> {
  const packed = path.join(PACKED_ARTIFACTS, `${name}.json`);
  if (existsSync(packed)) return JSON.parse(await readFile(packed, 'utf8'));
  await buildContracts();
  const hre = await hardhat();
  const artifact = await hre.artifacts.readArtifact(name);
  return { abi: artifact.abi, bytecode: artifact.bytecode as `0x${string}` };
}

async function withLock(fn: () => Promise<void>): Promise<void> {
  await mkdir(path.dirname(LOCK_DIR), { recursive: true });
  const deadline = Date.now() + STALE_LOCK_MS;
  for (;;) {
    try {
      await mkdir(LOCK_DIR);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const since = await stat(LOCK_DIR).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      // A lock left by a killed process: take it over.
      if (since > STALE_LOCK_MS || Date.now() > deadline)
        await rm(LOCK_DIR, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    await writeFile(path.join(LOCK_DIR, 'pid'), String(process.pid));
    await fn();
  } finally {
    await rm(LOCK_DIR, { recursive: true, force: true });
  }
}
