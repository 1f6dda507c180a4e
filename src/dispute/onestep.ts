// The on-chain one-step verifier (contracts/verify/OneStepVerifier.sol) through viem: its ABI,
// deployment, and computeElement as a call and as a gas estimate.
import {
  type Account,
  type Address,
  type Chain,
  decodeErrorResult,
  encodeFunctionData,
  type Hex,
  type PublicClient,
  parseAbi,
  type Transport,
  type WalletClient,
} from 'viem';
import { deployContract } from '../chain/deploy.ts';
import { readArtifact } from '../chain/hardhat.ts';
import type { Step } from './witness.ts';

/** computeElement and every custom error it can revert with (OneStep… and the onestep libraries'). */
export const oneStepVerifierAbi = parseAbi([
  'struct ChunkProof { uint256 index; bytes chunk; bytes32[] siblings; }',
  'struct TensorOpening { uint256 id; uint256 kind; uint256 dtype; uint256[] shape; int256 zeroPoint; bytes32 constRoot; bytes32[] leafSiblings; bytes32 root; uint256 byteLength; ChunkProof[] chunks; }',
  'struct OpOpening { uint256 index; uint256 code; uint256[] inputs; uint256 output; int256[] attrs; bytes32[] leafSiblings; }',
  'struct Step { bytes32 modelRoot; uint256 modelLeafCount; uint256 opCount; OpOpening op; TensorOpening[] inputs; TensorOpening output; uint256 batch; uint256 element; }',
  'function computeElement(Step step) view returns (uint256 value, bytes32[] inputRoots)',
  'function segmentCount(Step step) view returns (uint256 segments)',
  'function computeSegment(Step step, uint256 segment, int256 acc) view returns (int256 value, bytes32[] inputRoots)',
  // contracts/verify/OneStepErrors.sol
  'error OneStepZeroBatch()',
  'error OneStepOpIndexOutOfRange(uint256 index, uint256 opCount)',
  'error OneStepBadLeafCount(uint256 leafCount, uint256 opCount)',
  'error OneStepLeafProofLength(uint256 leafIndex, uint256 got, uint256 expected)',
  'error OneStepOpLeafMismatch(uint256 opIndex)',
  'error OneStepTensorLeafMismatch(uint256 tensorId)',
  'error OneStepTensorOutOfRange(uint256 tensorId, uint256 tensorCount)',
  'error OneStepInputCount(uint256 expected, uint256 got)',
  'error OneStepTensorIdMismatch(uint256 position, uint256 expected, uint256 got)',
  'error OneStepBadKind(uint256 tensorId, uint256 kind)',
  'error OneStepBadDtype(uint256 tensorId, uint256 dtype)',
  'error OneStepBadShape(uint256 tensorId)',
  'error OneStepConstRootMismatch(uint256 tensorId)',
  'error OneStepByteLength(uint256 tensorId, uint256 byteLength, uint256 expected)',
  'error OneStepChunkOutOfRange(uint256 tensorId, uint256 chunkIndex, uint256 chunkCount)',
  'error OneStepChunkProofLength(uint256 tensorId, uint256 chunkIndex, uint256 got, uint256 expected)',
  'error OneStepChunkLength(uint256 tensorId, uint256 chunkIndex, uint256 got, uint256 expected)',
  'error OneStepChunkMismatch(uint256 tensorId, uint256 chunkIndex)',
  'error OneStepMissingChunk(uint256 tensorId, uint256 chunkIndex)',
  'error OneStepIndexOutOfRange(uint256 tensorId, uint256 index, uint256 count)',
  'error OneStepElementOutOfRange(uint256 element, uint256 count)',
  'error OneStepUnknownOp(uint256 code)',
  'error OneStepBadInputCount(uint256 code, uint256 count)',
  'error OneStepBadAttributes(uint256 code, uint256 length)',
  'error OneStepBadAttribute(uint256 position, int256 value)',
  'error OneStepBadRequant(uint256 tensorId, uint256 length)',
  'error OneStepBadSegment(uint256 segment, uint256 segments)',
  // contracts/lib and contracts/onestep: only a model outside validate.ts's ranges reaches these.
  'error IndexOutOfRange(uint256 index, uint256 count)',
  'error NotBroadcastable(uint256 inDim, uint256 outDim)',
  'error NonPositiveDivisor(int256 divisor)',
  'error ShiftTooLarge(uint256 shift)',
  'error OutOfRange(uint256 index, uint256 length)',
  'error ZeroPointOutOfRange(int256 zeroPoint)',
  'error LengthMismatch(uint256 aLength, uint256 bLength)',
  'error BadTable(uint256 length)',
  'error AboveMax(uint256 x, uint256 max)',
  'error NotU8(int256 value)',
  'error EmptyRow()',
  'error NegativeRadicand(int256 radicand)',
  'error RowOutOfRange(uint256 D, int256 S)',
  'error TokenOutOfRange(int256 id, uint256 vocab)',
  'error BadPermutation()',
  'error AxisMismatch(uint256 sum, uint256 axisSize)',
  'error TapsMismatch(uint256 length, uint256 kernelArea)',
  'error TapsMismatch(uint256 xLength, uint256 wLength, uint256 kernelArea)',
  'error EmptyReduction()',
  'error BadLayout()',
]);

