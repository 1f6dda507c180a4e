// Window geometry of Conv and pooling nodes, resolved to the integer IR's conventions:
// explicit [top, left, bottom, right] pads and floor-mode output sizes.
import { UnsupportedOpError } from '../../errors/base.ts';
import type { OnnxNode } from '../parse.ts';
import { attrInt, attrInts, attrString } from './attrs.ts';

export interface Window {
  kernel: [number, number];
  strides: [number, number];
  /** [top, left, bottom, right] */
  pads: [number, number, number, number];
  dilations: [number, number];
  /** True if ceil_mode made the bottom/right pads larger than the node's own pads. */
  ceilPadded: boolean;
}

function unsupported(node: OnnxNode, why: string): never {
  throw new UnsupportedOpError(`Node "${node.name}" (${node.opType}) is not supported: ${why}`);
}

export function windowOf(node: OnnxNode, inShape: readonly number[], kernel: [number, number]): Window {
  if (inShape.length !== 4)
    unsupported(node, `only 2-D windows over NCHW tensors are supported, got rank ${inShape.length}.`);
  const H = inShape[2];
  const W = inShape[3];
  const strides = (attrInts(node, 'strides') ?? [1, 1]) as [number, number];
  const dilations = (attrInts(node, 'dilations') ?? [1, 1]) as [number, number];
  if (strides.length !== 2 || dilations.length !== 2)
    unsupported(node, 'strides and dilations must have two entries.');
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  let pads: [number, number, number, number] = [0, 0, 0, 0];
  const span = (k: number, d: number) => (k - 1) * d + 1;
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const total = [H, W].map((size, i) => {
      const out = Math.ceil(size / strides[i]);
      return Math.max(0, (out - 1) * strides[i] + span(kernel[i], dilations[i]) - size);
    });
    const small = total.map((t) => Math.floor(t / 2));
    const big = total.map((t, i) => t - small[i]);
    pads =
      autoPad === 'SAME_UPPER' ? [small[0], small[1], big[0], big[1]] : [big[0], big[1], small[0], small[1]];
  } else if (autoPad === 'NOTSET') {
    const p = attrInts(node, 'pads') ?? [0, 0, 0, 0];
    if (p.length !== 4) unsupported(node, 'pads must have four entries.');
    pads = [p[0], p[1], p[2], p[3]];
  } else if (autoPad !== 'VALID') {
    unsupported(node, `auto_pad "${autoPad}".`);
  }
  let ceilPadded = false;
  if (attrInt(node, 'ceil_mode', 0) === 1) {
    [H, W].forEach((size, i) => {
      const sp = span(kernel[i], dilations[i]);
      const padded = size + pads[i] + pads[i + 2];
      let out = Math.ceil((padded - sp) / strides[i]) + 1;
      // The last window must start inside the input or the leading pad.
      if ((out - 1) * strides[i] >= size + pads[i]) out -= 1;
      const need = (out - 1) * strides[i] + sp - size - pads[i];
      if (need > pads[i + 2]) {
        pads[i + 2] = need;
        ceilPadded = true;
      }
    });
  }
  return { kernel, strides, pads, dilations, ceilPadded };
}

export function outSize(size: number, w: Window, axis: 0 | 1): number {
  const span = (w.kernel[axis] - 1) * w.dilations[axis] + 1;
  return Math.floor((size + w.pads[axis] + w.pads[axis + 2] - span) / w.strides[axis]) + 1;
}
