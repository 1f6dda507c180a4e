// The output directory of a command (`model import --out`, `model run --trace`), reserved before
// the long work starts and written so that it appears whole or not at all:
// - the target is checked first: new, empty, or (with --force) a previous output of the same
//   kind, never a directory with anything else in it;
// - a lock file beside it, created exclusively, keeps a second writer out until we are done;
// - the output is written to a staging folder beside the target and renamed into place; an error
//   or Ctrl-C removes the staging folder and the lock.
import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { VerinferError } from '../errors/base.ts';
import { removeOnInterrupt } from './interruptCleanup.ts';
import { describeFsError, MiB, readBounded } from './readBounded.ts';

/** A model package (`model import --out`) or a saved trace (`model run --trace`). */
export type OutputKind = 'model' | 'trace';

/** An output directory that cannot be used, or a write into it that failed. */
export class OutputDirError extends VerinferError {
  override name = 'OutputDirError' as const;
}

/** Another process is writing the same output directory. */
export class OutputBusyError extends VerinferError {
  override name = 'OutputBusyError' as const;
}

export interface ReserveOutputParameters {
  kind: OutputKind;
  /** Replace a previous output of the same kind. */
  force?: boolean;
  /** The option that named the directory, for messages: '--out', '--trace'. */
  flag?: string;
}

export interface OutputReservation {
  readonly target: string;
  /** Writes the output into a fresh staging folder with `fill`, then moves it into place. */
  commit(fill: (staging: string) => Promise<void>): Promise<void>;
  /** Gives up the reservation (removes the lock). Safe to call more than once. */
  release(): Promise<void>;
}

const KIND_WORDS: Record<OutputKind, string> = { model: 'model package', trace: 'trace' };

/** True if `entries` are exactly the files of a previous output of `kind`. */
async function isPreviousOutput(kind: OutputKind, dir: string, entries: Dirent[]): Promise<boolean> {
  if (!entries.every((e) => e.isFile())) return false;
  const names = new Set(entries.map((e) => e.name));
  const marker = kind === 'model' ? 'manifest.json' : 'trace.json';
  if (!names.has(marker)) return false;
  const allowed =
    kind === 'model'
      ? (n: string) => n === 'manifest.json' || n === 'model.vrnf' || n === 'tokenizer.json'
      : (n: string) => n === 'trace.json' || /^op-\d{4,}\.bin$/.test(n);
  if (![...names].every(allowed)) return false;
  if (kind === 'model' && !names.has('model.vrnf')) return false;
  try {
    const json = JSON.parse(
      (await readBounded(join(dir, marker), { maxBytes: 64 * MiB, what: 'File' })).toString('utf8'),
    );
    return kind === 'model' ? json?.format === 'verinfer-model' : typeof json?.traceRoot === 'string';
  } catch {
    return false;
  }
}

