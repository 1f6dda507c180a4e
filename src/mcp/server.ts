// The MCP server of `verinfer mcp`: tools by which an AI agent requests verified inferences and
// checks them. Spending tools are refused unless spending was allowed at start; every failure is
// a tool error carrying the VerinferError's message, never a crash of the server.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { formatEther, type Hex } from 'viem';
import { z } from 'zod';
import { answerOf } from '../cli/answer.ts';
import { etherOption, findModel, modelPackage, type Network, readInputFile } from '../cli/network.ts';
import { jsonLine } from '../cli/options.ts';
import { settleTask } from '../cli/settle.ts';
import { getDispute, getTask, requestInference, verifyTask } from '../client/index.ts';
import type { Tensor } from '../engine/tensor.ts';
import { InputError, VerinferError } from '../errors/base.ts';
import { loadTokenizerSpec, tokenize } from '../examples/spamTokenizer.ts';
import { parseFloatInput, quantizeInput } from '../onnx/index.ts';
import type { ModelPackage } from '../store/modelDir.ts';
import { explainDispute } from './explain.ts';

export interface McpContext {
  net: Network;
  /** Whether request_inference (and finalize) may spend the key's funds. */
  allowSpend: boolean;
  /** The largest fee one request may escrow (wei). */
  maxFee: bigint;
}

export class SpendNotAllowedError extends VerinferError {
  override name = 'SpendNotAllowedError' as const;
}

const taskId = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'a task ID is 0x and 64 hex digits')
  .describe('the task ID (0x and 64 hex digits)');
const MAX_TEXT = 256 * 1024;

function result(value: unknown): CallToolResult {
  return { content: [{ type: 'text', text: jsonLine(value).trimEnd() }] };
}

/** Runs a tool body; a VerinferError becomes a tool error with its message. */
async function tool(fn: () => Promise<unknown>): Promise<CallToolResult> {
  try {
    return result(await fn());
  } catch (err) {
    const text =
      err instanceof VerinferError
        ? err.message
        : `Unexpected failure (a bug in Verinfer): ${err instanceof Error ? err.message : String(err)}`;
    return { isError: true, content: [{ type: 'text', text }] };
  }
}

async function inputOf(
  pkg: ModelPackage,
  a: { inputFile?: string; text?: string; tensor?: unknown },
): Promise<Tensor> {
  const given = [a.inputFile, a.text, a.tensor].filter((v) => v !== undefined).length;
  if (given !== 1) throw new InputError('Give exactly one of inputFile, text and tensor.');
  if (a.inputFile !== undefined) return readInputFile(pkg, a.inputFile);
  if (a.text !== undefined) {
    if (pkg.tokenizer === undefined)
      throw new InputError(
        `Model "${pkg.manifest.name}" has no tokenizer: give it a tensor or an input file.`,
      );
    if (a.text.trim() === '') throw new InputError('The text is empty.');
    const ids = tokenize(a.text, loadTokenizerSpec(pkg.tokenizer));
    return { dtype: 'i32', shape: [1, ids.length], data: ids, zeroPoint: 0 };
  }
  return quantizeInput(pkg.model, parseFloatInput(a.tensor));
}

