// Encrypted key files in the Web3 Secret Storage v3 format (the one geth, foundry and most wallets
// read): scrypt (or pbkdf2 on import) derives 32 bytes from the password; the first 16 are the
// aes-128-ctr key, the last 16 go into the MAC = keccak256(dk[16..32] ‖ ciphertext), which tells a
// wrong password from a damaged file before anything is decrypted.
import {
  createCipheriv,
  createDecipheriv,
  pbkdf2Sync,
  randomBytes,
  randomUUID,
  scryptSync,
} from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { type Address, getAddress, type Hex, keccak256 } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { VerinferError } from '../errors/base.ts';

export class KeystoreError extends VerinferError {
  override name = 'KeystoreError' as const;
}

/** The password does not open the keystore (its MAC does not match). */
export class WrongPasswordError extends VerinferError {
  override name = 'WrongPasswordError' as const;
}

export interface KeystoreV3 {
  version: 3;
  id: string;
  address: string;
  crypto: {
    cipher: 'aes-128-ctr';
    cipherparams: { iv: string };
    ciphertext: string;
    kdf: 'scrypt' | 'pbkdf2';
    kdfparams: Record<string, number | string>;
    mac: string;
  };
}

/** scrypt cost: geth's "standard" N = 2^18. Tests pass a small N. */
export interface EncryptOptions {
  scryptN?: number;
}

const DEFAULT_N = 1 << 18;
const MAX_FILE_BYTES = 64 * 1024;
// Bounds on a file's KDF parameters, so that a hostile keystore cannot make us allocate or spin forever.
const MAX_N = 1 << 20;
const MAX_R = 16;
const MAX_P = 16;
const MAX_PBKDF2_C = 10_000_000;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const isHex = (s: unknown, bytes?: number): s is string =>
  typeof s === 'string' &&
  /^[0-9a-f]*$/i.test(s) &&
  s.length % 2 === 0 &&
  (bytes === undefined || s.length === bytes * 2);

function macOf(dk: Uint8Array, ciphertext: Uint8Array): string {
  return keccak256(Buffer.concat([dk.subarray(16, 32), ciphertext])).slice(2);
}

function scryptKey(password: string, salt: Buffer, n: number, r: number, p: number, dklen: number): Buffer {
  try {
    return scryptSync(Buffer.from(password.normalize('NFKC')), salt, dklen, {
      N: n,
      r,
      p,
      maxmem: 256 * n * r + 16 * 1024 * 1024,
    });
  } catch (cause) {
    // OpenSSL enforces RFC 7914's N < 2^(16 r); some old files break it.
    throw new KeystoreError(
      `The keystore's scrypt parameters (n=${n}, r=${r}, p=${p}) are not supported. Re-encrypt the key with \`verinfer key import\`.`,
      { cause },
    );
  }
}

export function encryptKey(privateKey: Hex, password: string, options: EncryptOptions = {}): KeystoreV3 {
  if (!/^0x[0-9a-fA-F]{64}$/.test(privateKey))
    throw new KeystoreError('A private key is 32 bytes of hex with a 0x prefix.');
  if (password.length === 0) throw new KeystoreError('Choose a non-empty password for the keystore.');
  const n = options.scryptN ?? DEFAULT_N;
  const salt = randomBytes(32);
  const iv = randomBytes(16);
  const dk = scryptKey(password, salt, n, 8, 1, 32);
  const cipher = createCipheriv('aes-128-ctr', dk.subarray(0, 16), iv);
  const ciphertext = Buffer.concat([cipher.update(Buffer.from(privateKey.slice(2), 'hex')), cipher.final()]);
  return {
    version: 3,
    id: randomUUID(),
    address: privateKeyToAccount(privateKey).address.slice(2).toLowerCase(),
    crypto: {
      cipher: 'aes-128-ctr',
      cipherparams: { iv: hex(iv) },
      ciphertext: hex(ciphertext),
      kdf: 'scrypt',
      kdfparams: { dklen: 32, n, r: 8, p: 1, salt: hex(salt) },
      mac: macOf(dk, ciphertext),
    },
  };
}

function malformed(what: string): KeystoreError {
  return new KeystoreError(`The keystore is malformed: ${what}. It must be a Web3 Secret Storage v3 file.`);
}

function deriveKey(c: Record<string, unknown>, password: string): Buffer {
  const params = c.kdfparams as Record<string, unknown> | undefined;
  if (!params || typeof params !== 'object') throw malformed('crypto.kdfparams is missing');
  const dklen = params.dklen;
  if (dklen !== 32) throw malformed('kdfparams.dklen must be 32');
  if (!isHex(params.salt) || params.salt.length === 0) throw malformed('kdfparams.salt is not hex');
  const salt = Buffer.from(params.salt, 'hex');
  const int = (v: unknown, max: number, name: string) => {
    if (!Number.isSafeInteger(v) || (v as number) < 1 || (v as number) > max)
      throw malformed(`kdfparams.${name} must be an integer in [1, ${max}]`);
    return v as number;
  };
  if (c.kdf === 'scrypt') {
    const n = int(params.n, MAX_N, 'n');
    if ((n & (n - 1)) !== 0 || n < 2) throw malformed('kdfparams.n must be a power of two');
    return scryptKey(password, salt, n, int(params.r, MAX_R, 'r'), int(params.p, MAX_P, 'p'), 32);
  }
  if (c.kdf === 'pbkdf2') {
    if (params.prf !== 'hmac-sha256') throw malformed('pbkdf2 keystores must use prf hmac-sha256');
    return pbkdf2Sync(
      Buffer.from(password.normalize('NFKC')),
      salt,
      int(params.c, MAX_PBKDF2_C, 'c'),
      32,
      'sha256',
    );
  }
  throw malformed(`kdf "${String(c.kdf)}" is not scrypt or pbkdf2`);
}

