// Options and output shared by the network commands.
import { InputError } from '../errors/base.ts';

export const DEFAULT_RPC_URL = 'http://127.0.0.1:8545';

/** --rpc, else $VERINFER_RPC_URL, else the devnet's default; checked to be an http(s) URL. */
export function rpcUrlOption(flag: string | undefined): string {
  const url = flag ?? process.env.VERINFER_RPC_URL ?? DEFAULT_RPC_URL;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InputError(`--rpc ${url} is not a URL. Pass an endpoint such as ${DEFAULT_RPC_URL}.`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new InputError(`--rpc ${url} is not an http(s) URL. Pass an endpoint such as ${DEFAULT_RPC_URL}.`);
  return url;
}

/** One JSON line; bigints as decimal strings (wei), byte arrays as hex. */
export function jsonLine(value: unknown): string {
  return `${JSON.stringify(value, (_k, v) => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Uint8Array) return `0x${Buffer.from(v).toString('hex')}`;
    return v;
  })}\n`;
}
