// Graph inputs computed from the committed one. An integer model commits to exactly one input
// tensor, but Hugging Face exports take two or three: input_ids, attention_mask and often
// token_type_ids (sometimes position_ids). Each of the others is rebuilt here as ONNX nodes on
// the committed input, so the existing passes see an ordinary one-input graph: the mask
// (ids != pad) is an elementwise function of the ids, which lowering turns into a gather of a
// table (lower/tokens.ts), and constants and positions depend only on the input's shape, which
// folding turns into constants. Nothing the party running the model chooses enters the result.
import { InputError } from '../errors/base.ts';
import type { FDType, FTensor } from './float/tensor.ts';
import { ELEM, type OnnxGraph, type OnnxNode, type OnnxValueInfo } from './parse.ts';

export interface DerivedInputs {
  /** Input `input` (default "attention_mask") = 1 where the committed token id != padId, else 0. */
  maskFromPad?: { padId: number; input?: string };
  /** Inputs filled with one value in the committed input's shape, e.g. { token_type_ids: 0 }. */
  constants?: Record<string, number>;
  /** Inputs holding 0, 1, ..., S-1 along the committed input's last axis (position_ids). */
  positions?: string[];
}

export const DEFAULT_MASK_INPUT = 'attention_mask';

/** Element types a derived input may have, and the evaluator's kind of each. */
const DERIVED_TYPES: Record<number, FDType> = {
  [ELEM.FLOAT]: 'float',
  [ELEM.DOUBLE]: 'float',
  [ELEM.INT32]: 'int',
  [ELEM.INT64]: 'int',
  [ELEM.BOOL]: 'bool',
};

/** Token ids, pads and integer constants stay in int32, where every backend holds token ids. */
const INT_LIMIT = 2 ** 31;

const isIntType = (t: number) => t === ELEM.INT32 || t === ELEM.INT64;
const quoted = (names: string[]) => names.map((n) => `"${n}"`).join(', ');

/** How each extra input could be derived, for the error that refuses a many-input graph. */
function suggestion(info: OnnxValueInfo): string {
  const name = info.name;
  if (/mask/i.test(name))
    return name === DEFAULT_MASK_INPUT
      ? `"${name}" with --mask-from-pad <pad id> (derivedInputs.maskFromPad)`
      : `"${name}" with --mask-from-pad ${name}=<pad id> (derivedInputs.maskFromPad)`;
  if (/position/i.test(name)) return `"${name}" with --position-input ${name} (derivedInputs.positions)`;
  const example = /type|segment/i.test(name) ? '0' : '<value>';
  return `"${name}" with --constant-input ${name}=${example} (derivedInputs.constants)`;
}

/** The input a many-input graph most likely commits to: its token ids, else the first input. */
function likelyCommitted(inputs: OnnxValueInfo[]): OnnxValueInfo {
  return (
    inputs.find((i) => i.name === 'input_ids') ??
    inputs.find((i) => !/mask|type|segment|position/i.test(i.name)) ??
    inputs[0]
  );
}

/** The message for a graph with more than one input: names them and the option for each. */
export function extraInputsMessage(inputs: OnnxValueInfo[]): string {
  const kept = likelyCommitted(inputs);
  const others = inputs.filter((i) => i !== kept);
  return (
    `The model has ${inputs.length} inputs (${quoted(inputs.map((i) => i.name))}); an integer model commits ` +
    `to exactly one. Keep "${kept.name}" and derive the others from it: ${others.map(suggestion).join('; ')}.`
  );
}

function findInput(graph: OnnxGraph, name: string, flag: string): OnnxValueInfo {
  const info = graph.inputs.find((i) => i.name === name);
  if (!info)
    throw new InputError(
      `${flag} names input "${name}", but the model's inputs are ${quoted(graph.inputs.map((i) => i.name))}.`,
    );
  if (!(info.elemType in DERIVED_TYPES))
    throw new InputError(
      `Input "${name}" has element type ${info.elemType}; a derived input must be float, int32, int64 or bool.`,
    );
  return info;
}

function checkInt(v: number, what: string): number {
  if (!Number.isInteger(v) || v < -INT_LIMIT || v >= INT_LIMIT)
    throw new InputError(`${what} must be an integer in [-2^31, 2^31), got ${v}.`);
  return v;
}

/** The derived-input names, each checked to be an input and named once. */
function derivedNames(graph: OnnxGraph, d: DerivedInputs): Map<string, string> {
  const flags = new Map<string, string>();
  const claim = (name: string, flag: string) => {
    findInput(graph, name, flag);
    const before = flags.get(name);
    if (before) throw new InputError(`Input "${name}" is derived twice (by ${before} and by ${flag}).`);
    flags.set(name, flag);
  };
  if (d.maskFromPad) claim(d.maskFromPad.input ?? DEFAULT_MASK_INPUT, '--mask-from-pad');
  for (const name of Object.keys(d.constants ?? {})) claim(name, '--constant-input');
  for (const name of d.positions ?? []) claim(name, '--position-input');
  return flags;
}

/** The one input left when the derived ones are taken away. */
function committedInput(graph: OnnxGraph, derived: Map<string, string>): OnnxValueInfo {
  const used = new Set(graph.nodes.flatMap((n) => n.inputs));
  const left = graph.inputs.filter((i) => !derived.has(i.name) && used.has(i.name));
  if (left.length === 1) return left[0];
  if (left.length === 0)
    throw new InputError(
      `Every input of the model is derived (${quoted([...derived.keys()])}); one must stay the committed input.`,
    );
  throw new InputError(extraInputsMessage(left));
}

