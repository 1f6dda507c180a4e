// Fixes the input shape, removes dead nodes, and constant-folds every static subgraph (including
// shape computations: with the input shape fixed, Shape is a constant). What remains is the
// dynamic graph: the nodes that depend on the model input.
import { InputError, OnnxFormatError, UnsupportedOpError } from '../errors/base.ts';
import { extraInputsMessage } from './deriveInputs.ts';
import { EVALUATOR_OPS, evalNode, gatherInputs } from './float/evaluate.ts';
import type { FTensor } from './float/tensor.ts';
import { ELEM, type OnnxGraph, type OnnxNode, type OnnxValueInfo } from './parse.ts';
import { unsupportedNode } from './supported.ts';

export interface DynGraph {
  /** Dynamic nodes in topological order (aliases such as Identity already removed). */
  nodes: OnnxNode[];
  /** Every static value: initializers, Constant outputs and folded subgraphs. */
  consts: Map<string, FTensor>;
  /** Shape of every dynamic tensor. */
  shapes: Map<string, number[]>;
  /** True for dynamic tensors holding integers (token ids). */
  intTensors: Set<string>;
  input: { name: string; shape: number[]; elemType: number; isInt: boolean };
  output: string;
  opset: number;
  warnings: string[];
}

/** Batch-1 copies of the samples, checked against the graph input. */
export function normalizeSamples(info: OnnxValueInfo, samples: FTensor[], what: string): FTensor[] {
  const out: FTensor[] = [];
  const declared = info.dims;
  samples.forEach((s, i) => {
    let shape = s.shape;
    const rank = declared ? declared.length : shape.length;
    if (shape.length === rank - 1) shape = [1, ...shape];
    while (shape.length > rank && shape[0] === 1) shape = shape.slice(1);
    const fits =
      shape.length === rank &&
      (!declared || declared.every((d, k) => k === 0 || d === null || d === shape[k]));
    if (!fits) {
      const want = declared
        ? `[${declared.map((d, k) => (k === 0 ? 'B' : (d ?? '?'))).join(',')}]`
        : 'the graph input';
      throw new InputError(
        `${what} ${i} has shape [${s.shape.join(',')}], which does not fit input "${info.name}" ${want}.`,
      );
    }
    const batch = shape[0];
    const per = s.data.length / batch;
    for (let b = 0; b < batch; b++) {
      out.push({
        shape: [1, ...shape.slice(1)],
        data: s.data.subarray(b * per, (b + 1) * per),
        dtype: s.dtype,
      });
    }
  });
  return out;
}

function topoSort(nodes: OnnxNode[], available: Set<string>): OnnxNode[] {
  const producer = new Map<string, OnnxNode>();
  for (const n of nodes) for (const o of n.outputs) if (o) producer.set(o, n);
  const state = new Map<OnnxNode, number>();
  const order: OnnxNode[] = [];
  const visit = (root: OnnxNode) => {
    const stack: [OnnxNode, number][] = [[root, 0]];
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const [n, k] = top;
      if (k === 0) {
        if (state.get(n) === 2) {
          stack.pop();
          continue;
        }
        state.set(n, 1);
      }
      if (k < n.inputs.length) {
        top[1] += 1;
        const name = n.inputs[k];
        if (!name || available.has(name)) continue;
        const p = producer.get(name);
        if (!p)
          throw new OnnxFormatError(
            `Node "${n.name}" (${n.opType}) reads "${name}", which nothing produces.`,
          );
        if (state.get(p) === 1) throw new OnnxFormatError(`The graph has a cycle through node "${p.name}".`);
        if (state.get(p) !== 2) stack.push([p, 0]);
        continue;
      }
      state.set(n, 2);
      order.push(n);
      stack.pop();
    }
  };
  for (const n of nodes) visit(n);
  return order;
}

