// Functions of the token ids. An export may compute from the integer model input more than the
// embedding lookup, e.g. a BERT attention mask: Equal(ids, pad) -> Cast -> Where(-1e4, 0). Every
// such elementwise chain (with scalar constants) is a function f of one token id, so it is a table
// of V entries, f(0..V-1), and the whole chain becomes one `gather` of a [V, 1] table, computed
// here in float by the evaluator itself. What follows (Unsqueeze, Expand, the add to the scores)
// then works on an ordinary activation.
//
// A chain may also broadcast once (DistilBERT's `mask.view(bs, 1, 1, S).expand_as(scores)`):
// elementwise ops with scalar constants commute with Expand, so the table is computed before it
// and the Expand becomes an exact select of the gathered values.
import { evalNode } from '../float/evaluate.ts';
import type { FTensor } from '../float/tensor.ts';
import type { OnnxNode } from '../parse.ts';
import type { Lowering } from './context.ts';
import { lowerSelect } from './select.ts';

/** Table entries at or below this are "masked out": added to scores, they only ever saturate. */
export const MASKED_AT_MOST = -1000;

/** Ops that only reshape: a token region goes on through them (see Lowering.tryTokenRegion). */
export const TOKEN_RESHAPES = new Set(['Flatten', 'Reshape', 'Squeeze', 'Unsqueeze']);

/** The nodes computing a token-region tensor, and the Expand among them if it broadcasts once. */
export interface TokenChain {
  nodes: OnnxNode[];
  expand: OnnxNode | undefined;
}

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

/** f(0..V-1) for token-region tensor `name`: its value for each possible token id. */
export function tokenValues(L: Lowering, name: string, chain: TokenChain): Float64Array {
  const last = chain.nodes[chain.nodes.length - 1];
  const V = vocabulary(L, last);
  const src = L.g.input.name;
  const values = new Map<string, FTensor>([
    [src, { shape: [V], data: Float64Array.from({ length: V }, (_, i) => i), dtype: 'int' }],
  ]);
  // Every constant operand is uniform (a scalar, maybe of rank 4) and every reshape keeps the
  // row-major order, so the chain runs on the V ids as a flat vector: reshapes and the one
  // Expand pass it through, constants enter as scalars.
  const operand = (i: string): FTensor | undefined => {
    const v = values.get(i);
    if (v) return v;
    const c = L.constOf(i);
    return c && { shape: [], data: c.data.subarray(0, 1), dtype: c.dtype };
  };
  for (const n of chain.nodes) {
    if (TOKEN_RESHAPES.has(n.opType) || n === chain.expand) {
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
  return Float64Array.from(t.data);
}

/**
 * Emits a gather of the table `values` (one entry per token id) by the ids, reshaped to `shape`
 * (batch-1, as many elements as the ids) and named `out`.
 */
export function emitTokenTable(
  L: Lowering,
  node: OnnxNode,
  out: string,
  values: Float64Array,
  shape: number[],
): string {
  const table: FTensor = { shape: [values.length, 1], data: values, dtype: 'float' };
  const ids = L.use(L.g.input.name);
  const gathered = L.fresh(`${out}/table`);
  L.define(node, gathered, [...L.shape(ids), 1], { kind: 'table', data: table.data });
  L.emit({ kind: 'gather', name: `${node.name}/table`, table, ids, out: gathered });
  L.tokenTables.add(gathered);
  L.define(node, out, shape, { kind: 'same', as: gathered });
  L.emit({ kind: 'reshape', name: `${node.name}/reshape`, x: gathered, out, shape: shape.slice(1) });
  return out;
}

/** Materializes token-region tensor `name` as a gather of f(0..V-1), reshaped to its ONNX shape. */
export function materializeTokenTable(L: Lowering, name: string, chain: TokenChain): string {
  const last = chain.nodes[chain.nodes.length - 1];
  const values = tokenValues(L, name, chain);
  const { expand } = chain;
  if (!expand) return emitTokenTable(L, last, name, values, L.shape(name));
  // The table in the shape before the broadcast, then the Expand itself as exact selects.
  const compact = emitTokenTable(L, last, L.fresh(`${name}/compact`), values, L.shape(expand.inputs[0]));
  lowerSelect(L, { ...expand, inputs: [compact, ...expand.inputs.slice(1)], outputs: [name] });
  return name;
}
