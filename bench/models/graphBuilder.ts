// Assembles an integer model op by op: named tensors, constants, and output shapes inferred the
// way the validator infers them, so a mistake in a builder fails at the op that made it.
import {
  type DType,
  elementCount,
  type Model,
  type ModelMeta,
  type Op,
  type TensorData,
  type TensorInfo,
} from '../../src/engine/graph.ts';
import { inferShape } from '../../src/engine/shapes.ts';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** An op without its output tensor (the builder creates it). */
export type OpSpec = DistributiveOmit<Op, 'output'>;

/** The quantization of a u8 tensor: real value = scale · (q − zeroPoint). */
export interface Quant {
  zeroPoint: number;
  scale: number;
}

function dtypeOf(data: TensorData): DType {
  return data instanceof Uint8Array ? 'u8' : data instanceof Int8Array ? 'i8' : 'i32';
}

export class GraphBuilder {
  readonly tensors: TensorInfo[] = [];
  readonly consts = new Map<number, TensorData>();
  readonly ops: Op[] = [];
  private inputId = -1;

  private push(info: Omit<TensorInfo, 'id'>): number {
    const id = this.tensors.length;
    this.tensors.push({ id, ...info });
    return id;
  }

  input(name: string, dtype: 'u8' | 'i32', shape: number[], q: Quant = { zeroPoint: 0, scale: 1 }): number {
    this.inputId = this.push({ name, kind: 'input', dtype, shape, ...q });
    return this.inputId;
  }

  constant(name: string, data: TensorData, shape: number[], q: Quant = { zeroPoint: 0, scale: 1 }): number {
    if (data.length !== elementCount(shape)) {
      throw new Error(`Constant "${name}" has ${data.length} values for shape [${shape.join(',')}].`);
    }
    const id = this.push({ name, kind: 'const', dtype: dtypeOf(data), shape, ...q });
    this.consts.set(id, data);
    return id;
  }

  /** An i32 vector constant (biases, multipliers, shifts, exp tables). */
  i32(name: string, values: ArrayLike<number>): number {
    return this.constant(name, Int32Array.from(values), [values.length]);
  }

  /** Appends `op` and returns its new output tensor, named after the op. */
  op(spec: OpSpec, q: Quant): number {
    const shape = inferShape(
      { ...spec, output: -1 } as Op,
      spec.inputs.map((id) => this.tensors[id].shape),
    );
    const output = this.push({ name: spec.name, kind: 'activation', dtype: 'u8', shape, ...q });
    this.ops.push({ ...spec, output } as Op);
    return output;
  }

  quant(id: number): Quant {
    const { zeroPoint, scale } = this.tensors[id];
    return { zeroPoint, scale };
  }

  shape(id: number): number[] {
    return this.tensors[id].shape;
  }

  build(meta: ModelMeta): Model {
    const output = this.ops[this.ops.length - 1].output;
    return { meta, tensors: this.tensors, ops: this.ops, consts: this.consts, input: this.inputId, output };
  }
}
