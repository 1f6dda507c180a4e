// Writes the ABI and creation bytecode of every contract that deployVerinfer deploys to
// dist/artifacts/<Name>.json, so that the published package deploys without Solidity sources or a
// compiler run (src/chain/hardhat.ts readArtifact reads them from there).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_ROOT, readArtifact } from '../src/chain/hardhat.ts';

export const DEPLOYED_CONTRACTS = [
  'DataRegistry',
  'ModelRegistry',
  'AgentRegistry',
  'OneStepVerifier',
  'DisputeGame',
  'TaskMarket',
  'BatchMarket',
  // The example application the devnet deploys beside the system.
  'MessageBoard',
] as const;

const out = path.join(PROJECT_ROOT, 'dist', 'artifacts');
await mkdir(out, { recursive: true });
for (const name of DEPLOYED_CONTRACTS) {
  const { abi, bytecode } = await readArtifact(name);
  await writeFile(
    path.join(out, `${name}.json`),
    `${JSON.stringify({ contractName: name, abi, bytecode })}\n`,
  );
}
console.log(
  `packed ${DEPLOYED_CONTRACTS.length} contract artifacts into ${path.relative(PROJECT_ROOT, out)}/`,
);
