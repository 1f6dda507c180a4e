// `verinfer mcp`: the MCP server over stdio (the default) or Streamable HTTP on 127.0.0.1.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Command } from 'commander';
import { InputError } from '../../errors/base.ts';
import { serveMcpHttp } from '../../mcp/http.ts';
import { createMcpServer, type McpContext } from '../../mcp/server.ts';
import { connect, etherOption, type NetworkFlags, networkOptions } from '../network.ts';

interface McpFlags extends NetworkFlags {
  http: boolean;
  port: string;
  allowSpend: boolean;
  maxFee: string;
}

export function registerMcp(program: Command): void {
  const cmd = program
    .command('mcp')
    .description(
      'An MCP server for AI agents: request_inference, wait_for_finality, verify_task, get_task, list_models, explain_dispute',
    )
    .option('--http', 'serve Streamable HTTP on 127.0.0.1 instead of stdio', false)
    .option('--port <port>', 'HTTP port (0 = any free port)', '0')
    .option(
      '--allow-spend',
      'let request_inference escrow fees and send transactions (or VERINFER_MCP_ALLOW_SPEND=1)',
      false,
    )
    .option('--max-fee <eth>', 'the largest fee one request may escrow', '0.1');
  networkOptions(cmd, true).action(async (flags: McpFlags) => {
    const port = Number(flags.port);
    if (!Number.isInteger(port) || port < 0 || port > 65_535)
      throw new InputError(`--port ${flags.port} is not a TCP port. Use 0..65535 (0 picks a free one).`);
    const ctx: McpContext = {
      net: await connect(flags),
      allowSpend: flags.allowSpend || process.env.VERINFER_MCP_ALLOW_SPEND === '1',
      maxFee: etherOption(flags.maxFee, '--max-fee'),
    };
    const stopped = new Promise<void>((done) => {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    if (flags.http) {
      const http = await serveMcpHttp(() => createMcpServer(ctx), port);
      // The URL on stdout for scripts, in words on stderr for people.
      process.stdout.write(`${JSON.stringify({ event: 'listening', url: http.url })}\n`);
      process.stderr.write(
        `verinfer mcp: Streamable HTTP on ${http.url} (chain ${ctx.net.chainId}${ctx.allowSpend ? ', spending allowed' : ''})\n`,
      );
      await stopped;
      await http.close();
      return;
    }
    // stdout carries the protocol: anything said goes to stderr.
    const server = createMcpServer(ctx);
    const transport = new StdioServerTransport();
    const closed = new Promise<void>((done) => {
      transport.onclose = done;
      process.stdin.once('end', done);
    });
    await server.connect(transport);
    process.stderr.write(
      `verinfer mcp: serving on stdio (chain ${ctx.net.chainId}${ctx.allowSpend ? ', spending allowed' : ''})\n`,
    );
    await Promise.race([stopped, closed]);
    await server.close();
  });
}
