// Every bad input is its own typed error, raised before anything is sent.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type Hex, http, parseEther } from 'viem';
import { hardhat } from 'viem/chains';
import { toHex } from '../../src/commit/keccak.ts';
import { modelRoot } from '../../src/commit/modelRoot.ts';
import {
  ContractRevertError,
  createVerinferClient,
  EmptyInputError,
  InputShapeError,
  InputTooLargeError,
  NoStakeError,
  RpcUnreachableError,
  StakeTooLowError,
  UnknownModelError,
  VerinferError,
} from '../../src/index.ts';
import { handInput } from '../market/support.ts';
import { handModel } from '../support/handModel.ts';
import { type ClientWorld, PUBLISHER, REQUESTER, rejectsWithoutTx, startClientWorld } from './support.ts';

/** A local TCP port that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('client errors', () => {
  let w: ClientWorld;
  const model = handModel();
  const root = toHex(modelRoot(model));
  const fee = parseEther('0.01');
  const STRANGER = 5;

  before(async () => {
    w = await startClientWorld();
    await w.client(PUBLISHER).registerModel({ model, info: { name: 'hand', version: '1' } });
  });
  after(() => w?.close());

  const requester = () => w.chain.accounts[REQUESTER];

  it('an unregistered model is an UnknownModelError', async () => {
    const other: Hex = `0x${'11'.repeat(32)}`;
    const err = await rejectsWithoutTx(
      w,
      requester(),
      () => w.client(REQUESTER).requestInference({ model: other, input: handInput(1), fee }),
      UnknownModelError,
    );
    assert.match(err.message, /registerModel/);
    const unregistered = handModel();
    unregistered.meta.version = 'never registered';
    await rejectsWithoutTx(
      w,
      requester(),
      () => w.client(REQUESTER).requestInference({ model: unregistered, input: handInput(1), fee }),
      UnknownModelError,
    );
  });

  it('an input of the wrong shape is an InputShapeError, with or without the model at hand', async () => {
    const wrong = { dtype: 'u8' as const, shape: [1, 1, 3, 3], data: new Uint8Array(9), zeroPoint: 10 };
    const local = await rejectsWithoutTx(
      w,
      requester(),
      () => w.client(REQUESTER, [model]).requestInference({ model: root, input: wrong, fee }),
      InputShapeError,
    );
    assert.match(local.message, /\[1,1,3,3\]/);
    // Without the model, the registry's layout still fixes a sample at 16 bytes.
    const bare = await rejectsWithoutTx(
      w,
      requester(),
      () => w.client(REQUESTER).requestInference({ model: root, input: new Uint8Array(9), fee }),
      InputShapeError,
    );
    assert.match(bare.message, /16 bytes/);
  });

  it('an empty input is an EmptyInputError', async () => {
    await rejectsWithoutTx(
      w,
      requester(),
      () => w.client(REQUESTER).requestInference({ model: root, input: new Uint8Array(0), fee }),
      EmptyInputError,
    );
    await rejectsWithoutTx(
      w,
      requester(),
      () => w.client(REQUESTER).requestInference({ model: root, input: '0x', fee }),
      EmptyInputError,
    );
  });

  it('an oversized input is an InputTooLargeError', async () => {
    // 257 samples: one more than a task settles.
    await rejectsWithoutTx(
      w,
      requester(),
      () => w.client(REQUESTER).requestInference({ model: root, input: handInput(1, 257), fee }),
      InputTooLargeError,
    );
    await rejectsWithoutTx(
      w,
      requester(),
      () => w.client(REQUESTER).requestInference({ model: root, input: new Uint8Array(200_000), fee }),
      InputTooLargeError,
    );
  });

  it('a closed RPC port is an RpcUnreachableError', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const client = createVerinferClient({
      chain: hardhat,
      transport: http(url, { retryCount: 0 }),
      account: requester(),
      contracts: w.v.addresses,
    });
    await assert.rejects(client.requestInference({ model: root, input: handInput(1), fee }), (err) => {
      assert.ok(err instanceof RpcUnreachableError);
      assert.ok(err instanceof VerinferError);
      assert.match(err.message, /127\.0\.0\.1/);
      return true;
    });
  });

  it('a stake below the minimum is a StakeTooLowError; unbonding without stake a NoStakeError', async () => {
    const stranger = w.chain.accounts[STRANGER];
    const err = await rejectsWithoutTx(
      w,
      stranger,
      () => w.client(STRANGER).stake({ amount: 1n }),
      StakeTooLowError,
    );
    assert.equal((err as StakeTooLowError).minStake, w.v.params.minStake);
    await rejectsWithoutTx(w, stranger, () => w.client(STRANGER).unbond({ amount: 1n }), NoStakeError);
  });

  it('a fee below the market minimum is a ContractRevertError naming the custom error', async () => {
    const err = await rejectsWithoutTx(
      w,
      requester(),
      () => w.client(REQUESTER).requestInference({ model: root, input: handInput(1), fee: 1n }),
      ContractRevertError,
    );
    const revert = err as ContractRevertError;
    assert.equal(revert.errorName, 'TaskMarketFeeTooLow');
    assert.equal(revert.args[1], 1n);
    assert.match(revert.message, /createTask reverted with TaskMarketFeeTooLow/);
  });

  it('errors carry a docs path', async () => {
    const err = new UnknownModelError({ modelRoot: root });
    assert.equal(err.docsPath, 'protocol.md');
    assert.match(err.message, /Docs: docs\/protocol\.md/);
    assert.equal(err.name, 'UnknownModelError');
  });
});
