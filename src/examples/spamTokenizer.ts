/**
 * "words-v1" tokenizer of the spam example model (models/spam/tokenizer.json).
 *
 * This is a bit-exact reimplementation of the tokenizer in training/train_spam.py:
 *  1. every "\r\n" is replaced with "\n";
 *  2. the text is split at the first "\n\n" into headers (before) and body (after); without a
 *     "\n\n" the whole text is the body and there are no headers;
 *  3. subject = the value (text after "subject:") of the first header line whose ASCII-lowercased
 *     form starts with "subject:", plus its continuation lines (lines starting with " " or "\t"),
 *     joined with "\n"; empty if there is no such header;
 *  4. s = subject + "\n" + body, lowercased for ASCII A-Z only (no Unicode case mapping);
 *  5. tokens = maximal runs of ASCII [a-z0-9], left to right, each truncated to maxTokenLength
 *     characters; only the first sequenceLength tokens are kept;
 *  6. each token maps to its vocabulary index, or `unk` if absent; the result is padded with `pad`
 *     to exactly sequenceLength ids.
 */
import { VerinferError } from '../errors/base.ts';

export interface TokenizerSpec {
  readonly kind: 'words-v1';
  readonly lowercase: 'ascii';
  readonly pattern: '[a-z0-9]+';
  readonly maxTokenLength: number;
  readonly sequenceLength: number;
  readonly pad: number;
  readonly unk: number;
  readonly vocab: readonly string[];
}

const indexCache = new WeakMap<TokenizerSpec, Map<string, number>>();

function vocabIndex(spec: TokenizerSpec): Map<string, number> {
  let index = indexCache.get(spec);
  if (index === undefined) {
    index = new Map();
    for (let i = 0; i < spec.vocab.length; i++) index.set(spec.vocab[i], i);
    indexCache.set(spec, index);
  }
  return index;
}

/** A tokenizer.json that breaks the "words-v1" rules above. */
export class TokenizerSpecError extends VerinferError {
  override name = 'TokenizerSpecError' as const;
}

function fail(message: string): never {
  throw new TokenizerSpecError(`invalid tokenizer spec: ${message}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function positiveInt(obj: Record<string, unknown>, key: string, max: number): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > max) {
    fail(`"${key}" must be an integer in [1, ${max}], got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Validates a parsed tokenizer.json and returns it as a (frozen) TokenizerSpec. */
export function loadTokenizerSpec(json: unknown): TokenizerSpec {
  if (!isRecord(json)) fail('expected a JSON object');
  if (json.kind !== 'words-v1') fail(`unsupported "kind" ${JSON.stringify(json.kind)} (expected "words-v1")`);
  if (json.lowercase !== 'ascii') fail(`unsupported "lowercase" ${JSON.stringify(json.lowercase)}`);
  if (json.pattern !== '[a-z0-9]+') fail(`unsupported "pattern" ${JSON.stringify(json.pattern)}`);
  const maxTokenLength = positiveInt(json, 'maxTokenLength', 1 << 16);
  const sequenceLength = positiveInt(json, 'sequenceLength', 1 << 20);
  const vocabRaw = json.vocab;
  if (!Array.isArray(vocabRaw) || vocabRaw.length < 2) fail('"vocab" must be an array of at least 2 strings');
  const seen = new Set<string>();
  for (let i = 0; i < vocabRaw.length; i++) {
    const w: unknown = vocabRaw[i];
    if (typeof w !== 'string' || w.length === 0) fail(`vocab[${i}] must be a non-empty string`);
    if (seen.has(w)) fail(`vocab[${i}] ${JSON.stringify(w)} is a duplicate`);
    seen.add(w);
  }
  const vocab = Object.freeze(vocabRaw.slice() as string[]);
  const idField = (key: 'pad' | 'unk'): number => {
    const v = json[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v >= vocab.length) {
      fail(`"${key}" must be an integer index into vocab (0..${vocab.length - 1}), got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const pad = idField('pad');
  const unk = idField('unk');
  if (pad === unk) fail('"pad" and "unk" must differ');
  return Object.freeze({
    kind: 'words-v1',
    lowercase: 'ascii',
    pattern: '[a-z0-9]+',
    maxTokenLength,
    sequenceLength,
    pad,
    unk,
    vocab,
  });
}

/** Lowercases ASCII A-Z only; every other code unit is left unchanged. */
function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** The text that is tokenized: Subject header value + "\n" + body (see the module comment). */
export function subjectAndBody(text: string): string {
  const t = text.replaceAll('\r\n', '\n');
  const cut = t.indexOf('\n\n');
  const headers = cut < 0 ? '' : t.slice(0, cut);
  const body = cut < 0 ? t : t.slice(cut + 2);
  let subject = '';
  const lines = headers === '' ? [] : headers.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (asciiLower(lines[i]).startsWith('subject:')) {
      const parts = [lines[i].slice('subject:'.length)];
      for (let j = i + 1; j < lines.length && (lines[j].startsWith(' ') || lines[j].startsWith('\t')); j++) {
        parts.push(lines[j]);
      }
      subject = parts.join('\n');
      break;
    }
  }
  return subject + '\n' + body;
}

/** The (truncated) word tokens of `text`, at most spec.sequenceLength of them. */
export function words(text: string, spec: TokenizerSpec): string[] {
  const s = asciiLower(subjectAndBody(text));
  const out: string[] = [];
  const n = s.length;
  let i = 0;
  while (i < n && out.length < spec.sequenceLength) {
    const c = s.charCodeAt(i);
    const isWordChar = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
    if (!isWordChar) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < n) {
      const d = s.charCodeAt(j);
      if (!((d >= 0x61 && d <= 0x7a) || (d >= 0x30 && d <= 0x39))) break;
      j++;
    }
    out.push(s.slice(i, Math.min(j, i + spec.maxTokenLength)));
    i = j;
  }
  return out;
}

/** How many word tokens `text` has before truncation to spec.sequenceLength (step 5 above). */
export function wordCount(text: string): number {
  const s = asciiLower(subjectAndBody(text));
  let count = 0;
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const isWordChar = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
    if (isWordChar && !inWord) count++;
    inWord = isWordChar;
  }
  return count;
}

/** Token ids of `text`: exactly spec.sequenceLength ids, padded with spec.pad. */
export function tokenize(text: string, spec: TokenizerSpec): Int32Array {
  const index = vocabIndex(spec);
  const ids = new Int32Array(spec.sequenceLength).fill(spec.pad);
  const ws = words(text, spec);
  for (let i = 0; i < ws.length; i++) ids[i] = index.get(ws[i]) ?? spec.unk;
  return ids;
}
