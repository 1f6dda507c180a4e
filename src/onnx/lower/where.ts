// Where on activations: attention masking by selection. DistilBERT applies its mask as
// `scores.masked_fill(mask == 0, min)`, i.e. Where(mask, min, scores), and others write
// Where(keep, scores, min). When the condition is a function of the token ids (maybe broadcast to
// the scores' shape) and the other branch is a mask value that only a softmax reads, this is the
// additive mask scores + (cond ? min : 0) of lower/binary.ts: in float both give the masked keys
// probability exactly 0 (exp(min - max) underflows), and the integer model gives them exactly 0
// by saturation. Anything else is refused: a select between two activations has no exact form.
import { isUniform, sameShape } from '../float/tensor.ts';
import type { OnnxNode } from '../parse.ts';
import { onlySoftmaxReads, tryMaskedAdd } from './binary.ts';
import type { Lowering } from './context.ts';
import { emitTokenTable, MASKED_AT_MOST, tokenValues } from './tokens.ts';

export function lowerWhere(L: Lowering, node: OnnxNode): void {
  const [cond, a, b] = node.inputs;
  const out = node.outputs[0];
  if (!cond || !a || !b || !L.isTokenFunction(cond))
    L.fail(
      node,
      'on activations, Where is supported as an elementwise function of one activation with scalar constants (e.g. where(x > 0, x, 0.1 * x)) or as an attention mask whose condition is a function of the token ids.',
    );
  const ka = L.constOf(a);
  const kb = L.constOf(b);
  if (!ka === !kb)
    L.fail(
      node,
      'as an attention mask, exactly one branch must be a constant (the mask value) and the other the scores.',
    );
  const fillWhenTrue = ka !== undefined;
  const fill = ka ?? kb;
  const scores = fillWhenTrue ? b : a;
  if (!fill || !isUniform(fill)) L.fail(node, 'the constant branch of an attention mask must be one value.');
  const value = fill.data[0];
  if (!(value <= MASKED_AT_MOST))
    L.fail(
      node,
      `its constant branch is ${value}; a select between a function of the token ids and an activation is exact only as an attention mask, with a mask value at most ${MASKED_AT_MOST} (-1e4, -inf, float32's lowest).`,
    );
  if (!onlySoftmaxReads(L, out))
    L.fail(node, 'an attention mask applied with Where must be read only by softmaxes over the last axis.');
  if (L.g.intTensors.has(scores)) L.fail(node, 'the masked branch holds integers, not scores.');
  const outShape = L.shape(out);
  if (!sameShape(L.shape(scores), outShape))
    L.fail(node, `the mask broadcasts the scores [${L.shape(scores)}] to [${outShape}].`);
  const chain = L.tokenChain(cond);
  // The condition before its Expand: the table is gathered in that shape and the add broadcasts
  // it, as Expand did. Equal ranks keep the batch axis first in both.
  const compact = L.shape(chain.expand ? chain.expand.inputs[0] : cond);
  const fits = compact.length === outShape.length && compact.every((d, i) => d === 1 || d === outShape[i]);
  if (!fits)
    L.fail(
      node,
      `the mask's shape [${compact}] does not broadcast to the scores' [${outShape}] rank for rank.`,
    );
  const truth = tokenValues(L, cond, chain);
  const mask = truth.map((t) => ((t !== 0) === fillWhenTrue ? value : 0));
  // No token id is ever masked: the Where always returns the scores.
  if (mask.every((v) => v === 0)) {
    L.alias(out, scores);
    return;
  }
  const table = emitTokenTable(L, node, L.fresh(`${out}/mask`), mask, compact);
  if (!tryMaskedAdd(L, node, L.use(scores), table))
    L.fail(node, 'its mask could not be applied as a saturating add before the softmax.');
}
