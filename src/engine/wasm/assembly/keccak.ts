// keccak256 (Keccak-f[1600], rate 136 bytes, pad 0x01 ... 0x80) and the tensor roots of
// src/commit/tensorRoot.ts: leaves are the keccak256 of each 1024-byte chunk, a Merkle tree over
// them zero-padded to a power of two with parent = keccak256(left ‖ right), and
// tensorRoot = keccak256(0x54 ‖ dataRoot ‖ uint64be(len)). The round function is unrolled, with
// the 25 lanes in locals. Generated layout: lane (x, y) is a{x + 5y}. Leaves and nodes are hashed
// two at a time where they pair up (keccak2.ts).
import { keccak256x2 } from './keccak2';

export const RC: usize = memory.data<u64>([
  0x0000000000000001, 0x0000000000008082, 0x800000000000808a, 0x8000000080008000,
  0x000000000000808b, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
  0x000000000000008a, 0x0000000000000088, 0x0000000080008009, 0x000000008000000a,
  0x000000008000808b, 0x800000000000008b, 0x8000000000008089, 0x8000000000008003,
  0x8000000000008002, 0x8000000000000080, 0x000000000000800a, 0x800000008000000a,
  0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
]);

/** The last, padded block of a message. */
const PAD: usize = memory.data(136, 16);
/** 0x54 ‖ dataRoot ‖ uint64be(len). */
const TAG: usize = memory.data(48, 16);

/** keccak256 of len bytes at src, written to out (32 bytes). */
export function keccak256(src: usize, len: i32, out: usize): void {
  let a0: u64 = 0;
  let a1: u64 = 0;
  let a2: u64 = 0;
  let a3: u64 = 0;
  let a4: u64 = 0;
  let a5: u64 = 0;
  let a6: u64 = 0;
  let a7: u64 = 0;
  let a8: u64 = 0;
  let a9: u64 = 0;
  let a10: u64 = 0;
  let a11: u64 = 0;
  let a12: u64 = 0;
  let a13: u64 = 0;
  let a14: u64 = 0;
  let a15: u64 = 0;
  let a16: u64 = 0;
  let a17: u64 = 0;
  let a18: u64 = 0;
  let a19: u64 = 0;
  let a20: u64 = 0;
  let a21: u64 = 0;
  let a22: u64 = 0;
  let a23: u64 = 0;
  let a24: u64 = 0;
  let off = 0;
  let last = false;
  for (;;) {
    let p = src + <usize>off;
    if (len - off >= 136) {
      off += 136;
    } else {
      const rest = len - off;
      memory.fill(PAD, 0, 136);
      memory.copy(PAD, p, <usize>rest);
      store<u8>(PAD + <usize>rest, load<u8>(PAD + <usize>rest) ^ 0x01);
      store<u8>(PAD + 135, load<u8>(PAD + 135) ^ 0x80);
      p = PAD;
      last = true;
    }
    a0 ^= load<u64>(p, 0);
    a1 ^= load<u64>(p, 8);
    a2 ^= load<u64>(p, 16);
    a3 ^= load<u64>(p, 24);
    a4 ^= load<u64>(p, 32);
    a5 ^= load<u64>(p, 40);
    a6 ^= load<u64>(p, 48);
    a7 ^= load<u64>(p, 56);
    a8 ^= load<u64>(p, 64);
    a9 ^= load<u64>(p, 72);
    a10 ^= load<u64>(p, 80);
    a11 ^= load<u64>(p, 88);
    a12 ^= load<u64>(p, 96);
    a13 ^= load<u64>(p, 104);
    a14 ^= load<u64>(p, 112);
    a15 ^= load<u64>(p, 120);
    a16 ^= load<u64>(p, 128);
    for (let round = 0; round < 24; round++) {
      const c0 = a0 ^ a5 ^ a10 ^ a15 ^ a20;
      const c1 = a1 ^ a6 ^ a11 ^ a16 ^ a21;
      const c2 = a2 ^ a7 ^ a12 ^ a17 ^ a22;
      const c3 = a3 ^ a8 ^ a13 ^ a18 ^ a23;
      const c4 = a4 ^ a9 ^ a14 ^ a19 ^ a24;
      const d0 = c4 ^ rotl<u64>(c1, 1);
      const d1 = c0 ^ rotl<u64>(c2, 1);
      const d2 = c1 ^ rotl<u64>(c3, 1);
      const d3 = c2 ^ rotl<u64>(c4, 1);
      const d4 = c3 ^ rotl<u64>(c0, 1);
      const b0 = a0 ^ d0;
      const b5 = rotl<u64>(a3 ^ d3, 28);
      const b10 = rotl<u64>(a1 ^ d1, 1);
      const b15 = rotl<u64>(a4 ^ d4, 27);
      const b20 = rotl<u64>(a2 ^ d2, 62);
      const b1 = rotl<u64>(a6 ^ d1, 44);
      const b6 = rotl<u64>(a9 ^ d4, 20);
      const b11 = rotl<u64>(a7 ^ d2, 6);
      const b16 = rotl<u64>(a5 ^ d0, 36);
      const b21 = rotl<u64>(a8 ^ d3, 55);
      const b2 = rotl<u64>(a12 ^ d2, 43);
      const b7 = rotl<u64>(a10 ^ d0, 3);
      const b12 = rotl<u64>(a13 ^ d3, 25);
      const b17 = rotl<u64>(a11 ^ d1, 10);
      const b22 = rotl<u64>(a14 ^ d4, 39);
      const b3 = rotl<u64>(a18 ^ d3, 21);
      const b8 = rotl<u64>(a16 ^ d1, 45);
      const b13 = rotl<u64>(a19 ^ d4, 8);
      const b18 = rotl<u64>(a17 ^ d2, 15);
      const b23 = rotl<u64>(a15 ^ d0, 41);
      const b4 = rotl<u64>(a24 ^ d4, 14);
      const b9 = rotl<u64>(a22 ^ d2, 61);
      const b14 = rotl<u64>(a20 ^ d0, 18);
      const b19 = rotl<u64>(a23 ^ d3, 56);
      const b24 = rotl<u64>(a21 ^ d1, 2);
      a0 = b0 ^ (~b1 & b2);
      a1 = b1 ^ (~b2 & b3);
      a2 = b2 ^ (~b3 & b4);
      a3 = b3 ^ (~b4 & b0);
      a4 = b4 ^ (~b0 & b1);
      a5 = b5 ^ (~b6 & b7);
      a6 = b6 ^ (~b7 & b8);
      a7 = b7 ^ (~b8 & b9);
      a8 = b8 ^ (~b9 & b5);
      a9 = b9 ^ (~b5 & b6);
      a10 = b10 ^ (~b11 & b12);
      a11 = b11 ^ (~b12 & b13);
      a12 = b12 ^ (~b13 & b14);
      a13 = b13 ^ (~b14 & b10);
      a14 = b14 ^ (~b10 & b11);
      a15 = b15 ^ (~b16 & b17);
      a16 = b16 ^ (~b17 & b18);
      a17 = b17 ^ (~b18 & b19);
      a18 = b18 ^ (~b19 & b15);
      a19 = b19 ^ (~b15 & b16);
      a20 = b20 ^ (~b21 & b22);
      a21 = b21 ^ (~b22 & b23);
      a22 = b22 ^ (~b23 & b24);
      a23 = b23 ^ (~b24 & b20);
      a24 = b24 ^ (~b20 & b21);
      a0 ^= load<u64>(RC + ((<usize>round) << 3));
    }
    if (last) break;
  }
  store<u64>(out, a0, 0);
  store<u64>(out, a1, 8);
  store<u64>(out, a2, 16);
  store<u64>(out, a3, 24);
}

