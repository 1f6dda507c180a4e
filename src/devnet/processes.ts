// Node processes of the devnet: each one is `verinfer node --config <file>` in its own OS
// process, with its own key, stake and database. Their JSON log lines come back as events.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The CLI entry of this build: sources under Node's type stripping, or the compiled package. */
export const CLI_ENTRY = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? '../cli/main.ts' : '../cli/main.js', import.meta.url),
);

export interface NodeProcessSpec {
  name: string;
  configFile: string;
  env?: Record<string, string>;
}

export interface NodeLogLine {
  node: string;
  /** The node's JSON log object, or { msg } for a line that is not JSON. */
  line: Record<string, unknown>;
  stream: 'stdout' | 'stderr';
}

export interface NodeProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  exited: Promise<number | string>;
  stop(graceMs?: number): Promise<void>;
  kill(): void;
}

/** The longest log line kept: a runaway line is cut, not buffered without bound. */
const MAX_LINE = 16 * 1024;

function parseLine(text: string): Record<string, unknown> {
  const cut = text.length > MAX_LINE ? text.slice(0, MAX_LINE) : text;
  try {
    const v = JSON.parse(cut) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {}
  return { msg: cut };
}

export function startNodeProcess(spec: NodeProcessSpec, onLog: (l: NodeLogLine) => void): NodeProcess {
  const child = spawn(process.execPath, [CLI_ENTRY, 'node', '--config', spec.configFile], {
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of ['stdout', 'stderr'] as const) {
    const rl = createInterface({ input: child[stream]! });
    rl.on('line', (text) => onLog({ node: spec.name, line: parseLine(text), stream }));
  }
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  return {
    name: spec.name,
    pid: child.pid ?? -1,
    child,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    stop: async (graceMs = 5_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
