// ReduceMax on activations. The max of u8 codes is the code of the max (the dequantization is
// increasing), so the result keeps the input's quantization and is exact. Each run of adjacent
// reduced axes becomes one `maxpool` whose window covers the run: the tensor is viewed as
// [1, outer, len, inner] and pooled with a [len, 1] window, which every backend and one-step
// verifier already has.
import { reduceAxes } from '../float/nn.ts';
import { sizeOf } from '../float/tensor.ts';
import type { OnnxNode } from '../parse.ts';
import type { Lowering } from './context.ts';

function reshape(L: Lowering, node: OnnxNode, x: string, shape: number[], out?: string): string {
  const name = out ?? L.fresh(`${x}/reshape`);
  L.define(node, name, shape, { kind: 'same', as: x });
  L.emit({ kind: 'reshape', name: `${node.name}/reshape`, x, out: name, shape: shape.slice(1) });
  return name;
}

/** Runs of adjacent axes, e.g. [1, 2, 4] -> [[1, 2], [4]]. */
function runsOf(axes: number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const a of axes) {
    const last = runs[runs.length - 1];
    if (last && last[1] === a - 1) last[1] = a;
    else runs.push([a, a]);
  }
  return runs;
}

export function lowerReduceMax(L: Lowering, node: OnnxNode): void {
  const xName = node.inputs[0];
  if (L.dynInputs(node).length !== 1 || L.dynInputs(node)[0] !== xName)
    L.fail(node, 'the axes must be constant.');
  const shape = L.shape(xName);
  const axesT = node.inputs[1] ? L.constOf(node.inputs[1]) : undefined;
  // Axes of size 1 need no window; what remains is the real reduction.
  const axes = reduceAxes(node, shape.length, axesT).filter((a) => shape[a] !== 1);
  const out = node.outputs[0];
  let cur = L.use(xName);
  if (axes.length === 0) {
    reshape(L, node, cur, L.shape(out), out);
    return;
  }
  const kept = [...shape];
  const runs = runsOf(axes);
  runs.forEach(([a0, a1], i) => {
    const outer = sizeOf(kept.slice(0, a0));
    const len = sizeOf(kept.slice(a0, a1 + 1));
    const inner = sizeOf(kept.slice(a1 + 1));
    const view = reshape(L, node, cur, [1, outer, len, inner]);
    const pooled = L.fresh(`${out}/max`);
    L.define(node, pooled, [1, outer, 1, inner], { kind: 'same', as: view });
    L.emit({
      kind: 'maxpool',
      name: node.name,
      x: view,
      out: pooled,
      kernel: [len, 1],
      strides: [1, 1],
      pads: [0, 0, 0, 0],
    });
    for (let a = a0; a <= a1; a++) kept[a] = 1;
    cur =
      i === runs.length - 1
        ? reshape(L, node, pooled, L.shape(out), out)
        : reshape(L, node, pooled, [...kept]);
  });
}
