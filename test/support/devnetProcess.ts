// Runs `verinfer devnet --json` as a child process for end-to-end tests: waits for its ready
// event, collects every event line, and stops it (and so every node it started) at the end.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CLI_ENTRY } from '../../src/devnet/processes.ts';

export interface ReadyEvent {
  event: 'ready';
  rpcUrl: string;
  /** The web dashboard, unless the devnet was started with --no-dashboard. */
  dashboardUrl?: string;
  chainId: number;
  contracts: Record<string, `0x${string}`>;
  deploymentFile: string;
  models: { name: string; root: `0x${string}` }[];
  requester: { address: `0x${string}`; privateKey: `0x${string}` };
  nodes: {
    name: string;
    role: 'worker' | 'verifier';
    address: `0x${string}`;
    privateKey: `0x${string}`;
    pid: number;
    health: string;
    cheater: boolean;
  }[];
}

export interface DevnetProcess {
  ready: ReadyEvent;
  home: string;
  events: Record<string, unknown>[];
  child: ChildProcess;
  /** Resolves with the first event that matches, waiting at most `ms`. */
  waitFor(match: (e: Record<string, unknown>) => boolean, ms: number): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** The example packages are imported once per machine into this cache, not once per test. */
export const MODEL_CACHE = join(tmpdir(), 'verinfer-test-models');

export async function startDevnetProcess(args: string[] = [], readyMs = 240_000): Promise<DevnetProcess> {
  const home = await mkdtemp(join(tmpdir(), 'verinfer-devnet-'));
  const child = spawn(
    process.execPath,
    [CLI_ENTRY, 'devnet', '--json', '--port', '0', '--home', join(home, 'devnet'), ...args],
    {
      env: { ...process.env, VERINFER_HOME: home, VERINFER_MODEL_CACHE: MODEL_CACHE },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const events: Record<string, unknown>[] = [];
  const waiters: {
    match: (e: Record<string, unknown>) => boolean;
    resolve: (e: Record<string, unknown>) => void;
  }[] = [];
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-8_000);
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    events.push(e);
    for (const w of [...waiters]) {
      if (w.match(e)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const waitFor = (match: (e: Record<string, unknown>) => boolean, ms: number) => {
    const seen = events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`No matching devnet event within ${ms} ms.\nLast stderr:\n${stderr}`));
      }, ms);
      waiters.push({
        match,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`The devnet exited.\nLast stderr:\n${stderr}`));
      });
    });
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
  };
  try {
    const ready = (await waitFor((e) => e.event === 'ready', readyMs)) as unknown as ReadyEvent;
    return { ready, home, events, child, waitFor, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
