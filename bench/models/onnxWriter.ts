// A minimal ONNX writer for the benchmark models: protobuf encoded by hand, only the fields the
// importer (src/onnx/parse.ts) and onnxruntime read. Field numbers are those of onnx.proto3.
//
// Every number is written in a fixed byte form (float32 little-endian raw data, varints), and
// nodes and initializers keep their insertion order, so the same graph always gives the same bytes.

/** ONNX TensorProto element types used here. */
export const ONNX_FLOAT = 1;
export const ONNX_INT64 = 7;

class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private size = 0;

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.size += b.length;
  }

  private varint(v: bigint): void {
    // Negative int64 values take the ten-byte two's-complement form, as protobuf requires.
    let x = BigInt.asUintN(64, v);
    const out: number[] = [];
    while (x >= 0x80n) {
      out.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    out.push(Number(x));
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wire: number): void {
    this.varint(BigInt((field << 3) | wire));
  }

  int(field: number, v: number | bigint): void {
    this.tag(field, 0);
    this.varint(BigInt(v));
  }

  float(field: number, v: number): void {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
  }

  bytes(field: number, b: Uint8Array): void {
    this.tag(field, 2);
    this.varint(BigInt(b.length));
    this.push(b);
  }

  string(field: number, s: string): void {
    this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, build: (w: ProtoWriter) => void): void {
    const w = new ProtoWriter();
    build(w);
    this.bytes(field, w.finish());
  }

  packedInts(field: number, vs: readonly (number | bigint)[]): void {
    const w = new ProtoWriter();
    for (const v of vs) w.varint(BigInt(v));
    this.bytes(field, w.finish());
  }

  packedFloats(field: number, vs: readonly number[]): void {
    const b = new Uint8Array(4 * vs.length);
    const dv = new DataView(b.buffer);
    vs.forEach((v, i) => {
      dv.setFloat32(4 * i, v, true);
    });
    this.bytes(field, b);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

/** An attribute value: integers become INT, `{ float }` FLOAT, integer arrays INTS. */
export type AttrSpec = number | number[] | string | { float: number } | { floats: number[] };

export interface NodeSpec {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attrs: Record<string, AttrSpec>;
}

interface InitSpec {
  name: string;
  dims: number[];
  elemType: number;
  raw: Uint8Array;
}

interface IoSpec {
  name: string;
  elemType: number;
  /** A string is a symbolic dimension (the batch). */
  dims: (number | string)[];
}

// AttributeProto.AttributeType values.
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_FLOATS = 6;
const ATTR_INTS = 7;

function writeAttr(w: ProtoWriter, name: string, v: AttrSpec): void {
  w.string(1, name);
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new RangeError(`Attribute ${name}: use { float } for ${v}.`);
    w.int(3, v);
    w.int(20, ATTR_INT);
  } else if (typeof v === 'string') {
    w.bytes(4, new TextEncoder().encode(v));
    w.int(20, ATTR_STRING);
  } else if (Array.isArray(v)) {
    w.packedInts(8, v);
    w.int(20, ATTR_INTS);
  } else if ('float' in v) {
    w.float(2, v.float);
    w.int(20, ATTR_FLOAT);
  } else {
    w.packedFloats(7, v.floats);
    w.int(20, ATTR_FLOATS);
  }
}

function writeValueInfo(w: ProtoWriter, v: IoSpec): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, v.elemType);
      tensor.message(2, (shape) => {
        for (const d of v.dims) {
          shape.message(1, (dim) => (typeof d === 'string' ? dim.string(2, d) : dim.int(1, d)));
        }
      });
    }),
  );
}

/** Builds one ONNX graph; `encode` gives the model bytes. */
export class OnnxGraphWriter {
  private readonly nodes: NodeSpec[] = [];
  private readonly inits: InitSpec[] = [];
  private readonly names = new Set<string>();
  private readonly inputs: IoSpec[] = [];
  private readonly outputs: IoSpec[] = [];
  private counter = 0;
  readonly opset: number;

  constructor(opset = 17) {
    this.opset = opset;
  }

  /** A fresh value name with the given prefix. */
  fresh(prefix: string): string {
    this.counter += 1;
    return `${prefix}_${this.counter}`;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new RangeError(`The name "${name}" is used twice.`);
    this.names.add(name);
    return name;
  }

  input(name: string, elemType: number, dims: (number | string)[]): string {
    this.inputs.push({ name: this.claim(name), elemType, dims });
    return name;
  }

  output(name: string, elemType: number, dims: (number | string)[]): void {
    this.outputs.push({ name, elemType, dims });
  }

  /** A float32 initializer; the values must be exactly representable (they are, as k/2^n). */
  floats(name: string, dims: number[], data: Float32Array): string {
    if (data.length !== dims.reduce((p, d) => p * d, 1))
      throw new RangeError(`Initializer ${name}: ${data.length} values for [${dims.join(',')}].`);
    const raw = new Uint8Array(4 * data.length);
    const dv = new DataView(raw.buffer);
    data.forEach((v, i) => {
      dv.setFloat32(4 * i, v, true);
    });
    this.inits.push({ name: this.claim(name), dims, elemType: ONNX_FLOAT, raw });
    return name;
  }

  /** An int64 initializer (shapes, axes). */
  int64s(name: string, dims: number[], data: number[]): string {
    const raw = new Uint8Array(8 * data.length);
    const dv = new DataView(raw.buffer);
    data.forEach((v, i) => {
      dv.setBigInt64(8 * i, BigInt(v), true);
    });
    this.inits.push({ name: this.claim(name), dims, elemType: ONNX_INT64, raw });
    return name;
  }

  /** A scalar float initializer. */
  scalar(name: string, v: number): string {
    return this.floats(name, [], Float32Array.of(v));
  }

  /** Adds a node with one output (named after `prefix`) and returns the output's name. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrSpec> = {}, prefix?: string): string {
    const out = this.claim(this.fresh(prefix ?? opType.toLowerCase()));
    this.nodes.push({ opType, inputs, outputs: [out], name: `${opType}_${this.nodes.length}`, attrs });
    return out;
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  encode(producer = 'verinfer-bench'): Uint8Array {
    const m = new ProtoWriter();
    m.int(1, 8); // ir_version 8 (opset 17 era)
    m.string(2, producer);
    m.message(7, (g) => {
      for (const n of this.nodes) {
        g.message(1, (w) => {
          for (const i of n.inputs) w.string(1, i);
          for (const o of n.outputs) w.string(2, o);
          w.string(3, n.name);
          w.string(4, n.opType);
          for (const [k, v] of Object.entries(n.attrs)) w.message(5, (a) => writeAttr(a, k, v));
        });
      }
      g.string(2, 'main');
      for (const t of this.inits) {
        g.message(5, (w) => {
          w.packedInts(1, t.dims);
          w.int(2, t.elemType);
          w.string(8, t.name);
          w.bytes(9, t.raw);
        });
      }
      for (const v of this.inputs) g.message(11, (w) => writeValueInfo(w, v));
      for (const v of this.outputs) g.message(12, (w) => writeValueInfo(w, v));
    });
    m.message(8, (o) => {
      o.string(1, '');
      o.int(2, this.opset);
    });
    return m.finish();
  }
}
