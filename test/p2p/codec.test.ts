import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { z } from 'zod';
import {
  decodeMessage,
  encodeMessage,
  encodeVarint,
  FrameReader,
  MAX_HEADER_BYTES,
} from '../../src/p2p/codec.ts';
import { MalformedMessageError, MessageTooLargeError } from '../../src/p2p/errors.ts';
import { hex32, uintString } from '../../src/p2p/schemas.ts';

const schema = z.object({
  root: hex32,
  n: z.number().int().min(0).max(1000),
  fee: uintString(256),
  tags: z.array(z.string().max(20)).max(5),
});

const headerArb = fc.record({
  root: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `0x${Buffer.from(b).toString('hex')}`),
  n: fc.integer({ min: 0, max: 1000 }),
  fee: fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }).map((v) => v.toString()),
  tags: fc.array(fc.string({ maxLength: 20 }), { maxLength: 5 }),
});

function frame(message: Uint8Array): Uint8Array {
  const prefix = encodeVarint(message.length);
  const out = new Uint8Array(prefix.length + message.length);
  out.set(prefix);
  out.set(message, prefix.length);
  return out;
}

/** Feeds `bytes` to a reader in pieces cut at `cuts`. */
function feed(reader: FrameReader, bytes: Uint8Array, cuts: number[]): Uint8Array | undefined {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let at = 0;
  for (const p of [...points, bytes.length]) {
    const out = reader.push(bytes.subarray(at, p));
    if (out) return out;
    at = p;
  }
  return undefined;
}

test('a message survives encode, framing in random pieces, and decode', () => {
  fc.assert(
    fc.property(headerArb, fc.uint8Array({ maxLength: 3000 }), fc.array(fc.nat()), (header, body, cuts) => {
      const message = encodeMessage(schema, header, body);
      const got = feed(new FrameReader(10_000), frame(message), cuts);
      assert.ok(got, 'the frame completes');
      const decoded = decodeMessage(got, schema, 10_000);
      assert.equal(decoded.header.root, header.root.toLowerCase());
      assert.equal(decoded.header.fee, BigInt(header.fee));
      assert.deepEqual(decoded.header.tags, header.tags);
      assert.deepEqual(decoded.body, body);
    }),
    { numRuns: 300 },
  );
});

const typed = (err: unknown) => err instanceof MalformedMessageError || err instanceof MessageTooLargeError;

test('random bytes never crash the decoder, only raise typed errors', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
      try {
        decodeMessage(bytes, schema, 1000);
      } catch (err) {
        assert.ok(typed(err), `unexpected ${(err as Error).name}: ${(err as Error).message}`);
      }
    }),
    { numRuns: 2000 },
  );
});

test('random bytes with a valid envelope and random JSON only raise typed errors', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.uint8Array({ maxLength: 100 }), (json, body) => {
      const text = new TextEncoder().encode(JSON.stringify(json) ?? 'null');
      const bytes = new Uint8Array(5 + text.length + body.length);
      bytes[0] = 1;
      new DataView(bytes.buffer).setUint32(1, text.length);
      bytes.set(text, 5);
      bytes.set(body, 5 + text.length);
      try {
        decodeMessage(bytes, schema, 1000);
      } catch (err) {
        assert.ok(typed(err), `unexpected ${(err as Error).name}`);
      }
    }),
    { numRuns: 500 },
  );
});

test('random bytes through the frame reader only raise typed errors', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 64 }),
      fc.array(fc.nat()),
      fc.integer({ min: 0, max: 1 << 20 }),
      (b, cuts, max) => {
        try {
          const out = feed(new FrameReader(max), b, cuts);
          if (out) assert.ok(out.length <= max);
        } catch (err) {
          assert.ok(typed(err), `unexpected ${(err as Error).name}`);
        }
      },
    ),
    { numRuns: 2000 },
  );
});

test('the frame reader refuses an oversized prefix before any body byte', () => {
  const reader = new FrameReader(1024);
  assert.throws(() => reader.push(encodeVarint(1025)), MessageTooLargeError);
  // A prefix longer than the bound's own varint is refused on its own bytes.
  assert.throws(() => new FrameReader(100).push(new Uint8Array([0x80, 0x80])), MessageTooLargeError);
  assert.throws(() => new FrameReader(1 << 20).push(new Uint8Array([0x81, 0x00])), MalformedMessageError);
  assert.equal(
    new FrameReader(1024).push(encodeVarint(1024)),
    undefined,
    'a prefix at the bound waits for its body',
  );
});

test('decodeMessage names what is wrong', () => {
  const ok = encodeMessage(
    schema,
    { root: `0x${'ab'.repeat(32)}`, n: 1, fee: '5', tags: [] },
    new Uint8Array(10),
  );
  assert.throws(() => decodeMessage(ok, schema, 9), MessageTooLargeError);
  const v2 = ok.slice();
  v2[0] = 2;
  assert.throws(() => decodeMessage(v2, schema, 100), /version 2 is not supported/);
  const huge = ok.slice();
  new DataView(huge.buffer).setUint32(1, MAX_HEADER_BYTES + 1);
  assert.throws(() => decodeMessage(huge, schema, 100), MessageTooLargeError);
  const bad = encodeMessage(z.object({ root: z.string() }), { root: 'nope' });
  assert.throws(() => decodeMessage(bad, schema, 100), /root: expected 0x and 64 hex digits/);
  assert.throws(
    () => encodeMessage(schema, { root: 'x', n: -1, fee: '1', tags: [] } as never),
    MalformedMessageError,
  );
});
