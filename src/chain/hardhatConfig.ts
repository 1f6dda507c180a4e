// Hardhat 3: Solidity compiled OFFLINE by the pinned npm `solc` package (solc-js, soljson.js), and an
// in-process EDR chain for tests. `path` makes Hardhat use that compiler instead of downloading one
// (a non-binary file at `path` is run as solc-js). See README.md in this folder. The root
// hardhat.config.ts re-exports it for the `hardhat` CLI; living in src/, it is compiled into dist/
// with the rest, so that an installed package has it too.
import { createRequire } from 'node:module';
import { defineConfig } from 'hardhat/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  solidity: {
    version: '0.8.37',
    path: require.resolve('solc/soljson.js'),
    settings: {
      evmVersion: 'cancun',
      optimizer: { enabled: true, runs: 200 },
    },
  },
  paths: {
    sources: 'contracts',
    // Git-ignored (.tmp/ is in .gitignore): build outputs are a cache keyed by Hardhat on the sources.
    artifacts: '.tmp/hardhat/artifacts',
    cache: '.tmp/hardhat/cache',
  },
  networks: {
    default: {
      type: 'edr-simulated',
      chainType: 'l1',
      // The test harness batches thousands of cases per eth_call (eth_call runs with the block gas
      // limit). Contract sizes keep the mainnet 24 KiB limit.
      blockGasLimit: 1_000_000_000n,
      transactionGasCap: false,
    },
  },
});
