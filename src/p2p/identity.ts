// Binding a PeerId to an on-chain agent address, and the AgentRegistry endpoint that names it.
//
// statement = "verinfer-peer:<peerId>:<chainId>:<registry, checksummed>"
// binding   = { address, signature = EIP-191 personal_sign(statement) by address }
// Noise authenticates the PeerId of every connection; the binding then says which agent runs it. The
// chain id and registry are in the statement, so a binding cannot be replayed on another deployment.
import type { PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr';
import { type Address, getAddress, type Hex, isAddress, recoverMessageAddress } from 'viem';
import { z } from 'zod';
import { EndpointError, PeerBindingError } from './errors.ts';
import type { PeerHost } from './host.ts';
import { protocolId } from './protocols.ts';
import { type CallOptions, callProtocol, type PeerTarget, type ServeOptions, serveProtocol } from './rpc.ts';
import { address, chainId, hexBytes } from './schemas.ts';

export interface PeerBindingContext {
  chainId: number;
  /** The AgentRegistry the agent is registered in. */
  registry: Address;
}

export interface PeerBinding {
  address: Address;
  signature: Hex;
}

export function peerBindingStatement(peerId: PeerId | string, context: PeerBindingContext): string {
  if (!isAddress(context.registry))
    throw new PeerBindingError(`Registry "${context.registry}" is not an address.`);
  return `verinfer-peer:${peerId.toString()}:${context.chainId}:${getAddress(context.registry)}`;
}

/** The agent's signature binding `peerId` to its address. */
export async function signPeerBinding(
  account: { address: Address; signMessage(args: { message: string }): Promise<Hex> },
  peerId: PeerId | string,
  context: PeerBindingContext,
): Promise<PeerBinding> {
  const signature = await account.signMessage({ message: peerBindingStatement(peerId, context) });
  return { address: getAddress(account.address), signature };
}

/** Recovers the agent address of a binding for `peerId`; throws PeerBindingError unless it is binding.address. */
export async function verifyPeerBinding(
  peerId: PeerId | string,
  binding: PeerBinding,
  context: PeerBindingContext,
): Promise<Address> {
  let signer: Address;
  try {
    signer = await recoverMessageAddress({
      message: peerBindingStatement(peerId, context),
      signature: binding.signature,
    });
  } catch (cause) {
    throw new PeerBindingError('The peer binding signature is not a valid signature.', { cause });
  }
  if (signer !== getAddress(binding.address)) {
    throw new PeerBindingError(
      `The peer binding for ${peerId} is signed by ${signer}, not by ${binding.address}.`,
      {
        metaMessages: ['The peer claims an agent address it does not control.'],
      },
    );
  }
  return signer;
}

// ---- hello ------------------------------------------------------------------------------------

const helloMessage = z.object({
  chainId,
  registry: address,
  binding: z.object({ address, signature: hexBytes(65) }),
});

export const helloSpec = {
  id: protocolId('hello'),
  request: helloMessage,
  response: helloMessage,
  maxRequestBytes: 4096,
  maxResponseBytes: 4096,
  timeoutMs: 10_000,
};

export interface HelloParams extends PeerBindingContext {
  /** This node's own binding (signPeerBinding over its PeerId). */
  binding: PeerBinding;
}

function checkContext(peer: PeerId, got: z.output<typeof helloMessage>, want: PeerBindingContext) {
  if (got.chainId !== want.chainId || got.registry !== getAddress(want.registry)) {
    throw new PeerBindingError(`Peer ${peer} is on chain ${got.chainId}, registry ${got.registry}.`, {
      metaMessages: [`This node is on chain ${want.chainId}, registry ${getAddress(want.registry)}.`],
    });
  }
}

/**
 * Answers hello: verifies the caller's binding against its authenticated PeerId, reports it through
 * `onPeer`, and returns this node's binding. A forged binding is counted against the peer.
 */
export function serveHello(
  host: PeerHost,
  params: HelloParams & { onPeer?: (peer: PeerId, agent: Address) => void },
  options?: ServeOptions,
) {
  const own = { chainId: params.chainId, registry: getAddress(params.registry), binding: params.binding };
  return serveProtocol(
    host,
    helloSpec,
    async ({ header }, { peer }) => {
      try {
        checkContext(peer, header, params);
        params.onPeer?.(peer, await verifyPeerBinding(peer, header.binding, params));
      } catch (err) {
        host.peers.record(peer.toString(), 'wrong-data');
        options?.onError?.(err, peer);
      }
      return { header: own };
    },
    options,
  );
}

/** Exchanges bindings with a peer; returns its verified agent address. */
export function sayHello(host: PeerHost, target: PeerTarget, params: HelloParams, options?: CallOptions) {
  const own = { chainId: params.chainId, registry: getAddress(params.registry), binding: params.binding };
  return callProtocol(host, target, helloSpec, { header: own }, options, async (r, peer) => {
    checkContext(peer, r.header, params);
    return verifyPeerBinding(peer, r.header.binding, params);
  });
}

// ---- endpoints --------------------------------------------------------------------------------

export const MAX_ENDPOINT_CHARS = 256;
const HOST_PROTOCOLS = new Set(['ip4', 'ip6', 'dns', 'dns4', 'dns6']);

/**
 * The AgentRegistry endpoint of a listen address: `/<ip4|ip6|dns…>/<host>/tcp/<port>/p2p/<peerId>`.
 * `peerId` is appended when the address does not end in /p2p already.
 */
export function endpointOf(addr: Multiaddr | string, peerId?: PeerId | string): string {
  let ma = toMultiaddr(addr);
  if (peerId !== undefined && !ma.getComponents().some((c) => c.name === 'p2p')) {
    ma = ma.encapsulate(`/p2p/${peerId.toString()}`);
  }
  const endpoint = ma.toString();
  parseEndpoint(endpoint);
  return endpoint;
}

/** Parses and validates an endpoint read from the chain (hostile input). */
export function parseEndpoint(endpoint: string): { multiaddr: Multiaddr; peerId: PeerId } {
  if (typeof endpoint !== 'string' || endpoint.length === 0 || endpoint.length > MAX_ENDPOINT_CHARS) {
    throw new EndpointError(
      `An endpoint must be a multiaddr string of 1 to ${MAX_ENDPOINT_CHARS} characters.`,
    );
  }
  const ma = toMultiaddr(endpoint);
  const parts = ma.getComponents();
  const shape = parts.map((c) => c.name).join('/');
  const [hostPart, tcpPart, p2pPart] = parts;
  if (
    parts.length !== 3 ||
    !HOST_PROTOCOLS.has(hostPart.name) ||
    tcpPart.name !== 'tcp' ||
    p2pPart.name !== 'p2p'
  ) {
    throw new EndpointError(`Endpoint "${endpoint}" has the shape /${shape}.`, {
      metaMessages: ['Expected /ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>/p2p/<peerId>.'],
    });
  }
  const port = Number(tcpPart.value);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new EndpointError(`Endpoint "${endpoint}" has port ${tcpPart.value}; expected 1 to 65535.`);
  }
  if (hostPart.value === '0.0.0.0' || hostPart.value === '::') {
    throw new EndpointError(`Endpoint "${endpoint}" names an unspecified address; announce a reachable one.`);
  }
  let peerId: PeerId;
  try {
    peerId = peerIdFromString(p2pPart.value ?? '');
  } catch (cause) {
    throw new EndpointError(`Endpoint "${endpoint}" does not end in a valid PeerId.`, { cause });
  }
  return { multiaddr: ma, peerId };
}

function toMultiaddr(addr: Multiaddr | string): Multiaddr {
  if (typeof addr !== 'string') return addr;
  try {
    return multiaddr(addr);
  } catch (cause) {
    throw new EndpointError(`"${addr.slice(0, 80)}" is not a multiaddr.`, { cause });
  }
}
