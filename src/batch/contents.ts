// /verinfer/batch-contents/1.0.0: anyone fetches a posted batch's leaves, requests and inputs by
// batch id, page by page, and checks all of them against the batch's on-chain root before use.
import type { PeerId } from '@libp2p/interface';
import type { Address, Hex } from 'viem';
import { z } from 'zod';
import { buildBatchTree, bytesRoot, requestHashOf } from '../chain/bindings/commitments.ts';
import type { LeafArgs } from '../chain/bindings/types.ts';
import { ContentNotFoundError, MalformedMessageError, RootMismatchError } from '../p2p/errors.ts';
import type { PeerHost } from '../p2p/host.ts';
import { protocolId } from '../p2p/protocols.ts';
import {
  type CallOptions,
  callProtocol,
  type PeerTarget,
  type ProtocolSpec,
  type ServeOptions,
  serveProtocol,
} from '../p2p/rpc.ts';
import { index, uintString } from '../p2p/schemas.ts';
import { MAX_BATCH_INPUT_BYTES } from './protocol.ts';
import {
  decodeContents,
  encodeContents,
  LEAF_RECORD_BYTES,
  REQUEST_RECORD_BYTES,
  type SignedBatchRequest,
} from './wire.ts';

const HEADER_BYTES = 64 * 1024;
/** The largest batch the market accepts (BatchMarket.MAX_BATCH_SIZE). */
const MAX_COUNT = 4096;
/** A contents page holds at most this many items and this many input bytes (but always one item). */
export const MAX_CONTENTS_ITEMS = 256;
export const MAX_CONTENTS_INPUT_BYTES = 8 * 1024 * 1024;

export const contentsSpec = {
  id: protocolId('batch-contents'),
  request: z.object({ batchId: uintString(64), from: index(MAX_COUNT - 1) }),
  response: z.discriminatedUnion('found', [
    z.object({
      found: z.literal(true),
      count: z.number().int().min(1).max(MAX_COUNT),
      from: index(MAX_COUNT - 1),
      items: z.number().int().min(1).max(MAX_CONTENTS_ITEMS),
    }),
    z.object({ found: z.literal(false) }),
  ]),
  maxRequestBytes: 1024,
  maxResponseBytes:
    HEADER_BYTES +
    MAX_CONTENTS_ITEMS * (LEAF_RECORD_BYTES + REQUEST_RECORD_BYTES) +
    MAX_CONTENTS_INPUT_BYTES +
    MAX_BATCH_INPUT_BYTES,
  timeoutMs: 30_000,
} satisfies ProtocolSpec<z.ZodType, z.ZodType>;

/** One item of a batch's contents: its leaf and the signed request with its input. */
export interface BatchItem {
  leaf: LeafArgs;
  request: SignedBatchRequest;
}

/** All items of a posted batch, in leaf order, or undefined if this node does not hold it. */
export type ContentsProvider = (batchId: bigint, peer: PeerId) => Promise<readonly BatchItem[] | undefined>;

export function serveBatchContents(host: PeerHost, provide: ContentsProvider, options?: ServeOptions) {
  return serveProtocol(
    host,
    contentsSpec,
    async ({ header }, { peer }) => {
      const items = await provide(header.batchId, peer);
      if (!items || header.from >= items.length) return { header: { found: false as const } };
      // A page ends at MAX_CONTENTS_ITEMS items or MAX_CONTENTS_INPUT_BYTES of inputs, whichever comes first.
      let end = header.from;
      let bytes = 0;
      while (end < items.length && end - header.from < MAX_CONTENTS_ITEMS) {
        const next = items[end].request.input.length;
        if (end > header.from && bytes + next > MAX_CONTENTS_INPUT_BYTES) break;
        bytes += next;
        end += 1;
      }
      return {
        header: { found: true as const, count: items.length, from: header.from, items: end - header.from },
        body: encodeContents(items.slice(header.from, end)),
      };
    },
    options,
  );
}

/** What the chain says of a posted batch (BatchMarket.batch). */
export interface PostedBatch {
  requester: Address;
  worker: Address;
  feeToken: Address;
  root: Hex;
  count: number;
}

/**
 * Fetches every item of a posted batch page by page and checks it before returning: each request
 * hashes to its leaf's requestHash, each input to its request's inputRoot, and the leaves, all of
 * them, to the batch's on-chain root.
 */
export async function fetchBatchContents(
  host: PeerHost,
  target: PeerTarget,
  params: { chainId: number; market: Address; batchId: bigint; batch: PostedBatch },
  options?: CallOptions,
): Promise<BatchItem[]> {
  const { chainId, market, batchId, batch } = params;
  const items: BatchItem[] = [];
  let answeredBy: PeerId | undefined;
  while (items.length < batch.count) {
    const from = items.length;
    const page = await callProtocol(
      host,
      target,
      contentsSpec,
      { header: { batchId: batchId.toString(), from } },
      options,
      (r, peer) => {
        answeredBy = peer;
        if (!r.header.found) throw new ContentNotFoundError(`Peer ${peer} does not hold batch ${batchId}.`);
        const { count, items: n } = r.header;
        if (count !== batch.count || r.header.from !== from || from + n > count) {
          throw new MalformedMessageError(
            `Peer ${peer} sent page [${r.header.from}, +${n}) of ${count} items.`,
          );
        }
        const got = decodeContents(r.body, n, batch, {
          maxInputBytes: MAX_BATCH_INPUT_BYTES,
          maxTotalInputBytes: MAX_CONTENTS_INPUT_BYTES + MAX_BATCH_INPUT_BYTES,
        });
        for (const [i, item] of got.entries()) {
          const hash = requestHashOf(chainId, market, item.request.request);
          if (hash !== item.leaf.requestHash)
            throw new RootMismatchError(
              `Item ${from + i} of batch ${batchId}: the request is not its leaf's.`,
            );
          if (bytesRoot(item.request.input) !== item.request.request.inputRoot)
            throw new RootMismatchError(
              `Item ${from + i} of batch ${batchId}: the input is not its request's.`,
            );
        }
        return got;
      },
    );
    items.push(...page);
  }
  const root = buildBatchTree(items.map((i) => i.leaf)).root;
  if (root !== batch.root.toLowerCase()) {
    // Every page was consistent, the whole is not: the peer lied, but no single call shows it.
    if (answeredBy) host.peers.record(answeredBy.toString(), 'wrong-data');
    throw new RootMismatchError(
      `The contents of batch ${batchId} have root ${root}, not the posted ${batch.root}.`,
    );
  }
  return items;
}
