// Builds batches of signed requests and results for the BatchMarket tests and the gas bench.
import type { Account, Address, Chain, Hex, Transport, WalletClient } from 'viem';
import {
  buildBatchTree,
  HEADER_TYPES,
  REQUEST_TYPES,
  requestDomain,
  requestHashOf,
} from '../../src/chain/bindings/commitments.ts';
import type { BatchHeaderArgs, LeafArgs, RequestArgs } from '../../src/chain/bindings/types.ts';
import { fromHex, toHex } from '../../src/commit/keccak.ts';
import { resultCommitment } from '../../src/commit/traceRoot.ts';
import type { TraceProvider } from '../../src/dispute/party.ts';

export interface BatchItem {
  request: RequestArgs;
  requestHash: Hex;
  leaf: LeafArgs;
  trace: TraceProvider;
}

/** The leaf of one result: the request hash is the task ID inside the result commitment. */
export function itemOf(
  chainId: number,
  market: Hex,
  request: RequestArgs,
  trace: TraceProvider,
  fee = request.fee,
): BatchItem {
  const requestHash = requestHashOf(chainId, market, request);
  const commitment = toHex(
    resultCommitment(fromHex(requestHash), {
      inputRoot: fromHex(trace.inputRoot),
      outputRoot: fromHex(trace.outputRoot),
      checkpointRoot: fromHex(trace.checkpointRoot),
    }),
  );
  return {
    request,
    requestHash,
    trace,
    leaf: { requestHash, resultCommitment: commitment, outputRoot: trace.outputRoot, fee },
  };
}

export function signRequest(
  wallet: WalletClient<Transport, Chain, Account>,
  market: Hex,
  request: RequestArgs,
): Promise<Hex> {
  return wallet.signTypedData({
    domain: requestDomain(wallet.chain.id, market),
    types: REQUEST_TYPES,
    primaryType: 'Request',
    message: request,
  });
}

export function treeOf(items: readonly BatchItem[]) {
  return buildBatchTree(items.map((i) => i.leaf));
}

/** The requester's EIP-712 signature of a batch header: its consent to the batch. */
export function signHeader(
  wallet: WalletClient<Transport, Chain, Account>,
  market: Hex,
  header: BatchHeaderArgs,
): Promise<Hex> {
  return wallet.signTypedData({
    domain: requestDomain(wallet.chain.id, market),
    types: HEADER_TYPES,
    primaryType: 'BatchHeader',
    message: header,
  });
}

let headerNonce = 0n;

/** The header of `items` for `worker`, charging their fees (or `over.totalFee`) to `requester`. */
export function headerOf(
  items: readonly BatchItem[],
  requester: Address,
  worker: Address,
  over: Partial<BatchHeaderArgs> = {},
): BatchHeaderArgs {
  const tree = treeOf(items);
  headerNonce += 1n;
  return {
    requester,
    worker,
    feeToken: items[0]?.request.feeToken ?? '0x0000000000000000000000000000000000000000',
    root: tree.root,
    count: items.length,
    totalFee: tree.totalFee,
    nonce: headerNonce,
    deadline: 2n ** 40n,
    ...over,
  };
}
