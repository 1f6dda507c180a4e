import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { privateKeyToAccount } from 'viem/accounts';
import {
  decryptKeystore,
  encryptKey,
  exportKey,
  importKey,
  KeystoreError,
  loadKey,
  newKey,
  readPassword,
  WrongPasswordError,
} from './keystore.ts';

const FAST = { scryptN: 1024 };
const KEY = `0x${'4c'.repeat(32)}` as const;
const dir = mkdtempSync(join(tmpdir(), 'verinfer-keys-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('keystore (Web3 Secret Storage v3)', () => {
  it('decrypts the pbkdf2 test vector of the Web3 Secret Storage definition', () => {
    const vector = {
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
      id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
      version: 3,
    };
    const { privateKey } = decryptKeystore(vector, 'testpassword');
    assert.equal(privateKey, '0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d');
  });

  it('refuses scrypt parameters the KDF cannot run with a clean error', () => {
    const ks = encryptKey(KEY, 'right', FAST);
    const bad = { ...ks, crypto: { ...ks.crypto, kdfparams: { ...ks.crypto.kdfparams, n: 262144, r: 1 } } };
    assert.throws(() => decryptKeystore(bad, 'right'), KeystoreError);
  });

  it('round-trips a key through a file', () => {
    const file = join(dir, 'a.json');
    const { address } = importKey(file, KEY, 'correct horse', FAST);
    assert.equal(address, privateKeyToAccount(KEY).address);
    assert.equal(exportKey(file, 'correct horse'), KEY);
    assert.equal(loadKey(file, 'correct horse').address, address);
    assert.equal(statSync(file).mode & 0o777, 0o600, 'owner-only file');
    assert.ok(!readFileSync(file, 'utf8').includes(KEY.slice(2)), 'the key is not in the file in clear');
  });

  it('generates new keys and never overwrites a file unless forced', () => {
    const file = join(dir, 'b.json');
    const { address } = newKey(file, 'pw', FAST);
    assert.equal(loadKey(file, 'pw').address, address);
    assert.throws(
      () => newKey(file, 'pw', FAST),
      (e: Error) => e instanceof KeystoreError && /already exists/.test(e.message),
    );
    const again = newKey(file, 'pw', { ...FAST, force: true });
    assert.notEqual(again.address, address);
  });

  it('tells a wrong password from a damaged file', () => {
    const ks = encryptKey(KEY, 'right', FAST);
    assert.throws(() => decryptKeystore(ks, 'wrong'), WrongPasswordError);
    const tampered = { ...ks, crypto: { ...ks.crypto, ciphertext: `00${ks.crypto.ciphertext.slice(2)}` } };
    assert.throws(
      () => decryptKeystore(tampered, 'right'),
      WrongPasswordError,
      'a changed ciphertext fails the MAC',
    );
    const cases: [unknown, RegExp][] = [
      [{ ...ks, version: 4 }, /version/],
      [null, /not a JSON object/],
      [{ ...ks, crypto: { ...ks.crypto, cipher: 'aes-256-gcm' } }, /cipher/],
      [{ ...ks, crypto: { ...ks.crypto, mac: 'zz' } }, /mac/],
      [
        { ...ks, crypto: { ...ks.crypto, kdfparams: { ...ks.crypto.kdfparams, n: 2 ** 30 } } },
        /kdfparams\.n/,
      ],
      [{ ...ks, crypto: { ...ks.crypto, kdfparams: { ...ks.crypto.kdfparams, n: 1000 } } }, /power of two/],
      [{ ...ks, crypto: { ...ks.crypto, kdf: 'argon2' } }, /kdf/],
      [{ ...ks, address: '00'.repeat(20) }, /not the address of the key/],
    ];
    for (const [bad, pattern] of cases)
      assert.throws(
        () => decryptKeystore(bad, 'right'),
        (e: Error) => e instanceof KeystoreError && pattern.test(e.message),
      );
    const junk = join(dir, 'junk.json');
    writeFileSync(junk, 'not json');
    assert.throws(() => loadKey(junk, 'x'), /malformed/);
    assert.throws(() => loadKey(join(dir, 'missing.json'), 'x'), /Cannot read the keystore/);
  });

  it('reads a password from a file or a named environment variable', () => {
    const file = join(dir, 'pw.txt');
    writeFileSync(file, 'from-file\nignored\n');
    assert.equal(readPassword({ file }), 'from-file');
    assert.equal(readPassword({ envName: 'MY_PW' }, { MY_PW: 'from-env' }), 'from-env');
    assert.throws(() => readPassword({ envName: 'MY_PW' }, {}), /set the environment variable MY_PW/);
    assert.throws(() => encryptKey(KEY, '', FAST), /non-empty password/);
  });
});
