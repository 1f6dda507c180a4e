// Builds batches of signed requests and results for the BatchMarket tests and the gas bench.
import type { Account, Chain, Hex, Transport, WalletClient } from 'viem';
import {
  buildBatchTree,
  REQUEST_TYPES,
  requestDomain,
  requestHashOf,
} from '../../src/chain/bindings/commitments.ts';
import type { LeafArgs, RequestArgs } from '../../src/chain/bindings/types.ts';
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