/** A new server with every tool; use one per client (one per HTTP request when stateless). */
export function createMcpServer(ctx: McpContext): McpServer {
  const { net } = ctx;
  const d = net.deployment;
  const server = new McpServer({ name: 'verinfer', version: '0.1.0' });

  server.registerTool(
    'list_models',
    {
      description:
        'The models registered in this deployment: name, model root, labels, input kind and shape.',
      inputSchema: {},
    },
    () =>
      tool(async () => {
        const models = [];
        for (const m of d.models) {
          const local = m.dir ? await modelPackage(d, m.root).catch(() => undefined) : undefined;
          const info = local?.pkg.model.tensors[local.pkg.model.input];
          models.push({
            name: m.name,
            root: m.root,
            localPackage: local !== undefined,
            labels: local?.pkg.model.meta.labels,
            inputKind: local?.pkg.model.meta.inputKind,
            inputShape: info?.shape,
          });
        }
        return { chainId: d.chainId, models };
      }),
  );

  server.registerTool(
    'request_inference',
    {
      description:
        'Request a verified inference: escrows the fee and opens a task on chain. Spends funds, so it is refused ' +
        'unless the server was started with --allow-spend. Returns a receipt; follow it with wait_for_finality.',
      inputSchema: {
        model: z.string().min(1).max(80).describe('a model name from list_models, or its model root'),
        inputFile: z.string().max(4096).optional().describe('path of a PNG, text or JSON input file'),
        text: z.string().max(MAX_TEXT).optional().describe('the text, for models with a tokenizer'),
        tensor: z.unknown().optional().describe('a float tensor: nested arrays or { shape, data }'),
        fee: z.string().max(40).optional().describe('fee in ETH (default 0.01)'),
      },
    },
    (a) =>
      tool(async () => {
        if (!ctx.allowSpend)
          throw new SpendNotAllowedError('request_inference spends funds, and spending is not allowed.', {
            metaMessages: [
              'Restart `verinfer mcp` with --allow-spend (or VERINFER_MCP_ALLOW_SPEND=1) to allow it.',
            ],
          });
        const fee = etherOption(a.fee ?? '0.01', 'fee');
        if (fee > ctx.maxFee)
          throw new SpendNotAllowedError(
            `A fee of ${formatEther(fee)} ETH is above this server's limit of ${formatEther(ctx.maxFee)} ETH.`,
          );
        const { pkg, root, name } = await modelPackage(d, a.model);
        const input = await inputOf(pkg, a);
        const { client } = await net.writer();
        const r = await requestInference(client, { model: pkg.model, input, fee });
        return {
          taskId: r.taskId,
          status: 'open',
          model: name,
          modelRoot: root,
          inputRoot: r.task.inputRoot,
          fee: formatEther(fee),
          requester: r.task.requester,
          txHash: r.txHash,
        };
      }),
  );

  server.registerTool(
    'wait_for_finality',
    {
      description:
        'Wait until a task is final, then return its verified answer (top label, output, roots). A convicted or ' +
        'expired task is an error that says what happened to the fee.',
      inputSchema: {
        taskId,
        timeoutSeconds: z.number().int().min(1).max(600).optional().describe('default 120'),
      },
    },
    (a) =>
      tool(async () => {
        const id = a.taskId as Hex;
        const finalizer = ctx.allowSpend ? (await net.writer()).client : undefined;
        const final = await settleTask(net.reader, {
          taskId: id,
          timeout: (a.timeoutSeconds ?? 120) * 1000,
          finalizer,
        });
        const t = await getTask(net.reader, { taskId: id });
        const local =
          t.task && findModel(d, t.task.modelRoot)
            ? await modelPackage(d, t.task.modelRoot).catch(() => undefined)
            : undefined;
        const answer = local ? answerOf(local.pkg.model, final.output) : undefined;
        return {
          status: 'final',
          taskId: id,
          model: local?.name,
          top: answer?.top,
          label: answer ? (answer.labels.length === 1 ? answer.labels[0] : answer.labels) : undefined,
          output: answer?.bytes,
          rawOutput: answer ? undefined : final.output,
          outputRoot: final.outputRoot,
          inputRoot: t.task?.inputRoot,
          worker: final.worker,
          workerPay: formatEther(final.workerPay),
          txHash: final.txHash,
        };
      }),
  );

  server.registerTool(
    'verify_task',
    {
      description: "Re-run a task's model locally on its published input and compare every posted root.",
      inputSchema: { taskId },
    },
    (a) =>
      tool(async () => {
        const t = await getTask(net.reader, { taskId: a.taskId as Hex });
        if (!t.task)
          throw new InputError(`The terms of task ${a.taskId} were not found in the market's events.`);
        const { pkg } = await modelPackage(d, t.task.modelRoot);
        const v = await verifyTask(net.reader, { taskId: a.taskId as Hex, model: pkg.model });
        return { taskId: a.taskId, status: t.status, ...v };
      }),
  );

  server.registerTool(
    'get_task',
    {
      description:
        'Everything the chain knows about a task: status, deadline, terms, result, audit, disputes.',
      inputSchema: { taskId },
    },
    (a) => tool(async () => getTask(net.reader, { taskId: a.taskId as Hex })),
  );

  server.registerTool(
    'explain_dispute',
    {
      description:
        "A task's dispute games (or one game) in plain words: who challenged, the phase, whose turn it is, the clocks, the outcome.",
      inputSchema: {
        taskId: taskId.optional(),
        gameId: z
          .string()
          .regex(/^[0-9]{1,20}$/, 'a game ID is a decimal number')
          .optional(),
      },
    },
    (a) =>
      tool(async () => {
        if ((a.taskId === undefined) === (a.gameId === undefined))
          throw new InputError('Give exactly one of taskId and gameId.');
        let ids: bigint[];
        if (a.gameId !== undefined) ids = [BigInt(a.gameId)];
        else {
          const t = await getTask(net.reader, { taskId: a.taskId as Hex });
          ids = t.disputes.games.map((g) => g.gameId);
          if (ids.length === 0)
            return {
              taskId: a.taskId,
              disputes: [],
              summary: `Task ${a.taskId} (${t.status}) has never been challenged.`,
            };
        }
        const disputes = [];
        for (const id of ids) disputes.push(explainDispute(await getDispute(net.reader, { gameId: id })));
        return { taskId: a.taskId, disputes, summary: disputes.map((x) => x.summary).join('\n') };
      }),
  );

  return server;
}
