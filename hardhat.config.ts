// The Hardhat configuration lives in src/chain/hardhatConfig.ts (compiled into dist/ for the
// published package); this file serves the `hardhat` CLI in the repository.
export { default } from './src/chain/hardhatConfig.ts';
