// The node's libp2p key, which fixes its PeerId. A node keeps its PeerId across restarts (its
// AgentRegistry endpoint and its signed peer binding name that PeerId), so the key is either derived
// from secret bytes or persisted once in a file.
import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { generateKeyPairFromSeed, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { VerinferError } from '../errors/base.ts';

export class PeerKeyError extends VerinferError {
  override name = 'PeerKeyError' as const;
}

const SEED_TAG = 'verinfer-peer-key/1';
const MIN_SECRET_BYTES = 16;
const MAX_KEY_FILE_BYTES = 4096;

/**
 * The Ed25519 key derived from `secret` (at least 16 bytes): the same bytes always give the same
 * PeerId. The secret is hashed with a domain tag, so reusing an agent's key material here does not
 * expose it.
 */
export async function peerKeyFromSecret(secret: Uint8Array): Promise<PrivateKey> {
  if (secret.length < MIN_SECRET_BYTES) {
    throw new PeerKeyError(`A peer key secret of ${secret.length} bytes is too short.`, {
      metaMessages: [`Give at least ${MIN_SECRET_BYTES} bytes of secret randomness.`],
    });
  }
  const seed = createHash('sha256').update(SEED_TAG).update(secret).digest();
  return generateKeyPairFromSeed('Ed25519', new Uint8Array(seed));
}

/** The key as libp2p's protobuf bytes, the form kept in a key file. */
export function encodePeerKey(key: PrivateKey): Uint8Array {
  return privateKeyToProtobuf(key);
}

export function decodePeerKey(bytes: Uint8Array): PrivateKey {
  try {
    return privateKeyFromProtobuf(bytes);
  } catch (cause) {
    throw new PeerKeyError('The peer key bytes are not a libp2p private key.', { cause });
  }
}

/**
 * Reads the key at `file`, or creates it (mode 0600) if the file does not exist. Creation writes a
 * temporary file and renames it, so a crash never leaves a half-written key.
 */
export async function loadOrCreatePeerKey(file: string): Promise<PrivateKey> {
  let bytes: Buffer | undefined;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new PeerKeyError(`The peer key file "${file}" cannot be read.`, { cause: err });
    }
  }
  if (bytes) {
    if (bytes.length > MAX_KEY_FILE_BYTES) {
      throw new PeerKeyError(`The peer key file "${file}" is ${bytes.length} bytes; it is not a key file.`);
    }
    return decodePeerKey(new Uint8Array(bytes));
  }
  const key = await peerKeyFromSecret(randomBytes(32));
  const tmp = `${file}.${process.pid}.tmp`;
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(encodePeerKey(key));
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new PeerKeyError(`The peer key file "${file}" cannot be written.`, { cause: err });
  }
  return key;
}
