// Shared state of the lowering pass: graph queries, value definitions and elementwise regions.
import { UnsupportedOpError } from '../../errors/base.ts';
import { binaryFn, clipBounds, unaryFn } from '../float/elementwise.ts';
import { type FTensor, isUniform, sameShape, sizeOf } from '../float/tensor.ts';
import type { DynGraph } from '../fold.ts';
import type { OnnxNode } from '../parse.ts';
import { unsupportedNode } from '../supported.ts';
import { materializeTokenTable, TOKEN_RESHAPES, type TokenChain } from './tokens.ts';
import type { Act, AOp, AValue, Probe, QuantSpec } from './types.ts';

/** Elementwise ops that can join a lookup-table region. */
export const REGION_OPS = new Set([
  'Abs',
  'Add',
  'Celu',
  'Clip',
  'Cos',
  'Div',
  'Elu',
  'Erf',
  'Exp',
  'Gelu',
  'HardSigmoid',
  'HardSwish',
  'LeakyRelu',
  'Log',
  'Max',
  'Mean',
  'Min',
  'Mish',
  'Mul',
  'Neg',
  'Pow',
  'Reciprocal',
  'Relu',
  'Selu',
  'Sigmoid',
  'Sign',
  'Sin',
  'Softplus',
  'Softsign',
  'Sqrt',
  'Sub',
  'Sum',
  'Tanh',
  'ThresholdedRelu',
  // Comparisons and selection of values derived from the same activation (e.g. where(x > 0, x, a*x)).
  'Equal',
  'Greater',
  'GreaterOrEqual',
  'Less',
  'LessOrEqual',
  'Not',
  'Where',
]);

export class Lowering {
  readonly g: DynGraph;
  readonly ops: AOp[] = [];
  readonly values = new Map<string, AValue>();
  readonly probes: Probe[] = [];
  readonly claimed = new Set<OnnxNode>();
  readonly warnings: string[] = [];
  private readonly producer = new Map<string, OnnxNode>();
  private readonly consumerMap = new Map<string, OnnxNode[]>();
  /** Source tensor of every tensor computed inside an elementwise region. */
  private readonly regionSrc = new Map<string, string>();
  private readonly order = new Map<OnnxNode, number>();
  private readonly aliases = new Map<string, string>();
  /** Pad nodes folded into their consumer: padded tensor -> unpadded input and [top, left, bottom, right]. */
  readonly pendingPads = new Map<string, { x: string; pads: [number, number, number, number] }>();
  /** Tensors that are elementwise functions of the token ids (see tokens.ts). */
  private readonly tokenRegion = new Set<string>();
  /** The Expand that broadcast each token-region tensor computed after one. */
  private readonly tokenExpand = new Map<string, OnnxNode>();
  /** Gather outputs that tabulate a function of the token ids. */
  readonly tokenTables = new Set<string>();
  private counter = 0;

  constructor(g: DynGraph) {
    this.g = g;
    g.nodes.forEach((n, i) => {
      this.order.set(n, i);
      for (const o of n.outputs) if (o) this.producer.set(o, n);
      for (const inp of n.inputs) {
        if (!inp || this.isConst(inp)) continue;
        const list = this.consumerMap.get(inp) ?? [];
        if (!list.includes(n)) list.push(n);
        this.consumerMap.set(inp, list);
      }
    });
  }

  isConst(name: string): boolean {
    return this.g.consts.has(name);
  }

  constOf(name: string): FTensor | undefined {
    return this.g.consts.get(name);
  }

  shape(name: string): number[] {
    const s = this.g.shapes.get(name) ?? this.values.get(name)?.shape ?? this.g.consts.get(name)?.shape;
    if (!s) throw new UnsupportedOpError(`No shape is known for tensor "${name}".`);
    return s;
  }

  consumers(name: string): OnnxNode[] {
    return this.consumerMap.get(name) ?? [];
  }

  /** The only consumer of `name`, if it has exactly one and is not the graph output. */
  soleConsumer(name: string): OnnxNode | null {
    const c = this.consumers(name);
    if (c.length !== 1 || name === this.g.output || this.claimed.has(c[0])) return null;
    return c[0];
  }

  /** Dynamic inputs of a node (non-empty, non-constant). */
  dynInputs(node: OnnxNode): string[] {
    return node.inputs.filter((i) => i && !this.isConst(i));
  }

