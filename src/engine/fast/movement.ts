// Fast kernels of the data-movement ops: gather, transpose and concat.
import type { ConcatOp, TransposeOp } from '../graph.ts';
import { TokenOutOfRangeError } from '../reference/shape.ts';
import { odometerOffsets, stridesOf } from '../tensor.ts';
import { type Exec, product } from './kernels.ts';

export function compileGather(tableShape: number[], tableId: number, idsId: number): Exec {
  const [V, D] = tableShape;
  return (values, y) => {
    const table = values[tableId] as Uint8Array;
    const ids = values[idsId];
    for (let p = 0; p < ids.length; p++) {
      const id = ids[p];
      if (id < 0 || id >= V) throw new TokenOutOfRangeError(id, V, p);
      const src = id * D;
      const dst = p * D;
      if (D <= 512) {
        for (let d = 0; d < D; d++) y[dst + d] = table[src + d];
      } else {
        y.set(table.subarray(src, src + D), dst);
      }
    }
  };
}

export function compileTranspose(op: TransposeOp, xShape: number[], outShape: number[]): Exec {
  const inStrides = stridesOf(xShape);
  const s = op.perm.map((p) => inStrides[p]);
  const rank = outShape.length;
  const inner = outShape[rank - 1];
  const step = s[rank - 1];
  const outerDims = outShape.slice(0, rank - 1);
  const outer = product(outerDims);
  const bases = odometerOffsets(outerDims, s);
  const xId = op.inputs[0];
  return (values, y) => {
    const x = values[xId] as Uint8Array;
    let o = 0;
    for (let r = 0; r < outer; r++) {
      let p = bases[r];
      for (let k = 0; k < inner; k++) {
        y[o++] = x[p];
        p += step;
      }
    }
  };
}

export function compileConcat(op: ConcatOp, inShapes: number[][], outShape: number[]): Exec {
  const outer = product(outShape.slice(0, op.axis));
  const inner = product(outShape.slice(op.axis + 1));
  const rowLen = outShape[op.axis] * inner;
  const lens = inShapes.map((s) => s[op.axis] * inner);
  const ids = op.inputs;
  return (values, y) => {
    let offset = 0;
    for (let k = 0; k < ids.length; k++) {
      const x = values[ids[k]] as Uint8Array;
      const len = lens[k];
      for (let o = 0; o < outer; o++) y.set(x.subarray(o * len, (o + 1) * len), o * rowLen + offset);
      offset += len;
    }
  };
}
