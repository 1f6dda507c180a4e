// End to end through the `verinfer` binary: import both example models, run them on both
// backends, and check that bad input gets a clear error, exit code 1, and no partial output.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';

const bin = new URL('../../bin/verinfer.js', import.meta.url).pathname;

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'verinfer-cli-'));
});

describe('help', () => {
  for (const args of [
    ['--help'],
    ['model', '--help'],
    ['model', 'import', '--help'],
    ['model', 'run', '--help'],
    ['model', 'inspect', '--help'],
  ]) {
    test(`verinfer ${args.join(' ')}`, () => {
      const r = cli(...args);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Usage: verinfer/);
    });
  }
});

describe('example models through the CLI', () => {
  test('digits: import, run on both backends with equal roots, save the trace', () => {
    const out = join(work, 'digits');
    const imp = cli(
      'model',
      'import',
      'models/digits/digits.onnx',
      '--calibration',
      'models/digits/calibration.json',
      '--out',
      out,
      '--labels',
      '0,1,2,3,4,5,6,7,8,9',
    );
    assert.equal(imp.code, 0, imp.stderr);
    assert.match(imp.stdout, /model ID\s+0x[0-9a-f]{64}/);
    assert.match(imp.stdout, /agreement\s+top-1/);
    const png = 'models/digits/samples/digit-7.png';
    const fast = JSON.parse(
      cli('model', 'run', out, '--input', png, '--json', '--backend', 'fast', '--trace', join(work, 'trace7'))
        .stdout,
    );
    const ref = JSON.parse(
      cli('model', 'run', out, '--input', png, '--json', '--backend', 'reference').stdout,
    );
    // The same results, and each names the backend that computed them.
    assert.match(fast.backend, /^(native \(\w+\)|wasm)$/);
    assert.equal(ref.backend, 'reference');
    assert.deepEqual({ ...fast, backend: 'x' }, { ...ref, backend: 'x' });
    assert.deepEqual(fast.top, [7]);
    assert.match(fast.traceRoot, /^0x[0-9a-f]{64}$/);
    const trace = JSON.parse(readFileSync(join(work, 'trace7', 'trace.json'), 'utf8'));
    assert.equal(trace.traceRoot, fast.traceRoot);
    assert.equal(trace.ops.at(-1).root, fast.outputRoot);
    const human = cli('model', 'run', out, '--input', png);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /top\s+7 \(/);
  });

  test('spam: import with its tokenizer, classify the spam and the ham samples', () => {
    const out = join(work, 'spam');
    const imp = cli(
      'model',
      'import',
      'models/spam/spam.onnx',
      '--calibration',
      'models/spam/calibration.json',
      '--tokenizer',
      'models/spam/tokenizer.json',
      '--labels',
      'ham,spam',
      '--out',
      out,
    );
    assert.equal(imp.code, 0, imp.stderr);
    const spam = JSON.parse(
      cli('model', 'run', out, '--input', 'models/spam/samples/spam.txt', '--json').stdout,
    );
    const ham = JSON.parse(
      cli('model', 'run', out, '--input', 'models/spam/samples/ham.txt', '--json', '--backend', 'reference')
        .stdout,
    );
    assert.deepEqual(spam.top, [1]);
    assert.deepEqual(ham.top, [0]);
    const spamRef = JSON.parse(
      cli('model', 'run', out, '--input', 'models/spam/samples/spam.txt', '--json', '--backend', 'reference')
        .stdout,
    );
    assert.equal(spamRef.traceRoot, spam.traceRoot);
  });
});

describe('bad input', () => {
  const expectError = (r: ReturnType<typeof cli>, pattern: RegExp) => {
    assert.equal(r.code, 1, `exit code ${r.code}\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, 'no stack trace for user errors');
  };

  test('a missing ONNX file', () => {
    expectError(
      cli(
        'model',
        'import',
        join(work, 'nope.onnx'),
        '--calibration',
        'models/digits/calibration.json',
        '--out',
        join(work, 'x1'),
      ),
      /Cannot read ONNX model/,
    );
    assert.ok(!existsSync(join(work, 'x1')));
  });

  test('a truncated ONNX file leaves no output directory', () => {
    const bytes = readFileSync('models/digits/digits.onnx');
    const cut = join(work, 'cut.onnx');
    writeFileSync(cut, bytes.subarray(0, bytes.length >> 1));
    const r = cli(
      'model',
      'import',
      cut,
      '--calibration',
      'models/digits/calibration.json',
      '--out',
      join(work, 'x2'),
    );
    assert.equal(r.code, 1, r.stderr);
    assert.ok(!existsSync(join(work, 'x2')));
    assert.deepEqual(
      readdirSync(work).filter((f) => f.includes('partial')),
      [],
    );
  });

  test('a malformed calibration file', () => {
    const bad = join(work, 'bad-calibration.json');
    writeFileSync(bad, '[[1, 2], [3]]');
    const r = cli(
      'model',
      'import',
      'models/digits/digits.onnx',
      '--calibration',
      bad,
      '--out',
      join(work, 'x3'),
    );
    assert.equal(r.code, 1, r.stderr);
    assert.ok(!existsSync(join(work, 'x3')));
  });

  test('inputs of the wrong shape, type or syntax', () => {
    const out = join(work, 'digits');
    const wrongShape = join(work, 'wrong-shape.json');
    writeFileSync(wrongShape, JSON.stringify({ shape: [1, 1, 27, 28], data: new Array(27 * 28).fill(0) }));
    expectError(cli('model', 'run', out, '--input', wrongShape), /shape/i);
    const notJson = join(work, 'not.json');
    writeFileSync(notJson, '{ nope');
    expectError(cli('model', 'run', out, '--input', notJson), /not valid JSON/);
    const txt = join(work, 'text.txt');
    writeFileSync(txt, 'hello');
    expectError(cli('model', 'run', out, '--input', txt), /no tokenizer/);
    expectError(cli('model', 'run', out, '--input', 'models/digits/digits.onnx'), /neither \.json nor \.png/);
  });

  test('an unknown backend and a missing model package', () => {
    expectError(
      cli(
        'model',
        'run',
        join(work, 'digits'),
        '--input',
        'models/digits/samples/digit-7.png',
        '--backend',
        'gpu',
      ),
      /Unknown backend "gpu"/,
    );
    expectError(
      cli('model', 'run', work, '--input', 'models/digits/samples/digit-7.png'),
      /not a model package/,
    );
  });

  test('a non-empty output directory is refused', () => {
    expectError(
      cli(
        'model',
        'import',
        'models/digits/digits.onnx',
        '--calibration',
        'models/digits/calibration.json',
        '--out',
        work,
      ),
      /not empty/,
    );
  });
});