  /** The constant operand of a binary node whose other operand is `x`, or undefined. */
  otherConst(node: OnnxNode, x: string): { value: FTensor; index: number } | undefined {
    if (node.inputs.length !== 2) return undefined;
    const k = node.inputs[0] === x ? 1 : node.inputs[1] === x ? 0 : -1;
    if (k < 0) return undefined;
    const value = this.constOf(node.inputs[k]);
    return value ? { value, index: k } : undefined;
  }

  fresh(base: string): string {
    this.counter += 1;
    return `${base}#${this.counter}`;
  }

  probe(tensor: string, fn?: (v: number) => number): QuantSpec {
    this.probes.push({ tensor, fn });
    return { kind: 'calib', probe: this.probes.length - 1 };
  }

  /** Records value `name` with its ONNX (batch-1) shape; batch.ts later puts the batch axis first. */
  define(node: OnnxNode | string, name: string, shape: number[], quant: QuantSpec): string {
    if (!shape.every((d) => Number.isInteger(d) && d >= 1)) {
      const where = typeof node === 'string' ? node : `node "${node.name}" (${node.opType})`;
      throw new UnsupportedOpError(
        `Tensor "${name}" of ${where} has shape [${shape.join(',')}] with an empty or unknown axis.`,
      );
    }
    if (this.values.has(name)) throw new UnsupportedOpError(`Tensor "${name}" is defined twice.`);
    this.values.set(name, { name, shape: [...shape], quant });
    return name;
  }

  /** Makes `name` another name of `target` (Identity-like nodes). */
  alias(name: string, target: string): void {
    this.aliases.set(name, target);
  }

  emit(op: AOp): void {
    this.ops.push(op);
  }

  claim(...nodes: OnnxNode[]): void {
    for (const n of nodes) this.claimed.add(n);
  }

  // --- elementwise regions -------------------------------------------------------------------

  /** If `node` can join an elementwise region, records it and returns true. */
  tryRegion(node: OnnxNode): boolean {
    if (!REGION_OPS.has(node.opType) || node.outputs.length !== 1) return false;
    const srcs = new Set<string>();
    for (let k = 0; k < node.inputs.length; k++) {
      const name = node.inputs[k];
      if (!name) continue;
      const c = this.constOf(name);
      if (c) {
        if (!isUniform(c)) return false;
        continue;
      }
      srcs.add(this.regionSrc.get(name) ?? name);
    }
    if (srcs.size !== 1) return false;
    const src = [...srcs][0];
    if (this.g.intTensors.has(src) || !sameShape(this.shape(src), this.shape(node.outputs[0]))) return false;
    this.regionSrc.set(node.outputs[0], src);
    return true;
  }

  /**
   * If `node` is an elementwise function of the token ids (scalar constants), records it. A
   * reshape of such a function (an attention mask's `mask[:, None, None, :]`) keeps every value
   * in its place in row-major order, so it stays one: the region goes on through it. So does one
   * Expand with a constant shape (`expand_as(scores)`): elementwise ops commute with it, and
   * tokens.ts applies it after the table.
   */
  tryTokenRegion(node: OnnxNode): boolean {
    const ids = this.g.input.name;
    if (!this.g.input.isInt || node.outputs.length !== 1) return false;
    const out = node.outputs[0];
    if (TOKEN_RESHAPES.has(node.opType) || node.opType === 'Expand') {
      const [x, ...rest] = node.inputs;
      if (!this.tokenRegion.has(x) || this.tokenExpand.has(x) || !rest.every((i) => !i || this.isConst(i)))
        return false;
      this.tokenRegion.add(out);
      if (node.opType === 'Expand') this.tokenExpand.set(out, node);
      return true;
    }
    if (!REGION_OPS.has(node.opType) && node.opType !== 'Cast') return false;
    const expands = new Set<OnnxNode | undefined>();
    for (const name of node.inputs) {
      if (!name) continue;
      const c = this.constOf(name);
      if (c) {
        if (!isUniform(c)) return false;
        continue;
      }
      if (name !== ids && !this.tokenRegion.has(name)) return false;
      expands.add(this.tokenExpand.get(name));
    }
    // Operands broadcast differently (one expanded, one not) would not be a function of one id.
    if (expands.size !== 1) return false;
    const expand = [...expands][0];
    // Scalar constants cannot add elements: the same shape means no operand was broadcast up.
    if (expand) {
      if (!sameShape(this.shape(expand.outputs[0]), this.shape(out))) return false;
      this.tokenExpand.set(out, expand);
    } else if (sizeOf(this.shape(ids)) !== sizeOf(this.shape(out))) return false;
    this.tokenRegion.add(out);
    return true;
  }

  /** True if `name` is an elementwise function of the token ids (maybe broadcast once). */
  isTokenFunction(name: string): boolean {
    return this.tokenRegion.has(name);
  }

