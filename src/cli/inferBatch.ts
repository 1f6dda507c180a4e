// `verinfer infer --batch`: the inference goes to a worker over libp2p as a signed request in a
// bundle; the worker proposes a batch header, this client checks every leaf against its own
// request and signs the header, the worker posts it, and the batch settles after its window.
import type { Address, Chain, Hex, PublicClient, Transport, WalletClient } from 'viem';
import { BATCH_STATUS, requestBatch, waitForBatchFinality } from '../batch/requester.ts';
import { abis } from '../chain/bindings/systemAbis.ts';
import { toHex } from '../commit/keccak.ts';
import { tensorBytes } from '../commit/tensorRoot.ts';
import type { Tensor } from '../engine/tensor.ts';
import { VerinferError } from '../errors/base.ts';
import { createPeerHost } from '../p2p/host.ts';
import { parseEndpoint } from '../p2p/identity.ts';
import type { Network, NetworkClient } from './network.ts';

export class BatchInferError extends VerinferError {
  override name = 'BatchInferError' as const;
}

export interface BatchInferResult {
  batchId: bigint;
  /** The request's hash: the task ID inside its result commitment. */
  taskId: Hex;
  worker: Address;
  output: Hex;
  outputRoot: Hex;
  txHash: Hex;
}

/** The registered workers that serve `modelRoot` and publish a peer endpoint. */
async function workersFor(client: NetworkClient, registry: Address, modelRoot: Hex) {
  const read = <T>(functionName: string, args: readonly unknown[] = []) =>
    client.readContract({
      address: registry,
      abi: abis.agentRegistry,
      functionName,
      args,
    } as never) as Promise<T>;
  const count = await read<bigint>('agentCount');
  const found: { address: Address; endpoint: string }[] = [];
  for (let i = 0n; i < count && i < 1_000n; i++) {
    const address = await read<Address>('agentAt', [i]);
    const [info, serves, active] = await Promise.all([
      read<{ endpoint: string }>('agentInfo', [address]),
      read<boolean>('serves', [address, modelRoot]),
      read<boolean>('isActive', [address]),
    ]);
    if (!serves || !active || !info.endpoint) continue;
    try {
      parseEndpoint(info.endpoint);
      found.push({ address, endpoint: info.endpoint });
    } catch {}
  }
  return found;
}

export async function inferBatch(
  net: Network,
  o: { modelRoot: Hex; input: Tensor; fee: bigint; timeoutMs: number; say: (line: string) => void },
): Promise<BatchInferResult> {
  const { client } = await net.writer();
  const workers = await workersFor(client, net.deployment.addresses.agentRegistry, o.modelRoot);
  if (workers.length === 0)
    throw new BatchInferError('No registered worker serves this model with a peer endpoint.', {
      metaMessages: ['Batches need a worker node with p2p.listen in its config (the devnet has three).'],
    });
  const host = await createPeerHost({ listen: [] });
  try {
    const bytes = tensorBytes(o.input.dtype, o.input.data);
    let lastError: unknown;
    for (const w of workers) {
      o.say(`… sending the signed request to worker ${w.address} at ${w.endpoint}`);
      try {
        const posted = await requestBatch({
          host,
          worker: parseEndpoint(w.endpoint).multiaddr,
          workerAddress: w.address,
          wallet: client as unknown as WalletClient<Transport, Chain, NonNullable<NetworkClient['account']>>,
          publicClient: client as unknown as PublicClient<Transport, Chain>,
          addresses: net.deployment.addresses,
          requests: [{ modelRoot: o.modelRoot, input: bytes }],
          fee: o.fee,
        });
        const leaf = posted.leaves[0];
        o.say(`✓ batch ${posted.batchId} posted by ${w.address}\n    tx ${posted.transactionHash}`);
        o.say('… waiting for the batch challenge window to close');
        const status = await waitForBatchFinality({
          publicClient: client as unknown as PublicClient<Transport, Chain>,
          addresses: net.deployment.addresses,
          batchId: posted.batchId,
          timeoutMs: o.timeoutMs,
        });
        if (status === BATCH_STATUS.convicted)
          throw new BatchInferError(`Batch ${posted.batchId} was convicted: a result in it was wrong.`, {
            metaMessages: ['Its fees come back to your BatchMarket deposit.'],
          });
        return {
          batchId: posted.batchId,
          taskId: leaf.leaf.requestHash,
          worker: w.address,
          output: toHex(leaf.output),
          outputRoot: leaf.leaf.outputRoot,
          txHash: posted.transactionHash,
        };
      } catch (err) {
        if (err instanceof BatchInferError) throw err;
        lastError = err;
        o.say(`! worker ${w.address}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    throw new BatchInferError('No worker took the batch request.', { cause: lastError });
  } finally {
    await host.stop();
  }
}
