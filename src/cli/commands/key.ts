// `verinfer key new | import | export`: encrypted keystore files. Passwords and keys come from a
// file or an environment variable, never from the command line (argv is visible to other users).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Hex } from 'viem';
import { importKey, KeystoreError, loadKey, newKey, readPassword } from '../../node/keystore.ts';

interface PasswordOptions {
  passwordFile?: string;
  passwordEnv: string;
  json?: boolean;
}

const password = (o: PasswordOptions) => readPassword({ file: o.passwordFile, envName: o.passwordEnv });

function withPassword(cmd: Command): Command {
  return cmd
    .option('--password-file <file>', 'read the password from the first line of this file')
    .option(
      '--password-env <name>',
      'read the password from this environment variable',
      'VERINFER_KEY_PASSWORD',
    )
    .option('--json', 'print one machine-readable JSON object');
}

export function registerKey(program: Command): void {
  const key = program
    .command('key')
    .description('Create, import and export encrypted node keys (Web3 Secret Storage v3)');
  withPassword(
    key
      .command('new')
      .description('Generate a key and write it encrypted')
      .requiredOption('--out <file>', 'keystore file to create')
      .option('--force', 'overwrite an existing file'),
  ).action((o: PasswordOptions & { out: string; force?: boolean }) => {
    const { address } = newKey(o.out, password(o), { force: o.force });
    console.log(o.json ? JSON.stringify({ address, keystore: o.out }) : `created ${o.out} for ${address}`);
  });
  withPassword(
    key
      .command('import')
      .description('Encrypt an existing private key into a keystore')
      .requiredOption('--out <file>', 'keystore file to create')
      .option('--private-key-file <file>', 'file holding the 0x-prefixed private key')
      .option(
        '--private-key-env <name>',
        'environment variable holding the private key',
        'VERINFER_PRIVATE_KEY',
      )
      .option('--force', 'overwrite an existing file'),
  ).action(
    (
      o: PasswordOptions & { out: string; force?: boolean; privateKeyFile?: string; privateKeyEnv: string },
    ) => {
      const raw = o.privateKeyFile
        ? readFileSync(o.privateKeyFile, 'utf8').split(/\r?\n/)[0].trim()
        : process.env[o.privateKeyEnv];
      if (!raw) throw new KeystoreError(`No private key: pass --private-key-file or set ${o.privateKeyEnv}.`);
      const { address } = importKey(o.out, raw as Hex, password(o), { force: o.force });
      console.log(
        o.json ? JSON.stringify({ address, keystore: o.out }) : `imported ${address} into ${o.out}`,
      );
    },
  );
  withPassword(
    key
      .command('export')
      .description('Decrypt a keystore and print its private key (or only its address)')
      .requiredOption('--keystore <file>', 'keystore file')
      .option('--address-only', 'print the address, not the key'),
  ).action((o: PasswordOptions & { keystore: string; addressOnly?: boolean }) => {
    if (o.addressOnly) {
      const { address } = loadKey(o.keystore, password(o));
      console.log(o.json ? JSON.stringify({ address }) : address);
      return;
    }
    // exportKey's job, with the address too (one scrypt run, not two).
    const { address, privateKey } = loadKey(o.keystore, password(o));
    console.log(o.json ? JSON.stringify({ address, privateKey }) : privateKey);
  });
}
