// A local anvil node (Foundry) for tests and demos against a real JSON-RPC chain. The binary comes
// from the @foundry-rs/anvil dev dependency (its platform package), or ANVIL_BIN, or `anvil` on PATH.
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { type Address, type Hex, toHex } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';

/** Anvil's default mnemonic: its ten funded accounts (10,000 ETH each) derive from it. */
export const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk';

export interface AnvilAccount {
  address: Address;
  privateKey: Hex;
}

export interface StartAnvilOptions {
  /** Port on 127.0.0.1 (default: a free one). */
  port?: number;
  /** Extra command-line arguments for anvil. */
  args?: string[];
  /** How long to wait for the node to answer JSON-RPC (ms, default 20,000). */
  timeoutMs?: number;
}

export interface AnvilNode {
  url: string;
  /** The default funded accounts, in anvil's order. */
  accounts: AnvilAccount[];
  stop(): Promise<void>;
}

const PLATFORM_PACKAGES: Record<string, string | undefined> = {
  'linux-x64': '@foundry-rs/anvil-linux-amd64',
  'linux-arm64': '@foundry-rs/anvil-linux-arm64',
  'darwin-x64': '@foundry-rs/anvil-darwin-amd64',
  'darwin-arm64': '@foundry-rs/anvil-darwin-arm64',
  'win32-x64': '@foundry-rs/anvil-win32-amd64',
};

/** The anvil executable: ANVIL_BIN, else the npm platform package, else `anvil` on PATH. */
export function anvilBinary(): string {
  if (process.env.ANVIL_BIN) return process.env.ANVIL_BIN;
  const pkg = PLATFORM_PACKAGES[`${process.platform}-${process.arch}`];
  if (pkg) {
    try {
      const manifest = createRequire(import.meta.url).resolve(`${pkg}/package.json`);
      return join(dirname(manifest), 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil');
    } catch {
      // Not installed: fall back to PATH.
    }
  }
  return 'anvil';
}

/** Anvil's default accounts (m/44'/60'/0'/0/i of ANVIL_MNEMONIC). */
export function anvilAccounts(count = 10): AnvilAccount[] {
  return Array.from({ length: count }, (_, addressIndex) => {
    const account = mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex });
    const key = account.getHdKey().privateKey;
    if (!key) throw new Error('HD key without a private key.');
    return { address: account.address, privateKey: toHex(key) };
  });
}

/** A port that was free a moment ago (anvil does not accept port 0). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('No free port.'))));
    });
  });
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
    });
    const body = (await res.json()) as { result?: unknown };
    return typeof body.result === 'string';
  } catch {
    return false;
  }
}

/** Starts anvil on 127.0.0.1, waits until it answers JSON-RPC, and stops it on stop() or exit. */
export async function startAnvil(options: StartAnvilOptions = {}): Promise<AnvilNode> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    anvilBinary(),
    ['--host', '127.0.0.1', '--port', String(port), ...(options.args ?? [])],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  let exited: string | undefined;
  let spawnError: Error | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = `code ${code}, signal ${signal}`;
      resolve();
    });
    child.once('error', (err) => {
      spawnError = err;
      exited ??= err.message;
      resolve();
    });
  });
  const killOnExit = () => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (exited === undefined && child.exitCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exit;
      clearTimeout(timer);
    }
  };

  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  while (!(await answers(url))) {
    if (exited !== undefined) {
      process.removeListener('exit', killOnExit);
      throw new Error(
        `anvil (${anvilBinary()}) exited before answering on ${url} (${exited})` +
          (spawnError ? '' : `: ${stderr.trim()}`),
      );
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`anvil did not answer on ${url} in time: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, accounts: anvilAccounts(), stop };
}
