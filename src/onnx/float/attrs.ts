// Typed access to ONNX node attributes.
import { OnnxFormatError } from '../../errors/base.ts';
import type { OnnxNode } from '../parse.ts';
import type { FTensor } from './tensor.ts';

function wrong(node: OnnxNode, key: string, what: string): never {
  throw new OnnxFormatError(`Node "${node.name}" (${node.opType}): attribute "${key}" should be ${what}.`);
}

export function attrInt(node: OnnxNode, key: string, dflt: number): number {
  const v = node.attrs.get(key);
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number') wrong(node, key, 'a number');
  return v;
}

export function attrFloat(node: OnnxNode, key: string, dflt: number): number {
  return attrInt(node, key, dflt);
}

export function attrInts(node: OnnxNode, key: string): number[] | undefined {
  const v = node.attrs.get(key);
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) wrong(node, key, 'a list of numbers');
  return v as number[];
}

export function attrString(node: OnnxNode, key: string, dflt: string): string {
  const v = node.attrs.get(key);
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'string') wrong(node, key, 'a string');
  return v;
}

export function attrTensor(node: OnnxNode, key: string): FTensor | undefined {
  const v = node.attrs.get(key);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) wrong(node, key, 'a tensor');
  return v;
}