/** Throws unless `target` may be written: absent, an empty directory, or (forced) a previous output. */
async function checkTarget(target: string, label: string, p: ReserveOutputParameters): Promise<boolean> {
  const what = KIND_WORDS[p.kind];
  let info: Awaited<ReturnType<typeof lstat>>;
  try {
    info = await lstat(target);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new OutputDirError(`Cannot use ${label}: ${describeFsError(cause)}.`, { cause });
  }
  if (info.isSymbolicLink()) {
    throw new OutputDirError(`${label} is a symbolic link. Pass the directory it points to, or a new path.`);
  }
  if (!info.isDirectory()) {
    throw new OutputDirError(
      `${label} is an existing file, not a directory. Choose a new directory for the ${what}.`,
    );
  }
  const cwd = relative(target, process.cwd());
  if (cwd === '' || (!cwd.startsWith('..') && !cwd.startsWith(sep))) {
    throw new OutputDirError(
      `${label} is the current directory or contains it, and the ${what} replaces the whole directory. Pass a new directory such as ./my-${p.kind}.`,
    );
  }
  let entries: Dirent[];
  try {
    entries = await readdir(target, { withFileTypes: true });
  } catch (cause) {
    throw new OutputDirError(`Cannot read ${label}: ${describeFsError(cause)}.`, { cause });
  }
  if (entries.length === 0) return true;
  if (!p.force) {
    throw new OutputDirError(
      `${label} is not empty. Choose a new or empty directory, or pass --force to replace a previous ${what}.`,
    );
  }
  if (!(await isPreviousOutput(p.kind, target, entries))) {
    const shown = entries
      .slice(0, 3)
      .map((e) => e.name)
      .join(', ');
    throw new OutputDirError(
      `${label} holds files that are not a previous ${what} (${shown}${entries.length > 3 ? ', …' : ''}). --force only replaces a previous ${what}; nothing was deleted. Choose a new directory.`,
    );
  }
  return true;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Creates the lock file exclusively; a lock left by a process that no longer runs is taken over. */
async function acquireLock(lock: string, label: string): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lock, 'wx');
      try {
        await handle.writeFile(`${process.pid}\n`);
      } finally {
        await handle.close();
      }
      return;
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        const why = code === 'ENOENT' ? 'its parent refuses new files (ENOENT)' : describeFsError(cause);
        throw new OutputDirError(`Cannot write to ${label}: ${why}. Choose a directory you can write to.`, {
          cause,
        });
      }
    }
    const owner = Number.parseInt(await readFile(lock, 'utf8').catch(() => ''), 10);
    if (Number.isSafeInteger(owner) && owner > 0 && pidAlive(owner)) {
      throw new OutputBusyError(
        `Another verinfer process (pid ${owner}) is writing ${label} (lock file ${lock}). Wait for it to finish, or choose another directory.`,
      );
    }
    await unlink(lock).catch(() => {});
  }
  throw new OutputBusyError(`Another verinfer process keeps taking ${label}. Choose another directory.`);
}

/**
 * `mkdir -p`, one level at a time: Node's recursive mkdir never returns on some file systems
 * that refuse new entries (it spins on /proc), so the missing levels are created one by one.
 */
async function makeParents(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    try {
      const info = await lstat(d);
      if (!info.isDirectory() && !(info.isSymbolicLink() && (await stat(d)).isDirectory())) {
        throw Object.assign(new Error(`${d} is not a directory`), { code: 'ENOTDIR' });
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(d) === d) throw error;
      missing.push(d);
    }
  }
  for (const d of missing.reverse()) {
    try {
      await mkdir(d);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

export async function reserveOutput(dir: string, p: ReserveOutputParameters): Promise<OutputReservation> {
  const target = resolve(dir);
  const label = `${p.flag ?? 'Output directory'} "${dir}"`;
  const parent = dirname(target);
  const base = basename(target);
  if (parent === target) throw new OutputDirError(`${label} is the root directory. Choose a new directory.`);
  try {
    await makeParents(parent);
  } catch (cause) {
    throw new OutputDirError(`Cannot create ${label}: ${describeFsError(cause)}.`, { cause });
  }
  const lock = join(parent, `.${base}.lock`);
  await acquireLock(lock, label);
  const forgetLock = removeOnInterrupt(lock);
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await unlink(lock).catch(() => {});
    forgetLock();
  };
  try {
    await checkTarget(target, label, p);
  } catch (error) {
    await release();
    throw error;
  }
  const commit = async (fill: (staging: string) => Promise<void>) => {
    const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
    const staging = join(parent, `.${base}.partial-${tag}`);
    const old = join(parent, `.${base}.old-${tag}`);
    const forgetStaging = removeOnInterrupt(staging);
    try {
      await mkdir(staging);
      await fill(staging);
      // We hold the lock, but something other than verinfer may have written the target meanwhile.
      const exists = await checkTarget(target, label, p);
      if (exists) await rename(target, old);
      await rename(staging, target);
      if (exists) await rm(old, { recursive: true, force: true });
    } catch (cause) {
      await rm(staging, { recursive: true, force: true });
      if (cause instanceof VerinferError) throw cause;
      throw new OutputDirError(`Cannot write ${label}: ${describeFsError(cause)}.`, { cause });
    } finally {
      forgetStaging();
      await release();
    }
  };
  return { target, commit, release };
}
