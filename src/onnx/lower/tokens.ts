// Functions of the token ids. An export may compute from the integer model input more than the
// embedding lookup, e.g. a BERT attention mask: Equal(ids, pad) -> Cast -> Where(-1e4, 0). Every
// such elementwise chain (with scalar constants) is a function f of one token id, so it is a table
// of V entries, f(0..V-1), and the whole chain becomes one `gather` of a [V, 1] table, computed
// here in float by the evaluator itself. What follows (Unsqueeze, Expand, the add to the scores)
// then works on an ordinary activation.
import { evalNode } from '../float/evaluate.ts';
import type { FTensor } from '../float/tensor.ts';
import type { OnnxNode } from '../parse.ts';
import type { Lowering } from './context.ts';

/** Table entries at or below this are "masked out": added to scores, they only ever saturate. */
export const MASKED_AT_MOST = -1000;

/** Ops that only reshape: a token region goes on through them (see Lowering.tryTokenRegion). */
export const TOKEN_RESHAPES = new Set(['Flatten', 'Reshape', 'Squeeze', 'Unsqueeze']);

/** The vocabulary size: rows of the largest embedding table indexed by the token ids. */
function vocabulary(L: Lowering, where: OnnxNode): number {
  let V = 0;
  for (const n of L.consumers(L.g.input.name)) {
    const table = n.opType === 'Gather' ? L.constOf(n.inputs[0]) : undefined;
    if (table && n.inputs[1] === L.g.input.name) V = Math.max(V, table.shape[0]);
  }
  if (V === 0)
    L.fail(
      where,
      'it computes a function of the token ids, but no embedding table (Gather) indexed by the ids gives the vocabulary size.',
    );
  return V;
}

/** Materializes token-region tensor `name` as a gather of f(0..V-1), reshaped to its ONNX shape. */
export function materializeTokenTable(L: Lowering, name: string, nodes: OnnxNode[]): string {
  const last = nodes[nodes.length - 1];
  const V = vocabulary(L, last);
  const src = L.g.input.name;
  const values = new Map<string, FTensor>([
    [src, { shape: [V], data: Float64Array.from({ length: V }, (_, i) => i), dtype: 'int' }],
  ]);
  // Every constant operand is uniform (a scalar, maybe of rank 4) and every reshape keeps the
  // row-major order, so the chain runs on the V ids as a flat vector: reshapes pass it through,
  // constants enter as scalars.
  const operand = (i: string): FTensor | undefined => {
    const v = values.get(i);
    if (v) return v;
    const c = L.constOf(i);
    return c && { shape: [], data: c.data.subarray(0, 1), dtype: c.dtype };
  };
  for (const n of nodes) {
    if (TOKEN_RESHAPES.has(n.opType)) {
      values.set(n.outputs[0], values.get(n.inputs[0]) as FTensor);
      continue;
    }
    const outs = evalNode(
      n,
      n.inputs.map((i) => (i ? operand(i) : undefined)),
      L.g.opset,
    );
    values.set(n.outputs[0], outs[0]);
  }
  const t = values.get(name) as FTensor;
  if (t.data.length !== V) L.fail(last, `its table of token values has ${t.data.length} entries, not ${V}.`);
  for (const v of t.data)
    if (Number.isNaN(v) || v === Number.POSITIVE_INFINITY)
      L.fail(last, `a function of the token ids has the value ${v}.`);
  const table: FTensor = { shape: [V, 1], data: Float64Array.from(t.data), dtype: 'float' };
  const ids = L.use(src);
  const shape = L.shape(name);
  const gathered = L.fresh(`${name}/table`);
  L.define(last, gathered, [...L.shape(src), 1], { kind: 'table', data: table.data });
  L.emit({ kind: 'gather', name: `${last.name}/table`, table, ids, out: gathered });
  L.tokenTables.add(gathered);
  L.define(last, name, shape, { kind: 'same', as: gathered });
  L.emit({ kind: 'reshape', name: `${last.name}/reshape`, x: gathered, out: name, shape: shape.slice(1) });
  return name;
}