/** Decrypts a parsed keystore; throws WrongPasswordError if the MAC does not match. */
export function decryptKeystore(json: unknown, password: string): { address: Address; privateKey: Hex } {
  if (typeof json !== 'object' || json === null) throw malformed('it is not a JSON object');
  const k = json as Record<string, unknown>;
  if (k.version !== 3) throw malformed(`version is ${String(k.version)}, not 3`);
  const c = (k.crypto ?? k.Crypto) as Record<string, unknown> | undefined;
  if (!c || typeof c !== 'object') throw malformed('the "crypto" section is missing');
  if (c.cipher !== 'aes-128-ctr') throw malformed(`cipher "${String(c.cipher)}" is not aes-128-ctr`);
  const iv = (c.cipherparams as { iv?: unknown } | undefined)?.iv;
  if (!isHex(iv, 16)) throw malformed('cipherparams.iv is not 16 bytes of hex');
  if (!isHex(c.ciphertext, 32)) throw malformed('ciphertext is not 32 bytes of hex');
  if (!isHex(c.mac, 32)) throw malformed('mac is not 32 bytes of hex');
  const dk = deriveKey(c, password);
  const ciphertext = Buffer.from(c.ciphertext, 'hex');
  if (macOf(dk, ciphertext) !== c.mac.toLowerCase())
    throw new WrongPasswordError(
      'The password does not open this keystore. Check the password and try again.',
    );
  const decipher = createDecipheriv('aes-128-ctr', dk.subarray(0, 16), Buffer.from(iv, 'hex'));
  const privateKey =
    `0x${Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('hex')}` as Hex;
  const address = privateKeyToAccount(privateKey).address;
  if (typeof k.address === 'string' && k.address.length > 0) {
    const stated = k.address.startsWith('0x') ? k.address : `0x${k.address}`;
    if (stated.toLowerCase() !== address.toLowerCase())
      throw malformed(`its address ${stated} is not the address of the key inside (${address})`);
  }
  return { address: getAddress(address), privateKey };
}

function readKeystoreFile(file: string): unknown {
  let text: string;
  try {
    if (statSync(file).size > MAX_FILE_BYTES)
      throw new KeystoreError(`"${file}" is larger than 64 KiB: it is not a keystore.`);
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    if (cause instanceof KeystoreError) throw cause;
    throw new KeystoreError(`Cannot read the keystore "${file}". Check the path.`, { cause });
  }
  try {
    return JSON.parse(text);
  } catch {
    throw malformed(`"${file}" is not valid JSON`);
  }
}

function writeKeystore(file: string, keystore: KeystoreV3, force: boolean): void {
  try {
    // Owner-only, and never over an existing key unless asked: an overwritten keystore is a lost key.
    writeFileSync(file, `${JSON.stringify(keystore, null, 2)}\n`, { mode: 0o600, flag: force ? 'w' : 'wx' });
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    if (code === 'EEXIST')
      throw new KeystoreError(`"${file}" already exists. Choose another path or pass --force.`, { cause });
    throw new KeystoreError(`Cannot write the keystore "${file}".`, { cause });
  }
}

export interface KeyFileOptions extends EncryptOptions {
  force?: boolean;
}

/** Generates a key and writes it encrypted to `file`. */
export function newKey(file: string, password: string, options: KeyFileOptions = {}): { address: Address } {
  const privateKey = generatePrivateKey();
  writeKeystore(file, encryptKey(privateKey, password, options), options.force ?? false);
  return { address: privateKeyToAccount(privateKey).address };
}

/** Writes an existing private key encrypted to `file`. */
export function importKey(
  file: string,
  privateKey: Hex,
  password: string,
  options: KeyFileOptions = {},
): { address: Address } {
  const ks = encryptKey(privateKey, password, options);
  writeKeystore(file, ks, options.force ?? false);
  return { address: getAddress(`0x${ks.address}`) };
}

/** The decrypted key of `file`. */
export function loadKey(file: string, password: string): { address: Address; privateKey: Hex } {
  return decryptKeystore(readKeystoreFile(file), password);
}

/** The plain private key of `file` (for moving it to another wallet). */
export function exportKey(file: string, password: string): Hex {
  return loadKey(file, password).privateKey;
}

/** A password from a file (its first line) or from the environment variable `envName`. */
export function readPassword(
  source: { file?: string; envName?: string },
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  if (source.file) {
    let text: string;
    try {
      if (statSync(source.file).size > MAX_FILE_BYTES) throw new Error('larger than 64 KiB');
      text = readFileSync(source.file, 'utf8');
    } catch (cause) {
      throw new KeystoreError(`Cannot read the password file "${source.file}".`, { cause });
    }
    const line = text.split(/\r?\n/)[0];
    if (!line) throw new KeystoreError(`The password file "${source.file}" is empty.`);
    return line;
  }
  const name = source.envName ?? 'VERINFER_KEY_PASSWORD';
  const value = env[name];
  if (!value)
    throw new KeystoreError(`No password: set the environment variable ${name}, or pass a password file.`);
  return value;
}
