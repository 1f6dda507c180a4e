// The `verinfer/chain` entry: deploy the system and start a local chain. Apart from the package
// entry because it loads Hardhat (for the embedded EDR chain).
export {
  bindVerinfer,
  type ChainClients,
  connectRpc,
  type DeployVerinferOptions,
  deployVerinfer,
  type VerinferAddresses,
  type VerinferDeployment,
} from './deployVerinfer.ts';
export { type EmbeddedChain, startEmbeddedChain } from './embedded.ts';
