import assert from 'node:assert/strict';
import { createCipheriv, randomBytes, scryptSync } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { bytesToHex, keccak256 } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { anvilAccounts } from '../chain/anvil.ts';
import { decryptKeystore, KeyError, loadSigningKey } from './keys.ts';

// The pbkdf2 test vector of the Web3 Secret Storage definition.
const PBKDF2_VECTOR = {
  version: 3,
  id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '6087dab2f9fdbbfaddc31a909735c1e6' },
    ciphertext: '5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46',
    kdf: 'pbkdf2',
    kdfparams: {
      c: 262144,
      dklen: 32,
      prf: 'hmac-sha256',
      salt: 'ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd',
    },
    mac: '517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2',
  },
};
const VECTOR_KEY = '0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d';

/** A scrypt keystore written the way geth writes one, with a small n to keep the test quick. */
function scryptKeystore(key: Buffer, password: string) {
  const salt = randomBytes(32);
  const iv = randomBytes(16);
  const derived = scryptSync(password, salt, 32, { N: 1024, r: 8, p: 1 });
  const cipher = createCipheriv('aes-128-ctr', derived.subarray(0, 16), iv);
  const ciphertext = Buffer.concat([cipher.update(key), cipher.final()]);
  const mac = keccak256(new Uint8Array([...derived.subarray(16, 32), ...ciphertext])).slice(2);
  return {
    version: 3,
    crypto: {
      cipher: 'aes-128-ctr',
      cipherparams: { iv: iv.toString('hex') },
      ciphertext: ciphertext.toString('hex'),
      kdf: 'scrypt',
      kdfparams: { dklen: 32, n: 1024, r: 8, p: 1, salt: salt.toString('hex') },
      mac,
    },
  };
}

describe('decryptKeystore', () => {
  test('the pbkdf2 vector of the v3 definition', () => {
    assert.equal(decryptKeystore(JSON.stringify(PBKDF2_VECTOR), 'testpassword'), VECTOR_KEY);
  });

  test('a scrypt keystore, and a wrong password', () => {
    const key = randomBytes(32);
    const json = JSON.stringify(scryptKeystore(key, 'pw'));
    assert.equal(decryptKeystore(json, 'pw'), bytesToHex(key));
    assert.throws(
      () => decryptKeystore(json, 'other'),
      (e) => e instanceof KeyError && /MAC mismatch/.test(e.message),
    );
  });

  test('refuses what is not a v3 keystore, and a KDF too costly to run', () => {
    assert.throws(() => decryptKeystore('{', 'x'), KeyError);
    assert.throws(() => decryptKeystore(JSON.stringify({ version: 3, crypto: {} }), 'x'), KeyError);
    const costly = scryptKeystore(randomBytes(32), 'pw');
    costly.crypto.kdfparams.n = 2 ** 21;
    assert.throws(() => decryptKeystore(JSON.stringify(costly), 'pw'), /not a usable v3 keystore/);
  });
});

describe('loadSigningKey', () => {
  test('keystore and password files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'verinfer-keys-'));
    const key = randomBytes(32);
    await writeFile(join(dir, 'key.json'), JSON.stringify(scryptKeystore(key, 'secret')));
    await writeFile(join(dir, 'pw'), 'secret\n');
    const k = await loadSigningKey({
      keyFile: join(dir, 'key.json'),
      passwordFile: join(dir, 'pw'),
      chainId: 1,
    });
    assert.equal(k.source, 'keystore');
    assert.equal(k.account.address, privateKeyToAccount(bytesToHex(key)).address);
    await assert.rejects(
      loadSigningKey({ keyFile: join(dir, 'key.json'), chainId: 1 }),
      /needs --password-file/,
    );
  });

  test('$VERINFER_PRIVATE_KEY, checked', async () => {
    const k = await loadSigningKey({ chainId: 1, env: { VERINFER_PRIVATE_KEY: VECTOR_KEY } });
    assert.equal(k.source, 'env');
    await assert.rejects(loadSigningKey({ chainId: 1, env: { VERINFER_PRIVATE_KEY: '0x12' } }), KeyError);
  });

  test('the local test key on chain 31337 only', async () => {
    const local = await loadSigningKey({ chainId: 31337, env: {} });
    assert.equal(local.source, 'local-test-key');
    assert.equal(local.account.address, anvilAccounts(1)[0].address);
    await assert.rejects(loadSigningKey({ chainId: 1, env: {} }), /no key was given/);
  });
});
