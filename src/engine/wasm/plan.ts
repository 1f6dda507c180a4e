// Compiles a model into the WebAssembly engine's memory: constants (and weights packed for the
// GEMM) once per model, then per batch size a flat plan of op records, the op outputs and one
// scratch area shared by all ops. See assembly/index.ts for the record format.
import { ModelFormatError } from '../../errors/base.ts';
import { batchedShape, elementCount, type Model, type Op, type TensorData } from '../graph.ts';
import { broadcastIndexMap, stridesOf } from '../tensor.ts';

/** Record opcode of one input of a concat (block copies); the others are OP_CODES. */
const COPY = 20;
const RANK = 6;

/** A bump allocator over the engine's linear memory (16-byte aligned, so SIMD loads are aligned). */
export class Arena {
  top: number;
  constructor(base: number) {
    this.top = align(base);
  }
  alloc(bytes: number): number {
    const at = this.top;
    this.top = align(at + Math.max(bytes, 1));
    return at;
  }
}

const align = (n: number) => Math.ceil(n / 16) * 16;
const ceil8 = (n: number) => Math.ceil(n / 8) * 8;

/** Bytes to write into memory at an offset. */
export interface Blob {
  at: number;
  bytes: Uint8Array;
}

function blobOf(data: TensorData | Int16Array | Int8Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The per-model constants in memory: raw data by tensor id, plus derived arrays by op index. */
export interface ConstLayout {
  offsets: Map<number, number>;
  derived: Map<number, Record<string, number>>;
  blobs: Blob[];
  end: number;
}

/** Per-channel (or per-column) values of an i32 constant of length 1 or n, as n values. */
function expand(data: TensorData, n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = data[data.length === 1 ? 0 : i];
  return out;
}

export function layoutConstants(model: Model, base: number): ConstLayout {
  const arena = new Arena(base);
  const offsets = new Map<number, number>();
  const blobs: Blob[] = [];
  const put = (bytes: Uint8Array) => {
    const at = arena.alloc(bytes.length);
    blobs.push({ at, bytes });
    return at;
  };
  for (const [id, data] of model.consts) offsets.set(id, put(blobOf(data)));
  const derived = new Map<number, Record<string, number>>();
  model.ops.forEach((op, i) => {
    const c = (k: number) => model.consts.get(op.inputs[k])!;
    if (op.type === 'conv') {
      const [M, Cg, KH, KW] = model.tensors[op.inputs[1]].shape;
      const K = Cg * KH * KW;
      const Kp = K + (K & 1);
      const w = c(1);
      const packed = new Int16Array(M * Kp);
      for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) packed[m * Kp + k] = w[m * K + k];
      const mult = expand(c(3), M);
      const shift = expand(c(4), M);
      derived.set(i, {
        w: put(blobOf(packed)),
        mult: put(blobOf(mult)),
        shift: put(blobOf(shift)),
        ...bytePacked(w, M, K),
        rq: put(blobOf(requantSplats(mult, shift))),
      });
    } else if (op.type === 'matmul') {
      const bInfo = model.tensors[op.inputs[1]];
      const N = bInfo.shape[bInfo.shape.length - 1];
      const K = bInfo.shape[bInfo.shape.length - 2];
      const mult = expand(c(3), N);
      const shift = expand(c(4), N);
      const S = Math.max(...shift);
      const spread = S - Math.min(...shift);
      // A common shift S keeps every rshift exact while mult * 2^(S - shift) < 2^31.
      const multN = new Int32Array(N);
      for (let j = 0; j < N; j++) multN[j] = spread <= 16 ? mult[j] * 2 ** (S - shift[j]) : 0;
      const d: Record<string, number> = {
        mult: put(blobOf(mult)),
        shift: put(blobOf(shift)),
        multN: put(blobOf(multN)),
        S,
        mode: spread <= 16 ? 0 : 1,
        small: spread <= 16 && S >= 16 && multN.every((m) => m < 2 ** 15) ? 1 : 0,
      };
      if (bInfo.kind === 'const') {
        const Kp = K + (K & 1);
        const Np = ceil8(N);
        const w = c(1);
        const slices = w.length / (K * N);
        const packed = new Int16Array(slices * Kp * Np);
        for (let s = 0; s < slices; s++) {
          for (let k = 0; k < K; k++) {
            for (let j = 0; j < N; j++) {
              packed[s * Kp * Np + ((k >> 1) * Np + j) * 2 + (k & 1)] = w[s * K * N + k * N + j];
            }
          }
        }
        d.packed = put(blobOf(packed));
        d.slice = Kp * Np * 2;
        Object.assign(d, byteColumns(w, slices, K, N, Np));
      }
      derived.set(i, d);
    }
  });
  /**
   * Weights as signed bytes for the native u8 x s8 kernels (vpdpbusd), four k per 32-bit word, and
   * their sums, which turn a sum over raw u8 codes into the sum over centred ones:
   * sum (x - zx) w = sum x w - zx sum w. The WebAssembly engine never reads them. Zero addresses
   * when a value does not fit a signed byte (a u8 constant), so that the kernels keep
   * their 16-bit path.
   */
  function bytePacked(w: TensorData, M: number, K: number) {
    const Kq = Math.ceil(K / 4) * 4;
    const bytes = new Int8Array(M * Kq);
    const sums = new Int32Array(M);
    for (let m = 0; m < M; m++) {
      for (let k = 0; k < K; k++) {
        const v = w[m * K + k];
        if (v < -128 || v > 127) return { w8: 0, wsum: 0, Kq };
        bytes[m * Kq + k] = v;
        sums[m] += v;
      }
    }
    return { w8: put(blobOf(bytes)), wsum: put(blobOf(sums)), Kq };
  }
  /**
   * Per output channel, 4 x 4 i32 for the fused requantization of assembly/requant.ts (rqSplit):
   * m, m << 16 (m in the high i16 of a lane), 2^15 m + lo and hi, where 2^(S-1) = hi 2^16 + lo,
   * each splatted over 4 lanes. All fit an i32: m < 2^15 and S <= 40.
   */
  function requantSplats(mult: Int32Array, shift: Int32Array): Int32Array {
    const out = new Int32Array(mult.length * 16);
    for (let m = 0; m < mult.length; m++) {
      const round = shift[m] > 0 ? 2 ** (shift[m] - 1) : 0;
      const at = m * 16;
      out.fill(mult[m], at, at + 4);
      out.fill(mult[m] * 2 ** 16, at + 4, at + 8);
      out.fill(2 ** 15 * mult[m] + (round % 2 ** 16), at + 8, at + 12);
      out.fill(Math.floor(round / 2 ** 16), at + 12, at + 16);
    }
    return out;
  }
  /** The same for a constant matmul b (K x N per slice): word (k >> 2) * Np + j holds b[k..k+3][j]. */
  function byteColumns(w: TensorData, slices: number, K: number, N: number, Np: number) {
    const Kq = Math.ceil(K / 4) * 4;
    const bytes = new Int8Array(slices * Kq * Np);
    const sums = new Int32Array(slices * Np);
    for (let s = 0; s < slices; s++) {
      for (let k = 0; k < K; k++) {
        for (let j = 0; j < N; j++) {
          const v = w[s * K * N + k * N + j];
          if (v < -128 || v > 127) return { b8: 0, bsum: 0, Kq, slice8: 0 };
          bytes[s * Kq * Np + ((k >> 2) * Np + j) * 4 + (k & 3)] = v;
          sums[s * Np + j] += v;
        }
      }
    }
    return { b8: put(blobOf(bytes)), bsum: put(blobOf(sums)), Kq, slice8: Kq * Np };
  }
  return { offsets, derived, blobs, end: arena.top };
}

