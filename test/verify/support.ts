// Shared helpers of the one-step verifier tests: an embedded EDR chain with OneStepVerifier and
// the batching caller OneStepVerifierBatch deployed, and batched computeElement calls.
import type { Abi, Address, Hex } from 'viem';
import { deployContract } from '../../src/chain/deploy.ts';
import { type EmbeddedChain, startEmbeddedChain } from '../../src/chain/embedded.ts';
import { readArtifact } from '../../src/chain/hardhat.ts';
import { type ArtifactLoader, decodeOneStepError, deployOneStepVerifier } from '../../src/dispute/onestep.ts';
import type { Step } from '../../src/dispute/witness.ts';

export type Outcome =
  | { ok: true; value: number; inputRoots: Hex[]; gas: number }
  | { ok: false; error: string; args: readonly unknown[]; data: Hex; gas: number };

export interface VerifierRig {
  chain: EmbeddedChain;
  verifier: Address;
  /** computeElement for every step, batched into eth_calls of bounded work (EDR traces every EVM step). */
  run(steps: readonly Step[], weights?: readonly number[]): Promise<Outcome[]>;
  close(): Promise<void>;
}

/**
 * Work units per eth_call. A unit is about 100 EVM steps, and EDR keeps about 0.3 KB of trace per
 * step in memory while a call runs, so one call stays around a few hundred MB.
 */
export const CALL_BUDGET = 10_000;

/**
 * A rough measure of a step's EVM work (for batching only): the proofs, plus the operands, of
 * which there are at most as many as supplied chunk bytes (a long reduction loops over each).
 */
export function stepWeight(step: Step): number {
  let w = 100;
  for (const t of step.inputs) {
    w += 20;
    for (const c of t.chunks) w += 10 + (c.chunk.length - 2) / 4;
  }
  return w;
}

export async function startVerifierRig(load: ArtifactLoader = readArtifact): Promise<VerifierRig> {
  const chain = await startEmbeddedChain();
  const verifier = await deployOneStepVerifier(chain, load);
  const batchArtifact = await load('OneStepVerifierBatch');
  const { address: batch } = await deployContract(
    chain,
    { abi: batchArtifact.abi as Abi, bytecode: batchArtifact.bytecode },
    [verifier] as never,
  );
  const call = async (steps: Step[]): Promise<Outcome[]> => {
    const results = (await chain.publicClient.readContract({
      address: batch,
      abi: batchArtifact.abi as Abi,
      functionName: 'computeMany',
      args: [steps],
    })) as { ok: boolean; value: bigint; gasUsed: bigint; inputRoots: readonly Hex[]; revertData: Hex }[];
    return results.map((r) => {
      const gas = Number(r.gasUsed);
      if (r.ok) return { ok: true, value: Number(r.value), inputRoots: [...r.inputRoots], gas };
      let decoded: { errorName: string; args: readonly unknown[] } = { errorName: 'unknown', args: [] };
      try {
        decoded = decodeOneStepError(r.revertData);
      } catch {
        // Not a custom error of the verifier (e.g. a panic): keep the raw data.
      }
      return { ok: false, error: decoded.errorName, args: decoded.args, data: r.revertData, gas };
    });
  };
  return {
    chain,
    verifier,
    async run(steps, weights) {
      const out: Outcome[] = [];
      let batchSteps: Step[] = [];
      let used = 0;
      for (let i = 0; i < steps.length; i++) {
        const w = weights?.[i] ?? stepWeight(steps[i]);
        if (batchSteps.length > 0 && used + w > CALL_BUDGET) {
          out.push(...(await call(batchSteps)));
          batchSteps = [];
          used = 0;
        }
        batchSteps.push(steps[i]);
        used += w;
      }
      if (batchSteps.length > 0) out.push(...(await call(batchSteps)));
      return out;
    },
    close: () => chain.close(),
  };
}
