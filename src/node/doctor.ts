// `verinfer doctor`: checks a node's config, RPC, key, stake, models and peer settings one by
// one, and says for each failure what to fix. It sends nothing.
import { multiaddr } from '@multiformats/multiaddr';
import { type Address, createPublicClient, formatEther, type Hex, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { abis } from '../chain/bindings/systemAbis.ts';
import { backendLabel, getBackend } from '../sdk/backends.ts';
import { loadConfig, type NodeConfig, readDeploymentFile } from './config.ts';
import { loadKey, readPassword } from './keystore.ts';
import { loadModels } from './models.ts';

export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do when the check fails. */
  fix?: string;
}

const message = (e: unknown) =>
  e instanceof Error ? ((e as { shortMessage?: string }).shortMessage ?? e.message) : String(e);

/** Runs every check it can; a failed check skips only the checks that need its result. */
export async function runDoctor(configFile: string, env = process.env): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const add = (c: DoctorCheck) => {
    checks.push(c);
    return c.ok;
  };
  let config: NodeConfig;
  try {
    config = loadConfig(configFile, env);
    add({ name: 'config', ok: true, detail: `${configFile}: roles ${config.roles.join(', ')}` });
  } catch (e) {
    add({
      name: 'config',
      ok: false,
      detail: e instanceof Error ? e.message : String(e),
      fix: 'Correct the fields listed above.',
    });
    return checks;
  }

  let account: Address | undefined;
  try {
    let key: Hex;
    if (config.key.privateKey) key = config.key.privateKey as Hex;
    else {
      const password = readPassword({ file: config.key.passwordFile, envName: config.key.passwordEnv }, env);
      key = loadKey(config.key.keystore as string, password).privateKey;
    }
    account = privateKeyToAccount(key).address;
    add({
      name: 'key',
      ok: true,
      detail: `${config.key.privateKey ? 'plain devnet key' : 'keystore'} for ${account}`,
    });
  } catch (e) {
    add({
      name: 'key',
      ok: false,
      detail: message(e),
      fix: `Check key.keystore and the password (file, or $${config.key.passwordEnv}); create a key with \`verinfer key new\`.`,
    });
  }

  let addresses = config.addresses;
  if (!addresses) {
    try {
      addresses = readDeploymentFile(config.deployment as string).addresses;
    } catch (e) {
      add({
        name: 'deployment',
        ok: false,
        detail: message(e),
        fix: 'Point "deployment" at the file your deployment wrote.',
      });
    }
  }

  const client = createPublicClient({ transport: http(config.rpcUrl, { retryCount: 0, timeout: 5_000 }) });
  let chainOk = false;
  try {
    const [id, block] = await Promise.all([client.getChainId(), client.getBlockNumber()]);
    chainOk = add({
      name: 'rpc',
      ok: config.chainId === undefined || config.chainId === id,
      detail: `${config.rpcUrl}: chain ${id}, block ${block}`,
      fix:
        config.chainId !== undefined && config.chainId !== id
          ? `The config says chainId ${config.chainId}.`
          : undefined,
    });
  } catch (e) {
    add({
      name: 'rpc',
      ok: false,
      detail: `${config.rpcUrl}: ${message(e)}`,
      fix: 'Start the chain (`npm start` runs a devnet) or correct rpcUrl.',
    });
  }

  if (chainOk && addresses) {
    const missing: string[] = [];
    for (const [name, address] of Object.entries(addresses)) {
      const code = await client.getCode({ address: address as Address });
      if (!code || code === '0x') missing.push(name);
    }
    add({
      name: 'contracts',
      ok: missing.length === 0,
      detail: missing.length ? `no code at ${missing.join(', ')}` : 'all 7 contracts have code',
      fix: missing.length
        ? 'The deployment is for another chain, or the chain was restarted: use its deployment file.'
        : undefined,
    });
    if (missing.length === 0 && account) {
      const registry = { address: addresses.agentRegistry as Address, abi: abis.agentRegistry } as const;
      const [info, minStake] = await Promise.all([
        client.readContract({ ...registry, functionName: 'agentInfo', args: [account] }),
        client.readContract({ ...registry, functionName: 'minStake' }),
      ]);
      const wanted = (config.worker?.stake ?? 0n) + (config.verifier?.stake ?? 0n);
      const balance = await client.getBalance({ address: account });
      if (info.registered)
        add({
          name: 'stake',
          ok: info.stake >= minStake,
          detail: `registered; stake ${formatEther(info.stake)} ETH (locked ${formatEther(info.locked)}), minimum ${formatEther(minStake)}`,
          fix: info.stake < minStake ? 'Add stake: `verinfer agent stake --amount <eth>`.' : undefined,
        });
      else
        add({
          name: 'stake',
          ok: balance > wanted && wanted >= minStake,
          detail: `not registered yet; the node will stake ${formatEther(wanted)} ETH, the account holds ${formatEther(balance)} ETH`,
          fix:
            wanted < minStake
              ? `Set worker.stake / verifier.stake to at least ${formatEther(minStake)} ETH.`
              : 'Fund the account: it needs the stake plus gas.',
        });
    }
  }

  try {
    const models = await loadModels(config.models);
    const roots = models.roots();
    let unregistered: string[] = [];
    if (chainOk && addresses)
      unregistered = (
        await Promise.all(
          roots.map(async (root) =>
            (await client.readContract({
              address: addresses.modelRegistry as Address,
              abi: abis.modelRegistry,
              functionName: 'isRegistered',
              args: [root as Hex],
            }))
              ? undefined
              : root,
          ),
        )
      ).filter((r): r is Hex => r !== undefined);
    add({
      name: 'models',
      ok: roots.length > 0 && unregistered.length === 0,
      detail: `${roots.length} model(s) loaded${unregistered.length ? `; not registered on chain: ${unregistered.join(', ')}` : ''}`,
      fix: unregistered.length ? 'Register them first: `verinfer model register <dir>`.' : undefined,
    });
  } catch (e) {
    add({ name: 'models', ok: false, detail: message(e), fix: 'Check the model directories in "models".' });
  }

  const listen = config.p2p?.listen ?? [];
  const bad = listen.filter((a) => {
    try {
      multiaddr(a);
      return false;
    } catch {
      return true;
    }
  });
  add({
    name: 'peers',
    ok: bad.length === 0,
    detail: listen.length
      ? `listening on ${listen.join(', ')}${bad.length ? `; not multiaddrs: ${bad.join(', ')}` : ''}`
      : 'no p2p listen address: chain-only node',
    fix: bad.length ? 'Use multiaddrs such as /ip4/0.0.0.0/tcp/4001.' : undefined,
  });
  add(await engineCheck(config.backend));
  return checks;
}

/** Which engine the node's backend setting runs, and on `fast` why native kernels do not run. */
export async function engineCheck(name: string): Promise<DoctorCheck> {
  try {
    const backend = await getBackend(name);
    let detail = `backend ${name} runs ${backendLabel(backend)}`;
    if (name === 'fast' && backend.name !== 'native') {
      const { loadNative } = await import('../engine/native/index.ts');
      const status = await loadNative();
      detail += status.loaded
        ? ` (native kernels loaded with paths ${status.paths.join(', ')}: no vector path, or VERINFER_NATIVE_PATH names another)`
        : ` (native kernels unavailable: ${status.reason})`;
    }
    return { name: 'engine', ok: true, detail };
  } catch (e) {
    return {
      name: 'engine',
      ok: false,
      detail: message(e),
      fix: 'Build the native kernels (`npm run build:native`, needs g++) or set "backend" to "fast".',
    };
  }
}
