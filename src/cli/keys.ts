// The signing key of the network commands: a Web3 Secret Storage (v3) keystore with a password
// file, else $VERINFER_PRIVATE_KEY, else, on a local test chain (id 31337) only, the well-known
// first account of the local-chain mnemonic. One function, so that the key source can change
// without touching the commands.
import { readFile, stat } from 'node:fs/promises';
import type { Hex } from 'viem';
import { type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import { anvilAccounts } from '../chain/anvil.ts';
import { VerinferError } from '../errors/base.ts';
import { decryptKeystore as decryptV3, KeystoreError, WrongPasswordError } from '../node/keystore.ts';

/** The chain id of Hardhat's and anvil's local chains, whose test keys are public. */
export const LOCAL_CHAIN_ID = 31337;
/** A keystore is a few hundred bytes; a password a line. */
const MAX_KEYSTORE_BYTES = 64 * 1024;
const MAX_PASSWORD_BYTES = 4 * 1024;

export class KeyError extends VerinferError {
  override name = 'KeyError' as const;
}

export interface LoadSigningKeyOptions {
  keyFile?: string;
  passwordFile?: string;
  /** The chain the key will sign for: the local test key is used only on LOCAL_CHAIN_ID. */
  chainId: number;
  env?: NodeJS.ProcessEnv;
}

export interface SigningKey {
  account: PrivateKeyAccount;
  source: 'keystore' | 'env' | 'local-test-key';
}

export async function loadSigningKey(options: LoadSigningKeyOptions): Promise<SigningKey> {
  const env = options.env ?? process.env;
  if (options.keyFile !== undefined) {
    if (options.passwordFile === undefined)
      throw new KeyError(`--key-file ${options.keyFile} needs --password-file <file> to decrypt it.`);
    const keystore = await readBounded(options.keyFile, MAX_KEYSTORE_BYTES, 'keystore');
    const password = (await readBounded(options.passwordFile, MAX_PASSWORD_BYTES, 'password file'))
      .toString('utf8')
      .replace(/\r?\n$/, '');
    const key = decryptKeystore(keystore.toString('utf8'), password, options.keyFile);
    return { account: privateKeyToAccount(key), source: 'keystore' };
  }
  if (options.passwordFile !== undefined)
    throw new KeyError(
      '--password-file is given without --key-file. Pass the keystore with --key-file <file>.',
    );
  const plain = env.VERINFER_PRIVATE_KEY;
  if (plain !== undefined && plain !== '') {
    const key = plain.trim().startsWith('0x') ? plain.trim() : `0x${plain.trim()}`;
    if (!/^0x[0-9a-fA-F]{64}$/.test(key))
      throw new KeyError(
        '$VERINFER_PRIVATE_KEY is not a private key. Set it to 32 bytes of hex (0x…64 digits).',
      );
    return { account: privateKeyToAccount(key as Hex), source: 'env' };
  }
  if (options.chainId === LOCAL_CHAIN_ID)
    return { account: privateKeyToAccount(anvilAccounts(1)[0].privateKey), source: 'local-test-key' };
  throw new KeyError(`This command sends a transaction on chain ${options.chainId}, and no key was given.`, {
    metaMessages: [
      'Pass --key-file <keystore.json> --password-file <file>, or set $VERINFER_PRIVATE_KEY.',
      `(Only a local test chain, id ${LOCAL_CHAIN_ID}, falls back to its well-known first test account.)`,
    ],
  });
}

async function readBounded(path: string, max: number, what: string): Promise<Buffer> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new KeyError(`The ${what} ${path} is not a file.`);
    if (s.size > max)
      throw new KeyError(`The ${what} ${path} has ${s.size} bytes; a ${what} has at most ${max}.`);
    return await readFile(path);
  } catch (cause) {
    if (cause instanceof KeyError) throw cause;
    throw new KeyError(`Cannot read the ${what} ${path}.`, { cause });
  }
}

/** Decrypts a v3 keystore with the node's keystore module, naming the file in every error. */
export function decryptKeystore(json: string, password: string, source = 'the keystore'): Hex {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (cause) {
    throw new KeyError(`${source} is not a v3 keystore (it is not JSON).`, { cause });
  }
  try {
    return decryptV3(value, password).privateKey;
  } catch (cause) {
    if (cause instanceof WrongPasswordError)
      throw new KeyError(`The password does not decrypt ${source} (MAC mismatch).`, {
        cause,
        metaMessages: ['Check --password-file: it holds the password on its first line.'],
      });
    if (cause instanceof KeystoreError)
      throw new KeyError(`${source} is not a usable v3 keystore: ${cause.shortMessage}`, { cause });
    throw cause;
  }
}