type Wallet = WalletClient<Transport, Chain, Account>;
type Client = PublicClient<Transport, Chain>;

/** Where contract artifacts come from (default: the project build, src/chain/hardhat.ts). */
export type ArtifactLoader = (name: string) => Promise<{ abi: readonly unknown[]; bytecode: Hex }>;

/** Builds contracts/ if needed and deploys OneStepVerifier; returns its address. */
export async function deployOneStepVerifier(
  chain: { publicClient: Client; walletClient: Wallet },
  load: ArtifactLoader = readArtifact,
): Promise<Address> {
  const { bytecode } = await load('OneStepVerifier');
  const { address } = await deployContract(chain, { abi: oneStepVerifierAbi, bytecode });
  return address;
}

export interface ElementResult {
  /** The true value of the output element. */
  value: number;
  /** Per input, the tensor root it was opened against (zero for constants). */
  inputRoots: Hex[];
}

/** eth_call of computeElement(step). A revert surfaces as viem's ContractFunctionExecutionError. */
export async function computeElementOnChain(
  client: Client,
  verifier: Address,
  step: Step,
): Promise<ElementResult> {
  const [value, inputRoots] = await client.readContract({
    address: verifier,
    abi: oneStepVerifierAbi,
    functionName: 'computeElement',
    args: [step],
  });
  return { value: Number(value), inputRoots: [...inputRoots] };
}

/** eth_estimateGas of a transaction calling computeElement(step) (21000 base and calldata included). */
export function estimateComputeElementGas(
  client: Client,
  verifier: Address,
  step: Step,
  from: Address,
): Promise<bigint> {
  const data = encodeFunctionData({ abi: oneStepVerifierAbi, functionName: 'computeElement', args: [step] });
  return client.estimateGas({ account: from, to: verifier, data });
}

/** The calldata of computeElement(step), e.g. to forward through another contract. */
export function encodeComputeElement(step: Step): Hex {
  return encodeFunctionData({ abi: oneStepVerifierAbi, functionName: 'computeElement', args: [step] });
}

/** The name and arguments of a verifier revert, from its raw revert data. */
export function decodeOneStepError(data: Hex): { errorName: string; args: readonly unknown[] } {
  const { errorName, args } = decodeErrorResult({ abi: oneStepVerifierAbi, data });
  return { errorName, args: args ?? [] };
}

/**
 * eth_call of computeSegment(step, segment, acc): the prefix sum after segment `segment` given the
 * one before it (acc), or for segment = S the requantized output of the whole sum acc.
 */
export async function computeSegmentOnChain(
  client: Client,
  verifier: Address,
  step: Step,
  segment: number,
  acc: bigint,
): Promise<{ value: bigint; inputRoots: Hex[] }> {
  const [value, inputRoots] = await client.readContract({
    address: verifier,
    abi: oneStepVerifierAbi,
    functionName: 'computeSegment',
    args: [step, BigInt(segment), acc],
  });
  return { value, inputRoots: [...inputRoots] };
}

/** eth_call of segmentCount(step): the segments op step.op splits its reduction into. */
export async function segmentCountOnChain(client: Client, verifier: Address, step: Step): Promise<number> {
  return Number(
    await client.readContract({
      address: verifier,
      abi: oneStepVerifierAbi,
      functionName: 'segmentCount',
      args: [step],
    }),
  );
}

/** The calldata of computeSegment(step, segment, acc). */
export function encodeComputeSegment(step: Step, segment: number, acc: bigint): Hex {
  return encodeFunctionData({
    abi: oneStepVerifierAbi,
    functionName: 'computeSegment',
    args: [step, BigInt(segment), acc],
  });
}