/** The compiled run of one batch size. */
export interface BatchLayout {
  batch: number;
  /** Offset of every activation (the input and each op output) by tensor id. */
  tensorAt: Map<number, number>;
  /** Byte length of every op output, by op index. */
  outBytes: number[];
  shapes: number[][];
  plan: number;
  records: number;
  blobs: Blob[];
  /** Where a failing gather leaves the position of the bad id. */
  err: number;
  end: number;
}

/** Drops axes of size 1 and merges axes that are contiguous in every operand; pads to RANK axes. */
function collapse(dims: number[], strides: number[][]): { dims: number[]; strides: number[][] } {
  const d: number[] = [];
  const s: number[][] = strides.map(() => []);
  for (let ax = 0; ax < dims.length; ax++) {
    if (dims[ax] === 1) continue;
    const last = d.length - 1;
    if (last >= 0 && strides.every((st, k) => s[k][last] === st[ax] * dims[ax])) {
      d[last] *= dims[ax];
      strides.forEach((st, k) => {
        s[k][last] = st[ax];
      });
    } else {
      d.push(dims[ax]);
      strides.forEach((st, k) => {
        s[k].push(st[ax]);
      });
    }
  }
  if (d.length > RANK)
    throw new ModelFormatError(`An op needs ${d.length} axes; the engine handles ${RANK}.`);
  while (d.length < RANK) {
    d.unshift(1);
    for (const st of s) st.unshift(0);
  }
  return { dims: d, strides: s };
}