  /** The nodes computing token-region tensor `t` from the ids, in graph order. */
  tokenChain(t: string): TokenChain {
    const nodes = new Set<OnnxNode>();
    const stack = [t];
    while (stack.length > 0) {
      const name = stack.pop() as string;
      const p = this.tokenRegion.has(name) ? this.producer.get(name) : undefined;
      if (!p || nodes.has(p)) continue;
      nodes.add(p);
      for (const i of p.inputs) if (i) stack.push(i);
    }
    return {
      nodes: [...nodes].sort((a, b) => (this.order.get(a) ?? 0) - (this.order.get(b) ?? 0)),
      expand: this.tokenExpand.get(t),
    };
  }

  /** Makes sure value `name` exists (materializing an elementwise region as a lookup table). */
  use(name: string): string {
    const target = this.aliases.get(name);
    if (target !== undefined) return this.use(target);
    if (this.values.has(name)) return name;
    if (this.tokenRegion.has(name)) return materializeTokenTable(this, name, this.tokenChain(name));
    if (this.pendingPads.has(name))
      throw new UnsupportedOpError(
        `The padded tensor "${name}" is used by an op that cannot absorb the padding.`,
      );
    const src = this.regionSrc.get(name);
    if (src === undefined) throw new UnsupportedOpError(`Tensor "${name}" is used before it is computed.`);
    this.use(src);
    this.emit({
      kind: 'lut',
      name: this.producer.get(name)?.name ?? name,
      x: src,
      out: name,
      fn: this.regionFunction(src, name),
    });
    this.define(name, name, this.shape(name), this.probe(name));
    return name;
  }

  /** The scalar function from region source `src` to region tensor `t`. */
  regionFunction(src: string, t: string): (v: number) => number {
    const nodes = new Set<OnnxNode>();
    const stack = [t];
    while (stack.length > 0) {
      const name = stack.pop() as string;
      if (name === src || this.isConst(name)) continue;
      const p = this.producer.get(name);
      if (!p || nodes.has(p)) continue;
      nodes.add(p);
      for (const i of p.inputs) if (i) stack.push(i);
    }
    const steps = [...nodes]
      .sort((a, b) => (this.order.get(a) ?? 0) - (this.order.get(b) ?? 0))
      .map((n) => ({ node: n, fn: this.scalarOp(n) }));
    return (v: number) => {
      const vals = new Map<string, number>([[src, v]]);
      const get = (name: string) => vals.get(name) ?? (this.constOf(name) as FTensor).data[0];
      for (const { node, fn } of steps) vals.set(node.outputs[0], fn(node.inputs.filter((i) => i).map(get)));
      return vals.get(t) as number;
    };
  }

  private scalarOp(node: OnnxNode): (args: number[]) => number {
    if (node.opType === 'Clip') {
      const c = (k: number) => (node.inputs[k] ? this.constOf(node.inputs[k]) : undefined);
      const [lo, hi] = clipBounds(node, c(1), c(2));
      return (a) => (a[0] < lo ? lo : Math.min(a[0], hi));
    }
    if (node.opType === 'Mean') return (a) => a.reduce((p, q) => p + q, 0) / a.length;
    if (node.opType === 'Where') return (a) => (a[0] ? a[1] : a[2]);
    const u = unaryFn(node);
    if (u) return (a) => u(a[0]);
    const b = binaryFn(node.opType, false, node);
    if (!b) throw unsupportedNode(node);
    return (a) => a.slice(1).reduce(b, a[0]);
  }

  // --- fused activations ---------------------------------------------------------------------

  /** Absorbs a following Relu or constant Clip into the op that produces `out`. */
  fuseAct(out: string): { out: string; act: Act | null } {
    const c = this.soleConsumer(out);
    if (!c || c.inputs[0] !== out) return { out, act: null };
    if (c.opType === 'Relu') {
      this.claim(c);
      return { out: c.outputs[0], act: { lo: 0, hi: Number.POSITIVE_INFINITY } };
    }
    if (c.opType === 'Clip') {
      const bound = (k: number) => (c.inputs[k] ? this.constOf(c.inputs[k]) : undefined);
      if ((c.inputs[1] && !bound(1)) || (c.inputs[2] && !bound(2))) return { out, act: null };
      const [lo, hi] = clipBounds(c, bound(1), bound(2));
      this.claim(c);
      return { out: c.outputs[0], act: { lo, hi } };
    }
    return { out, act: null };
  }

  fail(node: OnnxNode, why: string): never {
    throw unsupportedNode(node, why);
  }
}
