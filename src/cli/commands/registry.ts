// `verinfer model register|lineage` and `verinfer data register`: publish models and datasets in
// the registries, and follow a model's versions back to its training data.
import { readFile, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { type Address, type Hex, isAddress } from 'viem';
import { getLineage, registerDataset, registerModel } from '../../client/index.ts';
import { InputError } from '../../errors/base.ts';
import { loadModelDir } from '../../store/modelDir.ts';
import {
  connect,
  findModel,
  hex32Option,
  isRoot,
  type NetworkFlags,
  networkOptions,
  unknownModel,
} from '../network.ts';
import { jsonLine } from '../options.ts';

/** Hashing a dataset in memory: beyond this, pass its content ID instead. */
const MAX_DATA_FILE_BYTES = 256 * 1024 * 1024;
const MAX_URI = 512;

interface ModelRegisterFlags extends NetworkFlags {
  name?: string;
  version?: string;
  parent?: string;
  data?: string;
  uri?: string;
  json: boolean;
}

function uriOption(uri: string | undefined): string | undefined {
  if (uri !== undefined && (uri.length > MAX_URI || /[\s]/.test(uri)))
    throw new InputError(`--uri must be at most ${MAX_URI} characters without spaces.`);
  return uri;
}

function textOption(value: string | undefined, flag: string): string | undefined {
  if (value !== undefined && (value.length === 0 || value.length > 64))
    throw new InputError(`${flag} must be 1..64 characters.`);
  return value;
}

export function registerModelRegistry(model: Command): void {
  const reg = model
    .command('register')
    .description('Publish a model package in the ModelRegistry (name, version, parent, training data)')
    .argument('<dir>', 'model package directory (from `verinfer model import`)')
    .option('--name <name>', "the model's name (default: the package's)")
    .option('--version <version>', "this version's label (default: the package's)")
    .option('--parent <root>', "the previous version's model root, published by the same account")
    .option('--data <contentId>', 'the DataRegistry content ID of the training data')
    .option('--uri <uri>', 'where the package can be fetched')
    .option('--json', 'one JSON object on stdout', false);
  networkOptions(reg, true).action(async (dir: string, flags: ModelRegisterFlags) => {
    const info = {
      name: textOption(flags.name, '--name'),
      version: textOption(flags.version, '--version'),
      parent: flags.parent === undefined ? undefined : hex32Option(flags.parent, '--parent'),
      dataId: flags.data === undefined ? undefined : hex32Option(flags.data, '--data'),
      uri: uriOption(flags.uri),
    };
    const pkg = await loadModelDir(dir);
    const net = await connect(flags);
    const { client } = await net.writer();
    process.stderr.write(`… registering ${pkg.manifest.name} ${pkg.manifest.modelRoot}\n`);
    const r = await registerModel(client, {
      model: pkg.model,
      info: { ...info, name: info.name ?? pkg.manifest.name, version: info.version ?? pkg.manifest.version },
    });
    if (flags.json) process.stdout.write(jsonLine(r));
    else console.log(`registered  ${r.modelRoot}\ntx          ${r.txHash}`);
  });

  const lineage = model
    .command('lineage')
    .description("A model's versions as its publisher claimed them, back to the training data")
    .argument('<name|root>', 'a model of the deployment, or a model root')
    .option('--publisher <address>', 'whose claims to follow (default: the first publisher)')
    .option('--json', 'one JSON object on stdout', false);
  networkOptions(lineage, false).action(
    async (nameOrRoot: string, flags: NetworkFlags & { publisher?: string; json: boolean }) => {
      if (flags.publisher !== undefined && !isAddress(flags.publisher))
        throw new InputError(`--publisher ${flags.publisher} is not an address.`);
      const net = await connect(flags);
      const entry = findModel(net.deployment, nameOrRoot);
      if (!entry && !isRoot(nameOrRoot)) throw unknownModel(net.deployment, nameOrRoot);
      const root = (entry?.root ?? nameOrRoot).toLowerCase() as Hex;
      const l = await getLineage(net.reader, { root, publisher: flags.publisher as Address | undefined });
      if (flags.json) {
        process.stdout.write(jsonLine(l));
        return;
      }
      console.log(`publisher ${l.publisher}`);
      for (const e of l.entries) {
        console.log(`${e.modelRoot}  ${e.name} v${e.version}${e.uri ? `  ${e.uri}` : ''}`);
        if (!/^0x0*$/.test(e.dataId))
          console.log(
            `  trained on ${e.dataId}${e.dataset ? ` (${e.dataset.uri}, ${e.dataset.duplicates} duplicate registrations)` : ''}`,
          );
      }
    },
  );
}

export function registerData(program: Command): void {
  const data = program.command('data').description('Datasets in the DataRegistry');
  const reg = data
    .command('register')
    .description('Register a dataset by content ID (keccak256 of the file); a duplicate links to the first')
    .argument('<file|contentId>', 'the dataset file, or its 32-byte content ID')
    .requiredOption('--uri <uri>', 'where the dataset can be fetched')
    .option('--contributors <addresses>', 'comma-separated addresses to credit')
    .option('--json', 'one JSON object on stdout', false);
  networkOptions(reg, true).action(
    async (source: string, flags: NetworkFlags & { uri: string; contributors?: string; json: boolean }) => {
      uriOption(flags.uri);
      const contributors = (flags.contributors ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      for (const a of contributors)
        if (!isAddress(a)) throw new InputError(`Contributor ${a} is not an address.`);
      let bytes: Uint8Array | undefined;
      let contentId: Hex | undefined;
      if (source.startsWith('0x')) contentId = hex32Option(source, 'contentId');
      else {
        const s = await stat(source).catch((cause) => {
          throw new InputError(`Cannot read dataset file "${source}".`, { cause });
        });
        if (!s.isFile()) throw new InputError(`"${source}" is not a file.`);
        if (s.size === 0) throw new InputError(`Dataset file "${source}" is empty.`);
        if (s.size > MAX_DATA_FILE_BYTES)
          throw new InputError(
            `"${source}" is over ${MAX_DATA_FILE_BYTES} bytes: pass its keccak256 content ID instead.`,
          );
        bytes = new Uint8Array(await readFile(source));
      }
      const net = await connect(flags);
      const { client } = await net.writer();
      const r = await registerDataset(client, {
        contentId,
        data: bytes,
        uri: flags.uri,
        contributors: contributors as Address[],
      });
      if (flags.json) process.stdout.write(jsonLine(r));
      else
        console.log(
          `content ID  ${r.contentId}\nregistration ${r.registration}${r.isNew ? '' : ' (a duplicate: linked to the first)'}\ntx          ${r.txHash}`,
        );
    },
  );
}
