// Model packages fetched from the dashboard server and checked against the chain: a package is
// used only if its model root is the one the task or registry names, and its tokenizer only if
// its hash is the one committed in the model. A server that lies is caught here, not trusted.
import type { Hex } from 'viem';
import { keccak256, toHex } from '../../../src/commit/keccak.ts';
import { modelRoot } from '../../../src/commit/modelRoot.ts';
import { decodeModel } from '../../../src/engine/format.ts';
import type { Model } from '../../../src/engine/graph.ts';
import { loadTokenizerSpec, type TokenizerSpec } from '../../../src/examples/spamTokenizer.ts';

/** The bounds of src/store/modelDir.ts: a package beyond them is refused before it is read. */
const MAX_MODEL_BYTES = 256 * 1024 * 1024;
const MAX_TOKENIZER_BYTES = 64 * 1024 * 1024;

export interface CheckedPackage {
  root: Hex;
  model: Model;
  tokenizer?: TokenizerSpec;
  /** Bytes fetched, for the page to say what it checked. */
  bytes: number;
}

export class PackageError extends Error {
  override name = 'PackageError';
}

async function fetchBounded(url: string, max: number, what: string): Promise<Uint8Array> {
  const res = await fetch(url, { cache: 'no-store' });
  if (!res.ok) throw new PackageError(`The dashboard server has no ${what} (${res.status}).`);
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > max) throw new PackageError(`The ${what} is ${declared} bytes, over the ${max}-byte bound.`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (bytes.length > max) throw new PackageError(`The ${what} is over the ${max}-byte bound.`);
  return bytes;
}

const cache = new Map<Hex, Promise<CheckedPackage>>();

async function load(root: Hex): Promise<CheckedPackage> {
  const bytes = await fetchBounded(`./api/models/${root}/model.vrnf`, MAX_MODEL_BYTES, 'model file');
  const model = decodeModel(bytes);
  const got = toHex(modelRoot(model)).toLowerCase();
  if (got !== root)
    throw new PackageError(
      `The package served for ${root} has model root ${got}: it is not the model on chain.`,
    );
  let tokenizer: TokenizerSpec | undefined;
  let size = bytes.length;
  if (model.meta.tokenizerHash !== undefined) {
    const raw = await fetchBounded(`./api/models/${root}/tokenizer.json`, MAX_TOKENIZER_BYTES, 'tokenizer');
    if (toHex(keccak256(raw)) !== model.meta.tokenizerHash)
      throw new PackageError('The tokenizer served does not match the hash committed in the model.');
    tokenizer = loadTokenizerSpec(JSON.parse(new TextDecoder().decode(raw)));
    size += raw.length;
  }
  return { root, model, tokenizer, bytes: size };
}

/** The checked package of `root` (fetched once per page). */
export function packageOf(root: Hex): Promise<CheckedPackage> {
  const key = root.toLowerCase() as Hex;
  let p = cache.get(key);
  if (!p) {
    p = load(key);
    p.catch(() => cache.delete(key));
    cache.set(key, p);
  }
  return p;
}