function sameRank(info: OnnxValueInfo, ids: OnnxValueInfo, flag: string): void {
  if (info.dims && ids.dims && info.dims.length !== ids.dims.length)
    throw new InputError(
      `${flag}: input "${info.name}" has rank ${info.dims.length}, but "${ids.name}" has rank ${ids.dims.length}; a derived input takes the committed input's shape.`,
    );
}

const scalar = (v: number, dtype: FDType): FTensor => ({ shape: [], data: Float64Array.of(v), dtype });

/**
 * The graph with every derived input replaced by nodes on the committed input. Returns the graph
 * unchanged when nothing is derived. Throws InputError for a derivation that does not fit the graph.
 */
export function deriveInputs(graph: OnnxGraph, d: DerivedInputs | undefined): OnnxGraph {
  if (!d || (!d.maskFromPad && Object.keys(d.constants ?? {}).length === 0 && !d.positions?.length))
    return graph;
  const derived = derivedNames(graph, d);
  const ids = committedInput(graph, derived);
  const initializers = new Map(graph.initializers);
  const nodes: OnnxNode[] = [];
  let counter = 0;
  const fresh = (base: string) => {
    let name: string;
    do name = `${base}/derived_${counter++}`;
    while (initializers.has(name) || graph.nodes.some((n) => n.outputs.includes(name)));
    return name;
  };
  const node = (opType: string, inputs: string[], output: string, attrs: [string, unknown][] = []) => {
    nodes.push({
      name: `${output}/${opType}`,
      opType,
      domain: '',
      inputs,
      outputs: [output],
      attrs: new Map(attrs) as OnnxNode['attrs'],
    });
    return output;
  };
  const constant = (base: string, t: FTensor) => {
    const name = fresh(base);
    initializers.set(name, t);
    return name;
  };

  if (d.maskFromPad) {
    const info = findInput(graph, d.maskFromPad.input ?? DEFAULT_MASK_INPUT, '--mask-from-pad');
    if (!isIntType(ids.elemType))
      throw new InputError(
        `--mask-from-pad needs token ids, but the committed input "${ids.name}" has element type ${ids.elemType}.`,
      );
    sameRank(info, ids, '--mask-from-pad');
    const pad = constant(`${info.name}/pad`, scalar(checkInt(d.maskFromPad.padId, 'The pad id'), 'int'));
    const isPad = node('Equal', [ids.name, pad], fresh(`${info.name}/is_pad`));
    const keep = node('Not', [isPad], fresh(`${info.name}/keep`));
    node('Cast', [keep], info.name, [['to', info.elemType]]);
  }
  for (const [name, value] of Object.entries(d.constants ?? {})) {
    const info = findInput(graph, name, '--constant-input');
    const dtype = DERIVED_TYPES[info.elemType];
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new InputError(`--constant-input ${name}: the value must be a finite number, got ${value}.`);
    if (dtype === 'int') checkInt(value, `--constant-input ${name}`);
    if (dtype === 'bool' && value !== 0 && value !== 1)
      throw new InputError(`--constant-input ${name}: a bool input takes 0 or 1, got ${value}.`);
    sameRank(info, ids, '--constant-input');
    const shape = node('Shape', [ids.name], fresh(`${name}/shape`));
    node('ConstantOfShape', [shape], name, [['value', { ...scalar(value, dtype), shape: [1] }]]);
  }
  for (const name of d.positions ?? []) {
    const info = findInput(graph, name, '--position-input');
    sameRank(info, ids, '--position-input');
    const shape = node('Shape', [ids.name], fresh(`${name}/shape`));
    const last = node(
      'Gather',
      [shape, constant(`${name}/last`, scalar(-1, 'int'))],
      fresh(`${name}/length`),
    );
    const zero = constant(`${name}/zero`, scalar(0, 'int'));
    const one = constant(`${name}/one`, scalar(1, 'int'));
    const row = node('Range', [zero, last, one], fresh(`${name}/row`));
    const all = node('Expand', [row, shape], fresh(`${name}/expanded`));
    node('Cast', [all], name, [['to', info.elemType]]);
  }
  return {
    ...graph,
    // The derived nodes come first: every later node may read them.
    nodes: [...nodes, ...graph.nodes],
    initializers,
    inputs: graph.inputs.filter((i) => !derived.has(i.name)),
  };
}

/** A value for one onnxruntime feed: its ONNX element type, shape and numbers. */
export interface Feed {
  elemType: number;
  shape: number[];
  data: ArrayLike<number>;
}

/**
 * The derived inputs' values for one committed input, as the float model is fed them (for the
 * onnxruntime reference): the same rules as deriveInputs, computed directly.
 */
export function derivedFeeds(
  original: OnnxGraph,
  d: DerivedInputs | undefined,
  committed: { shape: number[]; data: ArrayLike<number> },
): Record<string, Feed> {
  const feeds: Record<string, Feed> = {};
  if (!d) return feeds;
  const { shape, data } = committed;
  const type = (name: string) => original.inputs.find((i) => i.name === name)?.elemType ?? ELEM.INT64;
  if (d.maskFromPad) {
    const name = d.maskFromPad.input ?? DEFAULT_MASK_INPUT;
    const pad = d.maskFromPad.padId;
    feeds[name] = { elemType: type(name), shape, data: Array.from(data, (v) => (v !== pad ? 1 : 0)) };
  }
  for (const [name, value] of Object.entries(d.constants ?? {}))
    feeds[name] = { elemType: type(name), shape, data: new Array<number>(data.length).fill(value) };
  const last = shape[shape.length - 1] ?? 1;
  for (const name of d.positions ?? [])
    feeds[name] = { elemType: type(name), shape, data: Array.from(data, (_, i) => i % last) };
  return feeds;
}
