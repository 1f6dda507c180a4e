// Re-executes a task locally with the exact engine and checks the posted result against it. The
// honest run fixes every root, so any difference is the worker's: the output root and bytes are
// compared directly, and the commitment, which hides the checkpoint root, is recomputed.
import type { Hex } from 'viem';
import { hexToBytes } from 'viem';
import { fromHex, toHex } from '../../commit/keccak.ts';
import { modelRoot } from '../../commit/modelRoot.ts';
import { tensorBytes } from '../../commit/tensorRoot.ts';
import { commitHonest, resultCommitment } from '../../commit/traceRoot.ts';
import type { Model } from '../../engine/graph.ts';
import { type Backend, referenceBackend, runHonest } from '../../engine/interpreter.ts';
import type { Tensor } from '../../engine/tensor.ts';
import { InputError } from '../../errors/base.ts';
import type { VerinferBaseClient } from '../createVerinferClient.ts';
import { type RpcUnreachableError, type TaskNotFoundError, UnknownModelError } from '../errors.ts';
import { inputBytesOf, type TaskInput, tensorOfBytes } from '../utils/input.ts';
import { getTask } from './getTask.ts';

export interface VerifyTaskParameters {
  taskId: Hex;
  /** The task's model (default: the client's model with the task's root). */
  model?: Model;
  /** The input, for a task whose input was not published inline (a signed task). */
  input?: TaskInput;
  /** The engine to re-run with (default: the reference interpreter; the fast backend is bit-identical). */
  backend?: Backend;
}

export type VerifyField = 'inputRoot' | 'outputRoot' | 'output' | 'checkpointRoot' | 'commitment';

export interface VerifyMismatch {
  field: VerifyField;
  /** What the honest run gives. */
  expected: Hex;
  /** What the chain holds. */
  posted: Hex;
}

export interface VerifyTaskReturnType {
  ok: boolean;
  mismatches: VerifyMismatch[];
  /** The honest run's roots and output bytes. */
  inputRoot: Hex;
  outputRoot: Hex;
  checkpointRoot: Hex;
  commitment: Hex;
  output: Hex;
}

export type VerifyTaskErrorType = TaskNotFoundError | UnknownModelError | InputError | RpcUnreachableError;

export async function verifyTask(
  client: VerinferBaseClient,
  { taskId, model: given, input, backend = referenceBackend }: VerifyTaskParameters,
): Promise<VerifyTaskReturnType> {
  const t = await getTask(client, { taskId });
  if (!t.task) throw new InputError(`The terms of task ${taskId} were not found in the market's events.`);
  if (!t.result || t.output === undefined)
    throw new InputError(`Task ${taskId} is ${t.status}: it has no posted result to verify yet.`, {
      metaMessages: ['Wait for it with waitForResult({ taskId }).'],
    });
  const root = t.task.modelRoot.toLowerCase() as Hex;
  const model = given ?? client.verinfer.models.get(root);
  if (!model)
    throw new UnknownModelError({
      modelRoot: root,
      metaMessages: ['verifyTask runs the model: pass `model`, or give the client `models` that include it.'],
    });
  const localRoot = toHex(modelRoot(model));
  if (localRoot.toLowerCase() !== root)
    throw new UnknownModelError({
      modelRoot: root,
      metaMessages: [`The model passed has root ${localRoot}, not the task's. Pass the task's model.`],
    });
  let tensor: Tensor;
  if (input !== undefined) tensor = tensorOfBytes(model, inputBytesOf(input, model));
  else if (t.inlineInput !== '0x') tensor = tensorOfBytes(model, hexToBytes(t.inlineInput));
  else
    throw new InputError(`Task ${taskId} did not publish its input on chain.`, {
      metaMessages: ['Pass the input the requester signed for as `input`.'],
    });
  // The roots need only the output and the checkpoint, not every op's output.
  const run = await runHonest(backend, model, tensor);
  const roots = commitHonest(tensor, run, model.ops.length);
  const expected = {
    inputRoot: toHex(roots.inputRoot),
    outputRoot: toHex(roots.outputRoot),
    checkpointRoot: toHex(roots.checkpointRoot),
    commitment: toHex(resultCommitment(fromHex(taskId), roots)),
    output: toHex(tensorBytes(run.output.dtype, run.output.data)),
  };
  const mismatches: VerifyMismatch[] = [];
  const check = (field: VerifyField, mine: Hex, posted: Hex) => {
    if (mine.toLowerCase() !== posted.toLowerCase()) mismatches.push({ field, expected: mine, posted });
  };
  check('inputRoot', expected.inputRoot, t.task.inputRoot);
  check('outputRoot', expected.outputRoot, t.result.outputRoot);
  check('output', expected.output, t.output);
  // The commitment binds the task, the input, the output and the checkpoint: with the first three
  // agreeing, a different commitment can only hide a different checkpoint root.
  const rest = mismatches.length === 0;
  check('commitment', expected.commitment, t.result.commitment);
  if (rest && mismatches.length === 1) {
    mismatches.unshift({ field: 'checkpointRoot', expected: expected.checkpointRoot, posted: '0x' });
  }
  return { ok: mismatches.length === 0, mismatches, ...expected };
}