/** Element strides of `shape` broadcast to `outShape` (0 on broadcast axes). */
function broadcastStrides(shape: number[], outShape: number[]): number[] {
  const st = stridesOf(shape);
  return outShape.map((_, i) => {
    const j = shape.length - outShape.length + i;
    return j >= 0 && shape[j] !== 1 ? st[j] : 0;
  });
}

/** Whether a symmetric binary op should take b first: the vector path wants a contiguous a. */
function swapOperands(a: number[], b: number[], out: number[]): boolean {
  const c = collapse(out, [broadcastStrides(a, out), broadcastStrides(b, out)]);
  return c.strides[0][RANK - 1] === 0 && c.strides[1][RANK - 1] === 1;
}

export function layoutBatch(model: Model, consts: ConstLayout, batch: number): BatchLayout {
  const arena = new Arena(consts.end);
  const shapes = model.tensors.map((t) => batchedShape(t, batch));
  const tensorAt = new Map<number, number>();
  const bytesOf = (id: number) => elementCount(shapes[id]) * (model.tensors[id].dtype === 'i32' ? 4 : 1);
  tensorAt.set(model.input, arena.alloc(bytesOf(model.input)));
  const outBytes: number[] = [];
  for (const op of model.ops) {
    outBytes.push(bytesOf(op.output));
    // A reshape is the same bytes under a new shape.
    tensorAt.set(
      op.output,
      op.type === 'reshape' ? tensorAt.get(op.inputs[0])! : arena.alloc(bytesOf(op.output)),
    );
  }
  const err = arena.alloc(16);
  const words: number[] = [];
  const blobs: Blob[] = [];
  let scratch = 0;
  const scratchUses: { index: number; offset: number }[] = [];
  /** A pointer into the shared scratch area, patched once its base is known. */
  const pushScratch = (offset: number, bytes: number) => {
    scratch = Math.max(scratch, align(offset) + bytes);
    scratchUses.push({ index: words.length, offset: align(offset) });
    words.push(0);
  };
  const addr = (id: number) => {
    const at = tensorAt.get(id) ?? consts.offsets.get(id);
    if (at === undefined) throw new ModelFormatError(`Tensor ${id} has no place in memory.`);
    return at;
  };
  const i32Blob = (values: Int32Array) => {
    const at = arena.alloc(values.byteLength);
    blobs.push({ at, bytes: blobOf(values) });
    return at;
  };
  let records = 0;
  const record = (code: number, opIndex: number, params: () => void) => {
    const start = words.length;
    words.push(0, code, opIndex);
    params();
    words[start] = words.length - start;
    records += 1;
  };
  const zp = (id: number) => model.tensors[id].zeroPoint | 0;
  model.ops.forEach((op: Op, i) => {
    const ins = op.inputs.map((id) => shapes[id]);
    const out = shapes[op.output];
    const y = addr(op.output);
    const zy = zp(op.output);
    /** add (3) or mul (14) over the broadcast shapes of inputs 0 and 1, b first if `swap`. */
    const binaryRecord = (
      code: number,
      opIndex: number,
      swap: boolean,
      m1: number,
      m2: number,
      shift: number,
      q: { qmin: number; qmax: number },
    ) => {
      const [ia, ib] = swap ? [1, 0] : [0, 1];
      const c = collapse(out, [broadcastStrides(ins[ia], out), broadcastStrides(ins[ib], out)]);
      record(code, opIndex, () => {
        words.push(addr(op.inputs[ia]), addr(op.inputs[ib]), y, zp(op.inputs[ia]), zp(op.inputs[ib]));
        words.push(zy, q.qmin, q.qmax, m1, m2, shift, ...c.dims, ...c.strides[0], ...c.strides[1]);
      });
    };
    switch (op.type) {
      case 'conv': {
        const [N, C, H, W] = ins[0];
        const [M, Cg, KH, KW] = ins[1];
        const [, , OH, OW] = out;
        const K = Cg * KH * KW;
        const Kp = K + (K & 1);
        const [sh, sw] = op.strides;
        const [dh, dw] = op.dilations;
        // Stride 1 or 2 across: im2col from a padded plane, 8 outputs at a time
        // (assembly/conv.ts), whose last row overshoots by up to 7 columns; a depthwise conv
        // (one input plane, at most 3 output channels per group) sums its taps from the plane.
        const padded = sw <= 2;
        const Mg = M / op.group;
        const direct = padded && Cg === 1 && Mg < 4 ? 1 : 0;
        const Pp = ceil8(padded ? (OH - 1) * OW + ceil8(OW) : OH * OW);
        const Hp = padded ? (OH - 1) * sh + (KH - 1) * dh + 1 : 0;
        const Wp = padded ? sw * ceil8(OW) + (KW - 1) * dw : 0;
        const colBytes = direct ? 0 : align(Kp * Pp * 2);
        const accBytes = align(Mg * Pp * 4);
        // A direct conv's pair planes (assembly/depthwise.ts): NC row classes (one for sh <= 2)
        // of HR rows of Wq elements per phase, a gap of 8 after each plane, a slack of Wq + 16,
        // then its two tap tables (at least 6 entries each); its padded plane (Hx x Wx, i16, 32
        // elements of slack) and its byte row buffer.
        const kyLast = (KH - 1) & ~1;
        const NC = sh <= 2 ? 1 : sh;
        const HR = OH + Math.floor((kyLast * dh) / sh);
        const Wq = OW + Math.floor(((KW - 1) * dw) / sw);
        const pitch = HR * Wq + 8;
        const Hx = (HR - 1) * sh + NC - 1 + dh + 1;
        const Wx = sw * Wq;
        const taps = Math.max(6, (kyLast / 2 + 1) * KW);
        const xpBytes = Math.max(Cg * Hp * Wp * 2, direct ? Hx * Wx * 2 + 64 : 0);
        const qBytes = align((sw * NC * pitch + Wq + 16) * 4 + taps * 8);
        const d = consts.derived.get(i)!;
        record(1, i, () => {
          words.push(addr(op.inputs[0]), d.w, addr(op.inputs[2]), d.mult, d.shift, y);
          words.push(N, C, H, W, M, OH, OW, Cg, KH, KW, sh, sw, op.pads[0], op.pads[1]);
          words.push(dh, dw, op.group, zp(op.inputs[0]), zy, op.qmin, op.qmax);
          pushScratch(0, colBytes);
          pushScratch(colBytes, accBytes);
          words.push(Kp, Pp);
          pushScratch(colBytes + accBytes, xpBytes);
          words.push(Hp, Wp, direct, d.w8, d.wsum, d.Kq, d.rq);
          if (direct) {
            const at = colBytes + accBytes + align(xpBytes);
            pushScratch(at, qBytes);
            words.push(HR, Wq, NC, pitch, Hx, Wx);
            pushScratch(at + qBytes, Math.ceil((OH * Wq) / 16) * 16 + 16);
          }
        });
        return;
      }
      case 'matmul': {
        const [a, b] = ins;
        const rank = out.length;
        let M = out[rank - 2];
        const N = out[rank - 1];
        const K = a[a.length - 1];
        const lead = out.slice(0, rank - 2);
        let aMap = broadcastIndexMap(a.slice(0, -2), lead);
        let bMap = broadcastIndexMap(b.slice(0, -2), lead);
        const bConst = model.tensors[op.inputs[1]].kind === 'const';
        // K = N = 1 with an activation b (a gate): y = rq(bias + (a - za)(b - zb)) elementwise
        // over the broadcast shapes, the vectorised mul with the bias as its addend.
        if (K === 1 && N === 1 && !bConst) {
          const c = model.consts;
          const swap = swapOperands(ins[0], ins[1], out);
          binaryRecord(
            14,
            i,
            swap,
            c.get(op.inputs[3])![0],
            c.get(op.inputs[2])![0],
            c.get(op.inputs[4])![0],
            op,
          );
          return;
        }
        // A constant b shared by every slice of a contiguous a: one GEMM over all rows.
        if (bConst && bMap.every((v) => v === 0) && aMap.every((v, t) => v === t)) {
          M *= aMap.length;
          aMap = new Int32Array(1);
          bMap = new Int32Array(1);
        }
        const Kp = K + (K & 1);
        const Np = ceil8(N);
        const d = consts.derived.get(i)!;
        const direct = K * N <= 32 ? 1 : 0;
        record(2, i, () => {
          const bAt = bConst && !direct ? d.packed : addr(op.inputs[1]);
          words.push(addr(op.inputs[0]), bAt, addr(op.inputs[2]), d.multN, d.S, d.mode, d.mult, d.shift, y);
          words.push(aMap.length, i32Blob(aMap), i32Blob(bMap), M, K, N, Kp, Np);
          words.push(zp(op.inputs[0]), bConst ? 0 : zp(op.inputs[1]), bConst ? 1 : 0);
          const aBytes = direct ? 0 : M * Kp * 2;
          const bBytes = direct || bConst ? 0 : Kp * Np * 2;
          pushScratch(0, aBytes);
          pushScratch(aBytes, bBytes);
          pushScratch(align(aBytes) + align(bBytes), direct ? 0 : M * Np * 4);
          words.push(zy, op.qmin, op.qmax, bConst && !direct ? d.slice : 0, direct, d.small);
          const b8 = bConst && !direct ? (d.b8 ?? 0) : 0;
          words.push(b8, b8 ? d.bsum : 0, b8 ? d.Kq : 0, b8 ? d.slice8 : 0);
        });
        return;
      }
      case 'add':
      case 'mul': {
        const swap = swapOperands(ins[0], ins[1], out);
        const m1 = op.type === 'add' ? (swap ? op.multB : op.multA) : op.mult;
        const m2 = op.type === 'add' ? (swap ? op.multA : op.multB) : 0;
        binaryRecord(op.type === 'add' ? 3 : 14, i, swap, m1, m2, op.shift, op);
        return;
      }
      case 'lut':
        record(4, i, () => words.push(addr(op.inputs[0]), addr(op.inputs[1]), y, elementCount(out)));
        return;
      case 'maxpool':
      case 'avgpool': {
        const [N, C, H, W] = ins[0];
        const avg = op.type === 'avgpool';
        record(avg ? 6 : 5, i, () => {
          words.push(addr(op.inputs[0]), y, N * C, H, W, out[2], out[3], ...op.kernel, ...op.strides);
          words.push(op.pads[0], op.pads[1], zp(op.inputs[0]), zy);
          words.push(avg && op.countIncludePad ? 1 : 0, avg ? op.mult : 0, avg ? op.shift : 0);
          // The row buffer of assembly/pool.ts: every column an output reads, left padding first.
          const [sw, kw] = [op.strides[1], op.kernel[1]];
          const Wb = align(Math.max(op.pads[1] + W, sw * out[3] + kw) + 16);
          pushScratch(0, Wb * 4 + align(out[3] * 4) + out[3] * 8);
          words.push(Wb);
        });
        return;
      }
      case 'reducemean': {
        const x = ins[0];
        const outer = elementCount(x.slice(0, op.axis));
        const inner = elementCount(x.slice(op.axis + 1));
        record(7, i, () => {
          words.push(
            addr(op.inputs[0]),
            y,
            outer,
            x[op.axis],
            inner,
            zp(op.inputs[0]),
            zy,
            op.mult,
            op.shift,
          );
        });
        return;
      }
      case 'softmax': {
        const L = ins[0][ins[0].length - 1];
        record(8, i, () => {
          words.push(addr(op.inputs[0]), addr(op.inputs[1]), y, elementCount(out) / L, L);
          // The table's byte planes and a row's quotients (4 x 256 bytes), then e (i32 [L]).
          pushScratch(0, 1024 + L * 4);
        });
        return;
      }
      case 'layernorm': {
        const D = ins[0][ins[0].length - 1];
        record(9, i, () => {
          words.push(addr(op.inputs[0]), addr(op.inputs[1]), addr(op.inputs[2]), y, elementCount(out) / D, D);
          words.push(zp(op.inputs[0]), zy, (op.eps % 2 ** 32) | 0, Math.floor(op.eps / 2 ** 32));
          words.push(op.mult, op.shift, op.qmin, op.qmax);
          pushScratch(0, D * 16);
        });
        return;
      }
      case 'gather': {
        const [V, D] = ins[0];
        record(10, i, () => {
          words.push(addr(op.inputs[0]), addr(op.inputs[1]), y, elementCount(ins[1]), V, D, err);
        });
        return;
      }
      case 'reshape':
        return;
      case 'transpose': {
        const st = stridesOf(ins[0]);
        const c = collapse(out, [op.perm.map((p) => st[p]), stridesOf(out)]);
        record(12, i, () => words.push(addr(op.inputs[0]), y, ...c.dims, ...c.strides[0]));
        return;
      }
      case 'concat': {
        const outer = elementCount(out.slice(0, op.axis));
        const inner = elementCount(out.slice(op.axis + 1));
        const rowLen = out[op.axis] * inner;
        let offset = 0;
        op.inputs.forEach((id, k) => {
          const len = ins[k][op.axis] * inner;
          record(COPY, i, () => words.push(addr(id), y + offset, outer, len, len, rowLen));
          offset += len;
        });
        return;
      }
    }
  });
  const scratchAt = arena.alloc(scratch);
  for (const u of scratchUses) words[u.index] = scratchAt + u.offset;
  const plan = arena.alloc(words.length * 4);
  blobs.push({ at: plan, bytes: blobOf(Int32Array.from(words)) });
  return { batch, tensorAt, outBytes, shapes, plan, records, blobs, err, end: arena.top };
}
