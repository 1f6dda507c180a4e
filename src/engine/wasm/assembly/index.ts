// The whole-graph engine: one call runs a compiled plan, a sequence of op records in linear
// memory laid out by src/engine/wasm/plan.ts. Each record is [words, opcode, op index, params...].
// Integer arithmetic only, except double estimates that exact integer comparisons then correct.
import { P } from './arith';
import { conv } from './conv';
import { matmul, matmulDirect, opHook } from './gemm';
import { layernorm } from './norm';
import { binary, copyRows, gather, lut, reducemean } from './ops';
import { pool } from './pool';
import { softmax } from './softmax';
import { transpose } from './transpose';

export { keccak256, merkleRoot, tensorRoot, tensorRoots } from './keccak';

/** First free byte after the module's own data: plans and tensors live above it. */
export function heapBase(): usize {
  return __heap_base;
}

/**
 * Runs `count` records starting at `plan`. Returns -1 when every op ran, else the op index of
 * the record that failed (a token id out of range; the position is in its error word).
 */
export function run(plan: usize, count: i32): i32 {
  let rec = plan;
  for (let i = 0; i < count; i++) {
    const words = P(rec, 0);
    const code = P(rec, 1);
    const r = rec + 12;
    switch (code) {
      case 1:
        conv(r);
        break;
      case 2:
        if (P(r, 27)) matmulDirect(r);
        else matmul(r);
        break;
      case 3:
        binary(r, false);
        break;
      case 14:
        binary(r, true);
        break;
      // lut, softmax and layernorm may run elsewhere (the native kernels), like conv and matmul;
      // the size passed is the element count.
      case 4:
        if (!opHook(4, r, <f64>P(r, 3))) lut(r);
        break;
      case 5:
        pool(r, false);
        break;
      case 6:
        pool(r, true);
        break;
      case 7:
        reducemean(r);
        break;
      case 8:
        if (!opHook(8, r, <f64>P(r, 3) * <f64>P(r, 4))) softmax(r);
        break;
      case 9:
        if (!opHook(9, r, <f64>P(r, 4) * <f64>P(r, 5))) layernorm(r);
        break;
      case 10:
        if (gather(r)) return P(rec, 2);
        break;
      case 12:
        transpose(r);
        break;
      case 20:
        copyRows(r);
        break;
      default:
        unreachable();
    }
    rec += (<usize>words) << 2;
  }
  return -1;
}
