// The committed WebAssembly engine: rebuilt bit for bit by scripts/buildWasm.ts, and free of
// relaxed-SIMD instructions (whose results may differ between CPUs).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { binaryModuleSource, buildEngineWasm } from '../../scripts/buildWasm.ts';
import { engineBytes } from '../../src/engine/wasm/index.ts';

/** The body of section `id` of a module. */
function section(wasm: Uint8Array, id: number): Uint8Array {
  let p = 8;
  const leb = () => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = wasm[p++];
      v |= (b & 0x7f) << shift;
      if (b < 0x80) return v >>> 0;
      shift += 7;
    }
  };
  while (p < wasm.length) {
    const sid = wasm[p++];
    const size = leb();
    if (sid === id) return wasm.subarray(p, p + size);
    p += size;
  }
  throw new Error(`no section ${id}`);
}

/**
 * Positions of relaxed-SIMD opcodes in a code section: the 0xfd prefix and an LEB128 opcode in
 * 0x100..0x113, i.e. the bytes fd [80..93] 02 (a superset: an immediate could also match).
 */
function relaxedOpcodes(code: Uint8Array): number[] {
  const hits: number[] = [];
  for (let i = 0; i + 2 < code.length; i++) {
    if (code[i] === 0xfd && code[i + 1] >= 0x80 && code[i + 1] <= 0x93 && code[i + 2] === 0x02) hits.push(i);
  }
  return hits;
}

test('the engine module has no relaxed-SIMD instruction', () => {
  const code = section(engineBytes(), 10);
  assert.ok(code.length > 1000);
  assert.deepEqual(relaxedOpcodes(code), []);
});

test('the scan finds a relaxed-SIMD opcode (i32x4.relaxed_dot_i8x16_i7x16_s, 0xfd 0x112)', () => {
  assert.deepEqual(relaxedOpcodes(Uint8Array.of(0x20, 0x00, 0xfd, 0x92, 0x02, 0x0b)), [2]);
});

test('the engine uses SIMD128 (i32x4.dot_i16x8_s, 0xfd 0xba 0x01)', () => {
  const code = section(engineBytes(), 10);
  assert.ok(Buffer.from(code).includes(Buffer.from([0xfd, 0xba, 0x01])));
});

test('npm run build:wasm reproduces the committed binary exactly', () => {
  const rebuilt = buildEngineWasm();
  assert.ok(Buffer.from(rebuilt).equals(Buffer.from(engineBytes())), 'rebuilt .wasm differs');
  const committed = readFileSync(new URL('../../src/engine/wasm/binary.ts', import.meta.url), 'utf8');
  assert.equal(binaryModuleSource(rebuilt), committed);
});
