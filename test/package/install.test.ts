// `npm install verinfer` in a plain Node project: pack the package, install the tarball into a
// fresh project, import it, run its CLI, deploy from it, and typecheck a TypeScript consumer.
//
// npm resolves the dependencies' metadata from the registry (--prefer-offline takes every tarball
// from the cache the repository's own install filled). With the registry unreachable, the test
// falls back to laying the package out by hand next to the repository's dependencies: that still
// proves what the package ships (dist, exports, bin), but not npm's resolution of its dependencies.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// Children run on this Node (>= 22), also where the system's is older.
const env = {
  ...process.env,
  PATH: [dirname(process.execPath), join(REPO, 'node_modules', '.bin'), process.env.PATH].join(delimiter),
  npm_config_update_notifier: 'false',
};
const run = (cmd: string, args: string[], cwd: string, timeout = 120_000) =>
  spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout });

function installByHand(tarball: string, project: string): void {
  const modules = join(project, 'node_modules');
  const own = join(modules, 'verinfer');
  mkdirSync(own, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', own, '--strip-components=1']);
  for (const name of readdirSync(join(REPO, 'node_modules'))) {
    if (name === '.bin' || name === 'verinfer') continue;
    symlinkSync(join(REPO, 'node_modules', name), join(modules, name));
  }
  mkdirSync(join(modules, '.bin'));
  symlinkSync(join(own, 'bin', 'verinfer.js'), join(modules, '.bin', 'verinfer'));
}

/** The npm command that installed the tarball, or '' when npm could not (no registry). */
function installWithNpm(tarball: string, project: string): string {
  // Set to exercise the fallback.
  if (process.env.VERINFER_INSTALL_BY_HAND) return '';
  const flags = ['install', '--no-audit', '--no-fund', tarball];
  // --offline needs every dependency's metadata cached, which an install from a lockfile does not do.
  for (const mode of ['--offline', '--prefer-offline']) {
    const out = run('npm', [...flags, mode], project);
    if (out.status === 0) return `with npm install ${mode}`;
    console.log(`# npm install ${mode} failed: ${out.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
  console.log('# npm could not install the tarball (registry unreachable?): laying it out by hand instead.');
  return '';
}

describe('the packed package installs and runs in a plain Node project', () => {
  const root = mkdtempSync(join(tmpdir(), 'verinfer-install-'));
  const project = join(root, 'project');
  let how = '';

  before(() => {
    // npm pack runs `prepare`, which builds dist/ (JavaScript, declarations, contract artifacts).
    const pack = run('npm', ['pack', '--silent', '--pack-destination', root], REPO);
    assert.equal(pack.status, 0, pack.stderr);
    const tarball = join(root, readdirSync(root).find((f) => f.endsWith('.tgz'))!);
    mkdirSync(project);
    writeFileSync(
      join(project, 'package.json'),
      '{ "name": "consumer", "private": true, "type": "module" }\n',
    );
    // onnxruntime-node's install script would fetch optional GPU binaries; the CPU ones ship inside.
    writeFileSync(join(project, '.npmrc'), 'onnxruntime-node-install=skip\n');
    how = installWithNpm(tarball, project);
    if (!how) {
      rmSync(join(project, 'node_modules'), { recursive: true, force: true });
      installByHand(tarball, project);
      how = 'by hand';
    }
    console.log(`# installed ${tarball} into ${project} ${how}`);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('imports the client from the package entry', () => {
    writeFileSync(
      join(project, 'check.mjs'),
      "import { createVerinferClient, TaskNotFoundError } from 'verinfer';\n" +
        'console.log(typeof createVerinferClient, typeof TaskNotFoundError);\n',
    );
    const out = run('node', ['check.mjs'], project);
    assert.equal(out.status, 0, `${how}: ${out.stderr}`);
    assert.equal(out.stdout.trim(), 'function function');
  });

  it('runs the CLI through npx', () => {
    const out = run('npx', ['--offline', 'verinfer', '--help'], project);
    assert.equal(out.status, 0, `${how}: ${out.stderr}`);
    assert.match(out.stdout, /Usage: verinfer/);
    assert.match(out.stdout, /demo/);
  });

  it('deploys from the packed artifacts and talks to the system through the client', () => {
    writeFileSync(
      join(project, 'deploy.mjs'),
      [
        "import { custom } from 'viem';",
        "import { createVerinferClient, TaskNotFoundError } from 'verinfer';",
        "import { deployVerinfer, startEmbeddedChain } from 'verinfer/chain';",
        'const chain = await startEmbeddedChain();',
        'const v = await deployVerinfer(chain);',
        'const client = createVerinferClient({ chain: chain.chain, transport: custom(chain.provider),',
        '  account: chain.accounts[0], contracts: v.addresses });',
        "try { await client.getTask({ taskId: '0x' + '00'.repeat(31) + '01' }); }",
        'catch (err) { console.log(err instanceof TaskNotFoundError ? err.name : String(err)); }',
        'await chain.close();',
      ].join('\n'),
    );
    const out = run('node', ['deploy.mjs'], project);
    assert.equal(out.status, 0, `${how}: ${out.stderr}`);
    assert.equal(out.stdout.trim(), 'TaskNotFoundError');
  });

  it('typechecks a TypeScript consumer against the shipped declarations', () => {
    writeFileSync(
      join(project, 'consumer.ts'),
      [
        "import { http, parseEther } from 'viem';",
        'import {',
        '  createVerinferClient,',
        '  type RequestInferenceParameters,',
        '  type RequestInferenceReturnType,',
        '  UnknownModelError,',
        '  type VerifyTaskReturnType,',
        "} from 'verinfer';",
        "const zero = '0x0000000000000000000000000000000000000000' as const;",
        'const client = createVerinferClient({',
        "  transport: http('http://127.0.0.1:8545'),",
        '  account: zero,',
        '  contracts: { taskMarket: zero, batchMarket: zero, agentRegistry: zero, modelRegistry: zero,',
        '    dataRegistry: zero, disputeGame: zero },',
        '});',
        `const p: RequestInferenceParameters = { model: '0x${'11'.repeat(32)}', input: new Uint8Array(16),`,
        "  fee: parseEther('0.01') };",
        'export async function go(): Promise<boolean> {',
        '  const r: RequestInferenceReturnType = await client.requestInference(p);',
        '  const v: VerifyTaskReturnType = await client.verifyTask({ taskId: r.taskId });',
        '  const n: bigint = await client.getBlockNumber();',
        '  return v.ok && n > 0n && !(v as unknown instanceof UnknownModelError);',
        '}',
        '// @ts-expect-error: requestInference needs a fee',
        'client.requestInference({ model: p.model, input: p.input });',
      ].join('\n'),
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2023',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['consumer.ts'],
      }),
    );
    const out = run(
      process.execPath,
      [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'],
      project,
    );
    assert.equal(out.status, 0, `${how}: ${out.stdout}${out.stderr}`);
  });
});
