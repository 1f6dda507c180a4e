// A model's versions as one publisher claimed them: the root, then its parent, and so on, each with
// its name, version, training data and package URI.
import type { Address, Hex } from 'viem';
import { getContractEvents, readContract } from 'viem/actions';
import { abis } from '../../chain/bindings/systemAbis.ts';
import { ZERO_BYTES32 } from '../../chain/bindings/types.ts';
import type { VerinferBaseClient } from '../createVerinferClient.ts';
import { type RpcUnreachableError, UnknownModelError } from '../errors.ts';
import { guard } from '../utils/guard.ts';
import type { FromBlock } from '../utils/tasks.ts';

export interface GetLineageParameters {
  root: Hex;
  /** Whose claims to follow (default: the first publisher of `root`). */
  publisher?: Address;
  /** At most this many versions (default 64). */
  maxDepth?: number;
  fromBlock?: FromBlock;
}

export interface LineageEntry {
  modelRoot: Hex;
  name: string;
  version: string;
  parent: Hex;
  dataId: Hex;
  uri: string;
  registeredAt: bigint;
  /** The training data's registration, when `dataId` is set. */
  dataset?: { registrant: Address; uri: string; registeredAt: bigint; duplicates: number };
}

export interface GetLineageReturnType {
  publisher: Address;
  entries: LineageEntry[];
}

export type GetLineageErrorType = UnknownModelError | RpcUnreachableError;

export async function getLineage(
  client: VerinferBaseClient,
  { root, publisher, maxDepth = 64, fromBlock = 'earliest' }: GetLineageParameters,
): Promise<GetLineageReturnType> {
  const { modelRegistry, dataRegistry } = client.verinfer.contracts;
  const registry = { address: modelRegistry, abi: abis.modelRegistry } as const;
  let who = publisher;
  if (!who) {
    const [first] = await guard('ModelPublished logs', () =>
      getContractEvents(client, {
        ...registry,
        eventName: 'ModelPublished',
        args: { modelRoot: root },
        fromBlock,
      }),
    );
    if (!first) throw new UnknownModelError({ modelRoot: root });
    who = first.args.publisher!;
  }
  const publisherAddress = who;
  const known = await guard('isRegistered', () =>
    readContract(client, { ...registry, functionName: 'isRegistered', args: [root] }),
  );
  if (!known) throw new UnknownModelError({ modelRoot: root });
  const chain = await guard('lineage', () =>
    readContract(client, {
      ...registry,
      functionName: 'lineage',
      args: [root, publisherAddress, BigInt(maxDepth)],
    }),
  );
  const entries: LineageEntry[] = [];
  for (const r of chain) {
    const p = await guard('publication', () =>
      readContract(client, { ...registry, functionName: 'publication', args: [r, publisherAddress] }),
    );
    const entry: LineageEntry = {
      modelRoot: r,
      name: p.name,
      version: p.version,
      parent: p.parent,
      dataId: p.dataId,
      uri: p.uri,
      registeredAt: BigInt(p.registeredAt),
    };
    if (p.dataId !== ZERO_BYTES32) {
      const d = await guard('dataset', () =>
        readContract(client, {
          address: dataRegistry,
          abi: abis.dataRegistry,
          functionName: 'dataset',
          args: [p.dataId],
        }),
      );
      entry.dataset = {
        registrant: d.registrant,
        uri: d.uri,
        registeredAt: BigInt(d.registeredAt),
        duplicates: Number(d.duplicates),
      };
    }
    entries.push(entry);
  }
  return { publisher: publisherAddress, entries };
}
