// Accumulates the tensors, constants and ops of the integer model.
import { type DType, elementCount, type Op, type TensorData, type TensorInfo } from '../../engine/graph.ts';
import { ModelFormatError } from '../../errors/base.ts';
import { MASKED_AT_MOST } from '../lower/tokens.ts';
import type { AValue } from '../lower/types.ts';
import { type QParams, qparamsFor, quantizeMultiplier, type Requant } from './params.ts';

export class Builder {
  readonly tensors: TensorInfo[] = [];
  readonly ops: Op[] = [];
  readonly consts = new Map<number, TensorData>();
  readonly warnings: string[] = [];
  /** Elements of weight, bias, normalization and embedding constants. */
  parameterCount = 0;
  private readonly ids = new Map<string, number>();
  private readonly qp = new Map<string, QParams>();
  private readonly values: Map<string, AValue>;
  private readonly ranges: [number, number][];
  private readonly names = new Set<string>();

  constructor(values: Map<string, AValue>, ranges: [number, number][]) {
    this.values = values;
    this.ranges = ranges;
  }

  private uniqueName(base: string): string {
    let name = base;
    for (let k = 2; this.names.has(name); k++) name = `${base}~${k}`;
    this.names.add(name);
    return name;
  }

  private push(info: Omit<TensorInfo, 'id' | 'name'> & { name: string }): number {
    const id = this.tensors.length;
    this.tensors.push({ ...info, id, name: this.uniqueName(info.name) });
    return id;
  }

  constTensor(
    name: string,
    dtype: DType,
    shape: number[],
    data: TensorData,
    q: QParams = { scale: 1, zeroPoint: 0 },
    isParameter = false,
  ): number {
    if (isParameter) this.parameterCount += data.length;
    if (data.length !== elementCount(shape))
      throw new ModelFormatError(`Constant "${name}" has ${data.length} values for shape [${shape}].`);
    const id = this.push({
      name,
      kind: 'const',
      dtype,
      shape: shape.length ? shape : [1],
      zeroPoint: q.zeroPoint,
      scale: q.scale,
    });
    this.consts.set(id, data);
    return id;
  }

  i32(name: string, values: ArrayLike<number>): number {
    return this.constTensor(name, 'i32', [values.length], Int32Array.from(values));
  }

  /** Quantization of a lowered value (resolved on first use). */
  q(name: string): QParams {
    const have = this.qp.get(name);
    if (have) return have;
    const v = this.values.get(name);
    if (!v) throw new ModelFormatError(`Internal error: value "${name}" is unknown.`);
    let q: QParams;
    switch (v.quant.kind) {
      case 'calib': {
        const [lo, hi] = this.ranges[v.quant.probe];
        q = qparamsFor(lo, hi);
        break;
      }
      case 'same':
        q = this.q(v.quant.as);
        break;
      case 'negated': {
        const src = this.q(v.quant.of);
        q = { scale: src.scale, zeroPoint: 255 - src.zeroPoint };
        break;
      }
      case 'softmax':
        q = { scale: 1 / 255, zeroPoint: 0 };
        break;
      case 'table': {
        let lo = 0;
        let hi = 0;
        for (const x of v.quant.data) {
          lo = Math.min(lo, x);
          hi = Math.max(hi, x);
        }
        q = qparamsFor(lo, hi);
        break;
      }
      case 'tokens':
        q = { scale: 1, zeroPoint: 0 };
        break;
      case 'masked': {
        const [lo, hi] = this.ranges[v.quant.probe];
        q = qparamsFor(lo + v.quant.lo - v.quant.margin, hi + v.quant.hi);
        break;
      }
      case 'maskTable':
        q = this.maskTableQ(v.quant.data, v.quant.adds);
        break;
    }
    this.qp.set(name, q);
    return q;
  }

  /**
   * Unmasked entries keep their values; the lowest code stands for every masked entry and lies
   * below -C, where C = (largest value of a) - (lowest value of out) + 4 output steps for each add:
   * a masked entry then takes the add below its output range whatever a is, so it saturates to
   * code 0 with any rounding of the add's multipliers.
   */
  private maskTableQ(data: Float64Array, adds: { a: string; out: string }[]): QParams {
    let lo = 0;
    let hi = 0;
    for (const x of data) {
      if (x > MASKED_AT_MOST) {
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
      }
    }
    for (const { a, out } of adds) {
      const qa = this.q(a);
      const qy = this.q(out);
      const c = qa.scale * (255 - qa.zeroPoint) - qy.scale * (0 - qy.zeroPoint) + 4 * qy.scale;
      lo = Math.min(lo, -c);
    }
    return qparamsFor(lo, hi);
  }

  /** Overrides the quantization of a value before it is created (e.g. an image input in [0, 1]). */
  setQ(name: string, q: QParams): void {
    this.qp.set(name, q);
  }

  /** A requantization factor; warns once per op when it keeps fewer than 10 significant bits. */
  requant(m: number, op: string, what = `Op "${op}"`): Requant {
    const r = quantizeMultiplier(m, what);
    if (r.mult > 0 && r.mult < 2 ** 10)
      this.warn(
        `Op "${op}": a requantization factor (${m.toExponential(2)}) keeps only ${Math.floor(Math.log2(r.mult)) + 1} significant bits.`,
      );
    return r;
  }

  warn(message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(message);
  }

  isMaskTable(name: string): boolean {
    return this.values.get(name)?.quant.kind === 'maskTable';
  }

  /** The lowered value (ONNX tensor) name of every value tensor, by tensor id. */
  valueNames(): Map<number, string> {
    return new Map([...this.ids].map(([name, id]) => [id, name]));
  }

  /** Tensor id of an existing value. */
  id(name: string): number {
    const id = this.ids.get(name);
    if (id === undefined)
      throw new ModelFormatError(`Internal error: value "${name}" is used before it is created.`);
    return id;
  }

  shape(name: string): number[] {
    return (this.values.get(name) as AValue).shape;
  }

  /** Creates the tensor of a lowered value. */
  value(name: string, kind: 'input' | 'activation'): number {
    const v = this.values.get(name);
    if (!v) throw new ModelFormatError(`Internal error: value "${name}" is unknown.`);
    const q = this.q(name);
    const dtype: DType = v.quant.kind === 'tokens' ? 'i32' : 'u8';
    const id = this.push({ name, kind, dtype, shape: v.shape, zeroPoint: q.zeroPoint, scale: q.scale });
    this.ids.set(name, id);
    return id;
  }

  /** A fresh activation tensor outside the lowered values (requantization steps). */
  extra(name: string, shape: number[], q: QParams): number {
    return this.push({
      name,
      kind: 'activation',
      dtype: 'u8',
      shape,
      zeroPoint: q.zeroPoint,
      scale: q.scale,
    });
  }
}