/** Nodes needed to compute `output`, in topological order. */
function liveNodes(graph: OnnxGraph, output: string): OnnxNode[] {
  const producer = new Map<string, OnnxNode>();
  for (const n of graph.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
  const live = new Set<OnnxNode>();
  const stack = [output];
  while (stack.length > 0) {
    const name = stack.pop() as string;
    const p = producer.get(name);
    if (!p || live.has(p)) continue;
    live.add(p);
    for (const i of p.inputs) if (i) stack.push(i);
  }
  const available = new Set([...graph.initializers.keys(), ...graph.inputs.map((i) => i.name)]);
  return topoSort(
    graph.nodes.filter((n) => live.has(n)),
    available,
  );
}

const ALIAS_OPS = new Set(['Identity', 'Dropout']);

/** The live nodes of the graph and its single input. */
export function graphInput(graph: OnnxGraph): { nodes: OnnxNode[]; info: OnnxValueInfo; isInt: boolean } {
  const output = graph.outputs[0].name;
  const nodes = liveNodes(graph, output);
  for (const n of nodes) {
    if ((n.domain && n.domain !== 'ai.onnx') || !EVALUATOR_OPS.has(n.opType)) throw unsupportedNode(n);
  }
  const used = new Set(nodes.flatMap((n) => n.inputs));
  const inputs = graph.inputs.filter((i) => used.has(i.name) || i.name === output);
  if (inputs.length > 1) throw new UnsupportedOpError(extraInputsMessage(inputs));
  if (inputs.length === 0) throw new UnsupportedOpError('The model output does not depend on any input.');
  const info = inputs[0];
  const isInt = [ELEM.INT64, ELEM.INT32].includes(info.elemType as 7 | 6);
  if (!isInt && info.elemType !== ELEM.FLOAT && info.elemType !== ELEM.DOUBLE) {
    throw new UnsupportedOpError(
      `Input "${info.name}" has element type ${info.elemType}; only float and int32/int64 inputs are supported.`,
    );
  }
  return { nodes, info, isInt };
}

export function foldGraph(graph: OnnxGraph, sample: FTensor): DynGraph {
  const warnings: string[] = [];
  if (graph.outputs.length > 1) {
    warnings.push(
      `The graph has ${graph.outputs.length} outputs; only the first ("${graph.outputs[0].name}") is imported.`,
    );
  }
  const output = graph.outputs[0].name;
  const { nodes, info, isInt } = graphInput(graph);
  const used = new Set(nodes.flatMap((n) => n.inputs));
  const values = new Map<string, FTensor>(graph.initializers);
  values.set(info.name, { ...sample, dtype: isInt ? 'int' : 'float' });
  const dynamic = new Set<string>([info.name]);
  const alias = new Map<string, string>();
  const resolve = (name: string) => alias.get(name) ?? name;
  const dynNodes: OnnxNode[] = [];
  for (const node of nodes) {
    const ins = gatherInputs(node, (name) => values.get(name));
    let outs: FTensor[];
    try {
      outs = evalNode(node, ins, graph.opset);
    } catch (err) {
      if (err instanceof UnsupportedOpError || err instanceof OnnxFormatError || err instanceof InputError)
        throw err;
      throw new OnnxFormatError(`Evaluating node "${node.name}" (${node.opType}) failed.`, {
        cause: err,
        details: String(err),
      });
    }
    node.outputs.forEach((o, k) => {
      if (o && outs[k]) values.set(o, outs[k]);
    });
    const isDynamic =
      node.opType !== 'Shape' && node.opType !== 'Size' && node.inputs.some((i) => i && dynamic.has(i));
    if (!isDynamic) continue;
    for (const o of node.outputs) if (o) dynamic.add(o);
    const x = node.inputs[0];
    const sameKind =
      node.opType !== 'Cast' || (values.get(x)?.dtype === 'float') === (outs[0].dtype === 'float');
    if ((ALIAS_OPS.has(node.opType) || node.opType === 'Cast') && sameKind) {
      if (node.outputs.slice(1).some((o) => o && used.has(o)))
        throw unsupportedNode(node, 'its mask output is used.');
      alias.set(node.outputs[0], resolve(x));
      continue;
    }
    dynNodes.push({ ...node, inputs: node.inputs.map((i) => (i ? resolve(i) : i)) });
  }
  if (!dynamic.has(output)) throw new UnsupportedOpError('The model output does not depend on its input.');
  const consts = new Map<string, FTensor>();
  const shapes = new Map<string, number[]>();
  const intTensors = new Set<string>();
  for (const [name, v] of values) {
    if (!dynamic.has(name)) consts.set(name, v);
    else {
      shapes.set(name, v.shape);
      if (v.dtype !== 'float') intTensors.add(name);
    }
  }
  return {
    nodes: dynNodes,
    consts,
    shapes,
    intTensors,
    input: { name: info.name, shape: sample.shape, elemType: info.elemType, isInt },
    output: resolve(output),
    opset: graph.opset,
    warnings,
  };
}

/** Runs the dynamic graph on one input; calls `visit` with every dynamic tensor. Returns the output. */
export function runDynamic(
  g: DynGraph,
  input: FTensor,
  visit?: (name: string, value: FTensor) => void,
): FTensor {
  const values = new Map<string, FTensor>();
  values.set(g.input.name, input);
  visit?.(g.input.name, input);
  const lookup = (name: string) => values.get(name) ?? g.consts.get(name);
  for (const node of g.nodes) {
    const outs = evalNode(node, gatherInputs(node, lookup), g.opset);
    node.outputs.forEach((o, k) => {
      if (!o || !outs[k]) return;
      values.set(o, outs[k]);
      visit?.(o, outs[k]);
    });
  }
  const y = values.get(g.output);
  if (!y) throw new OnnxFormatError(`The graph output "${g.output}" was not computed.`);
  return y;
}
