// The embedded chain and deploy helpers of src/chain: funded accounts, transfers, mining, typed deploys.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseEther } from 'viem';
import { deployArtifact, deployContract } from '../../src/chain/deploy.ts';
import { type EmbeddedChain, startEmbeddedChain } from '../../src/chain/embedded.ts';
import { readArtifact } from '../../src/chain/hardhat.ts';

let chain: EmbeddedChain;
before(async () => {
  chain = await startEmbeddedChain();
});
after(async () => {
  await chain?.close();
});

test('accounts are funded and can transfer; the test client mines blocks', async () => {
  assert.ok(chain.accounts.length >= 10);
  const [, from, to] = chain.accounts;
  const before = await chain.publicClient.getBalance({ address: to });
  assert.ok(before >= parseEther('1000'));
  const hash = await chain.wallet(1).sendTransaction({ to, value: parseEther('1.5') });
  const receipt = await chain.publicClient.waitForTransactionReceipt({ hash });
  assert.equal(receipt.status, 'success');
  assert.equal(receipt.from.toLowerCase(), from.toLowerCase());
  assert.equal(await chain.publicClient.getBalance({ address: to }), before + parseEther('1.5'));
  const height = await chain.publicClient.getBlockNumber();
  await chain.testClient.mine({ blocks: 3 });
  assert.equal(await chain.publicClient.getBlockNumber(), height + 3n);
  assert.throws(() => chain.wallet(10_000), RangeError);
});

test('deployContract and deployArtifact return working contract instances', async () => {
  const artifact = await readArtifact('OneStepHarness');
  assert.match(artifact.bytecode, /^0x[0-9a-f]+$/);
  const abi = [
    {
      type: 'function',
      name: 'isqrt',
      stateMutability: 'pure',
      inputs: [{ name: 'v', type: 'uint256[]' }],
      outputs: [{ name: 'r', type: 'uint256[]' }],
    },
  ] as const;
  // Typed by the ABI: `read.isqrt` takes readonly bigint[] and returns readonly bigint[].
  const typed = await deployContract(chain, { abi, bytecode: artifact.bytecode });
  assert.deepEqual(await typed.contract.read.isqrt([[99n, 100n]]), [9n, 10n]);
  const byName = await deployArtifact(chain, 'OneStepHarness');
  assert.notEqual(byName.address, typed.address);
  assert.ok(byName.receipt.gasUsed > 0n);
  assert.equal(
    await chain.publicClient.getCode({ address: byName.address }),
    await chain.publicClient.getCode({ address: typed.address }),
  );
});

test('independent chains do not share state', async () => {
  const other = await startEmbeddedChain();
  try {
    await chain.testClient.mine({ blocks: 1 });
    assert.notEqual(await other.publicClient.getBlockNumber(), await chain.publicClient.getBlockNumber());
  } finally {
    await other.close();
  }
});
