// Ordinary mistakes and hostile inputs through the `verinfer` binary: each must end in exit code
// 1 with a one-line `error:` naming the problem, and leave every directory as it was.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { before, describe, test } from 'node:test';

const repo = resolve(new URL('../..', import.meta.url).pathname);
const bin = join(repo, 'bin/verinfer.js');
const DIGITS = [
  join(repo, 'models/digits/digits.onnx'),
  '--calibration',
  join(repo, 'models/digits/calibration.json'),
];
const SPAM = [
  join(repo, 'models/spam/spam.onnx'),
  '--calibration',
  join(repo, 'models/spam/calibration.json'),
];
const TOKENIZER = join(repo, 'models/spam/tokenizer.json');
const PNG7 = join(repo, 'models/digits/samples/digit-7.png');

function cli(args: string[], cwd = repo) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function cliAsync(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: repo,
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => done({ code, stderr }));
  });
}

/** Every path under `dir` (hidden ones too) with its size and contents, to compare before/after. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        out[`${rel}${e.name}/`] = 'dir';
        walk(p, `${rel}${e.name}/`);
      } else out[rel + e.name] = readFileSync(p).toString('base64');
    }
  };
  walk(dir, '');
  return out;
}

function expectError(r: ReturnType<typeof cli>, pattern: RegExp) {
  assert.equal(r.code, 1, `exit code ${r.code}\n${r.stdout}\n${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line of stderr, got:\n${r.stderr}`);
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /This is a bug/);
}

let work: string;
let digits: string;
let spam: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'verinfer-hostile-'));
  digits = join(work, 'digits');
  spam = join(work, 'spam');
  assert.equal(cli(['model', 'import', ...DIGITS, '--out', digits, '--json']).code, 0);
  const s = cli(['model', 'import', ...SPAM, '--tokenizer', TOKENIZER, '--out', spam, '--json']);
  assert.equal(s.code, 0, s.stderr);
});

describe('--out and --force', () => {
  test('`--out . --force` in a folder with other files refuses and deletes nothing', () => {
    const folder = join(work, 'home');
    mkdirSync(join(folder, 'sub'), { recursive: true });
    writeFileSync(join(folder, 'thesis.txt'), 'years of work');
    writeFileSync(join(folder, 'sub', 'photo.png'), 'pixels');
    const before = snapshot(folder);
    expectError(cli(['model', 'import', ...DIGITS, '--out', '.', '--force'], folder), /current directory/);
    expectError(
      cli(['model', 'import', ...DIGITS, '--out', folder, '--force']),
      /not a previous model package.*nothing was deleted/,
    );
    assert.deepEqual(snapshot(folder), before);
    assert.deepEqual(
      readdirSync(work).filter((f) => f.startsWith('.')),
      [],
    );
  });

  test('--force replaces a previous package, and nothing else is left beside it', () => {
    const parent = join(work, 'replace');
    mkdirSync(parent);
    const out = join(parent, 'pkg');
    assert.equal(cli(['model', 'import', ...DIGITS, '--out', out, '--json']).code, 0);
    expectError(cli(['model', 'import', ...DIGITS, '--out', out]), /not empty.*--force/);
    const r = cli(['model', 'import', ...DIGITS, '--out', out, '--force', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(parent), ['pkg']);
    assert.deepEqual(readdirSync(out).sort(), ['manifest.json', 'model.vrnf']);
  });

  test('an --out that is a file, under a file, or not permitted', () => {
    const file = join(work, 'a-file');
    writeFileSync(file, 'keep');
    expectError(cli(['model', 'import', ...DIGITS, '--out', file]), /existing file, not a directory/);
    expectError(cli(['model', 'import', ...DIGITS, '--out', join(file, 'x')]), /not a directory/);
    expectError(
      cli(['model', 'import', ...DIGITS, '--out', '/proc/verinfer-nope/x']),
      /Cannot (create|write to)/,
    );
    expectError(cli(['model', 'import', ...DIGITS, '--out', '/proc/verinfer-nope']), /Cannot write to/);
    assert.equal(readFileSync(file, 'utf8'), 'keep');
  });

  test('a read-only --out parent', { skip: process.getuid?.() === 0 && 'root may write anywhere' }, () => {
    const ro = join(work, 'ro');
    mkdirSync(ro, { mode: 0o555 });
    expectError(cli(['model', 'import', ...DIGITS, '--out', join(ro, 'pkg')]), /permission denied/);
    assert.deepEqual(readdirSync(ro), []);
  });

  test('--out is checked before the import starts', () => {
    const full = join(work, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'x'), 'x');
    // The ONNX file does not exist: the error is about --out, so --out was checked first.
    expectError(
      cli(['model', 'import', join(work, 'nope.onnx'), '--calibration', 'x.json', '--out', full]),
      /--out .* is not empty/,
    );
  });
});

describe('bad tokenizer and bad packages', () => {
  test('a missing, malformed or invalid --tokenizer creates nothing', () => {
    const bad = join(work, 'bad-tokenizer.json');
    writeFileSync(bad, '{"kind": "words-v1"');
    const invalid = join(work, 'invalid-tokenizer.json');
    writeFileSync(invalid, '{"kind": "bpe"}');
    const before = snapshot(work);
    const out = join(work, 'tok-out');
    expectError(
      cli(['model', 'import', ...SPAM, '--tokenizer', join(work, 'nope.json'), '--out', out]),
      /Cannot read tokenizer file .*does not exist/,
    );
    expectError(
      cli(['model', 'import', ...SPAM, '--tokenizer', bad, '--out', out]),
      /Tokenizer file .* is not valid JSON/,
    );
    expectError(
      cli(['model', 'import', ...SPAM, '--tokenizer', invalid, '--out', out]),
      /not a valid tokenizer: .*"kind"/,
    );
    assert.deepEqual(snapshot(work), before);
  });

  test('a package without its tokenizer, or with a manifest path outside the package', () => {
    const manifest = JSON.parse(readFileSync(join(spam, 'manifest.json'), 'utf8'));
    const input = join(repo, 'models/spam/samples/spam.txt');
    const outside = join(work, 'spam-outside');
    cpSync(spam, outside, { recursive: true });
    for (const path of ['../spam/tokenizer.json', '/etc/passwd', 'a/../../x', '']) {
      const files = { ...manifest.files, tokenizer: path };
      writeFileSync(join(outside, 'manifest.json'), JSON.stringify({ ...manifest, files }));
      expectError(cli(['model', 'run', outside, '--input', input]), /not a file inside the package/);
    }
    const noTok = join(work, 'spam-no-tokenizer');
    cpSync(spam, noTok, { recursive: true });
    rmSync(join(noTok, 'tokenizer.json'));
    expectError(cli(['model', 'run', noTok, '--input', input]), /missing its tokenizer/);
    expectError(cli(['model', 'inspect', noTok]), /missing its tokenizer/);
    const files = { model: 'model.vrnf' };
    writeFileSync(join(noTok, 'manifest.json'), JSON.stringify({ ...manifest, files }));
    expectError(cli(['model', 'run', noTok, '--input', input]), /has no tokenizer/);
  });
});

describe('--trace', () => {
  test('a --trace that is a file, or a folder that is not a trace, is left alone', () => {
    const file = join(work, 'trace-file');
    writeFileSync(file, 'keep');
    expectError(
      cli(['model', 'run', digits, '--input', PNG7, '--trace', file]),
      /existing file, not a directory/,
    );
    assert.equal(readFileSync(file, 'utf8'), 'keep');
    const other = join(work, 'not-a-trace');
    mkdirSync(other);
    writeFileSync(join(other, 'notes.md'), 'mine');
    const before = snapshot(other);
    expectError(
      cli(['model', 'run', digits, '--input', PNG7, '--trace', other, '--force']),
      /not a previous trace/,
    );
    assert.deepEqual(snapshot(other), before);
  });

  test('--force replaces a previous trace only', () => {
    const trace = join(work, 'trace7');
    assert.equal(cli(['model', 'run', digits, '--input', PNG7, '--trace', trace]).code, 0);
    expectError(cli(['model', 'run', digits, '--input', PNG7, '--trace', trace]), /not empty/);
    assert.equal(cli(['model', 'run', digits, '--input', PNG7, '--trace', trace, '--force']).code, 0);
    assert.ok(existsSync(join(trace, 'trace.json')));
    assert.deepEqual(
      readdirSync(work).filter((f) => f.startsWith('.')),
      [],
    );
  });
});

describe('inputs', () => {
  test('/dev/zero fails at the size limit', () => {
    expectError(cli(['model', 'run', spam, '--input', '/dev/zero']), /larger than the limit of 64 MiB/);
    expectError(cli(['model', 'run', digits, '--input', work]), /is a directory/);
  });

  test("a PNG's size is checked from its header, before it is decoded", () => {
    // 20000x20000 declared in the IHDR chunk; the rest need not be a real image.
    const header = Buffer.alloc(33);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(header, 0);
    header.writeUInt32BE(13, 8);
    header.write('IHDR', 12, 'latin1');
    header.writeUInt32BE(20000, 16);
    header.writeUInt32BE(20000, 20);
    header[24] = 8;
    header[25] = 6;
    const huge = join(work, 'huge.png');
    writeFileSync(huge, Buffer.concat([header, Buffer.alloc(4096)]));
    expectError(cli(['model', 'run', digits, '--input', huge]), /is 20000x20000; the model needs 28x28/);
    writeFileSync(join(work, 'fake.png'), 'not a png');
    expectError(cli(['model', 'run', digits, '--input', join(work, 'fake.png')]), /not a readable PNG/);
  });

  test('empty, binary and non-UTF-8 text is refused; long text is cut with a warning', () => {
    const file = (name: string, bytes: string | Buffer) => {
      writeFileSync(join(work, name), bytes);
      return join(work, name);
    };
    expectError(cli(['model', 'run', spam, '--input', file('empty.txt', '')]), /is empty/);
    expectError(cli(['model', 'run', spam, '--input', file('blank.txt', ' \n\t\n')]), /is empty/);
    expectError(
      cli(['model', 'run', spam, '--input', file('bin.txt', Buffer.from([0x68, 0x00, 0x69]))]),
      /binary data/,
    );
    expectError(
      cli(['model', 'run', spam, '--input', file('latin1.txt', Buffer.from('caf\xe9 cr\xe8me', 'latin1'))]),
      /not valid UTF-8/,
    );
    const long = cli([
      'model',
      'run',
      spam,
      '--input',
      file('long.txt', 'win money now '.repeat(100)),
      '--json',
    ]);
    assert.equal(long.code, 0, long.stderr);
    assert.match(
      long.stderr,
      /^warning: .* has 300 tokens; the model reads the first 64, so 236 were dropped\.\n$/,
    );
    assert.ok(Array.isArray(JSON.parse(long.stdout).top), '`top` is always an array');
  });
});

describe('concurrent writers and interruptions', () => {
  test('two imports into one --out: one succeeds, the other gets a named error', async () => {
    const out = join(work, 'race');
    const [a, b] = await Promise.all([
      cliAsync(['model', 'import', ...DIGITS, '--out', out, '--json']),
      cliAsync(['model', 'import', ...DIGITS, '--out', out, '--json']),
    ]);
    assert.deepEqual([a.code, b.code].sort(), [0, 1], `${a.stderr}\n${b.stderr}`);
    const loser = a.code === 1 ? a : b;
    assert.match(
      loser.stderr,
      /^error: (Another verinfer process \(pid \d+\) is writing|--out .* is not empty)/,
    );
    assert.deepEqual(readdirSync(out).sort(), ['manifest.json', 'model.vrnf']);
  });

  test("a live writer's lock refuses a second writer; a dead writer's lock is taken over", () => {
    const out = join(work, 'locked');
    const lock = join(work, '.locked.lock');
    writeFileSync(lock, `${process.pid}\n`);
    expectError(
      cli(['model', 'import', ...DIGITS, '--out', out]),
      /Another verinfer process \(pid \d+\) is writing/,
    );
    assert.ok(!existsSync(out));
    assert.equal(readFileSync(lock, 'utf8'), `${process.pid}\n`, 'the other writer keeps its lock');
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    writeFileSync(lock, `${gone.stdout}\n`);
    assert.equal(cli(['model', 'import', ...DIGITS, '--out', out, '--json']).code, 0);
    assert.ok(!existsSync(lock));
  });

  test('Ctrl-C in the middle of a write removes the staging folder and the lock', () => {
    const dir = join(work, 'interrupted');
    mkdirSync(dir);
    const script = join(dir, 'interrupt.ts');
    writeFileSync(
      script,
      `import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { reserveOutput } from ${JSON.stringify(join(repo, 'src/store/outputDir.ts'))};
const r = await reserveOutput(${JSON.stringify(join(dir, 'trace'))}, { kind: 'trace' });
await r.commit(async (staging) => {
  writeFileSync(join(staging, 'op-0000.bin'), new Uint8Array(1 << 20));
  process.kill(process.pid, 'SIGINT');
  await new Promise(() => setInterval(() => {}, 1000));
});
`,
    );
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8' });
    assert.equal(r.signal, 'SIGINT', r.stderr);
    assert.deepEqual(readdirSync(dir), ['interrupt.ts']);
    assert.ok(statSync(script).isFile());
  });
});