/**
 * The Merkle root of `leaves` 32-byte hashes at nodes, left in place of the first (leaves >= 1):
 * zero hashes pad them to a power of two and parent = keccak256(left ‖ right). The area holds
 * 32 bytes for each leaf of the padded width.
 */
export function merkleRoot(nodes: usize, leaves: i32): void {
  let width = 1;
  while (width < leaves) width <<= 1;
  memory.fill(nodes + ((<usize>leaves) << 5), 0, (<usize>(width - leaves)) << 5);
  // Each parent overwrites a node already read: parent i (at 32 i) reads nodes 2i and 2i + 1, and
  // a pair of parents i, i + 1 reads all four of its nodes before it writes.
  for (; width > 1; width >>= 1) {
    const half = width >> 1;
    let i = 0;
    for (; i + 2 <= half; i += 2) {
      const node = nodes + ((<usize>i) << 6);
      keccak256x2(node, node + 64, 64, nodes + ((<usize>i) << 5), nodes + ((<usize>i) << 5) + 32);
    }
    if (i < half) keccak256(nodes + ((<usize>i) << 6), 64, nodes + ((<usize>i) << 5));
  }
}

/**
 * tensorRoot of len bytes at src, written to out (32 bytes). scratch holds the Merkle levels:
 * 32 bytes per leaf, the leaf count rounded up to a power of two.
 */
export function tensorRoot(src: usize, len: i32, out: usize, scratch: usize): void {
  const leaves = len > 1024 ? (len + 1023) >> 10 : 1;
  let i = 0;
  // Full chunks in pairs; a lone or short last chunk on its own.
  for (; (i + 2) << 10 <= len; i += 2) {
    const at = src + ((<usize>i) << 10);
    keccak256x2(at, at + 1024, 1024, scratch + ((<usize>i) << 5), scratch + ((<usize>i) << 5) + 32);
  }
  for (; i < leaves; i++) {
    const at = i << 10;
    keccak256(src + <usize>at, min(1024, len - at), scratch + ((<usize>i) << 5));
  }
  merkleRoot(scratch, leaves);
  store<u8>(TAG, 0x54);
  memory.copy(TAG + 1, scratch, 32);
  store<u64>(TAG + 33, bswap<u64>(<u64>len));
  keccak256(TAG, 41, out);
}

/**
 * The tensor roots of count byte ranges listed at table as (address, length) i32 pairs, written
 * 32 bytes each from out: one call for a whole trace.
 */
export function tensorRoots(table: usize, count: i32, out: usize, scratch: usize): void {
  for (let k = 0; k < count; k++) {
    const e = table + ((<usize>k) << 3);
    tensorRoot(<usize>load<i32>(e), load<i32>(e, 4), out + ((<usize>k) << 5), scratch);
  }
}
