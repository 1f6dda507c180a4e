// Helpers of the dispute tests: post a task from a worker's trace, challenge it with another
// trace, and play the game on chain.
import assert from 'node:assert/strict';
import type { Hex } from 'viem';
import { NATIVE } from '../../src/chain/bindings/types.ts';
import type { TraceProvider } from '../../src/dispute/party.ts';
import { gameIdFromLogs, type Player, type PlayOptions, playDispute } from '../../src/dispute/play.ts';
import { checkSettleableInput } from '../../src/engine/validate.ts';
import {
  advance,
  commitmentOf,
  hexOf,
  idOf,
  type Run,
  receiptOf,
  resultOf,
  taskOf,
  type World,
} from '../market/support.ts';

/** A TraceProvider as the Run shape of the market tests (for commitments and posting). */
export function runOfProvider(p: TraceProvider): Run {
  const last = p.opRoots.length - 1;
  return {
    input: p.input,
    trace: [],
    inputBytes: new Uint8Array(),
    inputRoot: p.inputRoot,
    outputBytes: p.opBytes(last),
    outputRoot: p.outputRoot,
    checkpointRoot: p.checkpointRoot,
    traceRoot: p.traceRoot,
    opRoots: [...p.opRoots],
  };
}

/** Requester `req` creates a task on `worker`'s input; worker `wi` posts its result. */
export async function postTask(w: World, req: number, wi: number, worker: TraceProvider, modelRoot?: Hex) {
  // As a worker node would: never post a result it could not defend.
  checkSettleableInput(worker.model, worker.input);
  const run = runOfProvider(worker);
  const task = taskOf(w, w.accounts[req], run, modelRoot ? { modelRoot } : {});
  const id = idOf(w, task);
  const commitment = commitmentOf(id, run);
  await receiptOf(
    w,
    w.v.as(w.chain.wallet(req)).taskMarket.write.createTask([task, '0x'], { value: task.fee }),
  );
  await receiptOf(
    w,
    w.v
      .as(w.chain.wallet(wi))
      .taskMarket.write.postResult([task, commitment, run.outputRoot, hexOf(run.outputBytes)]),
  );
  return { task, id, commitment, run, result: resultOf(w.accounts[wi], commitment, run) };
}

/** Challenger `ci` challenges a posted task; returns the game ID. */
export async function challengeTask(
  w: World,
  ci: number,
  posted: Awaited<ReturnType<typeof postTask>>,
): Promise<bigint> {
  const receipt = await receiptOf(
    w,
    w.v.as(w.chain.wallet(ci)).taskMarket.write.challenge([posted.task, posted.result], {
      value: w.v.params.task.challengeBond,
    }),
  );
  return gameIdFromLogs(receipt.logs, w.v.addresses.disputeGame);
}

export async function play(
  w: World,
  gameId: bigint,
  worker: Player,
  challenger: Player,
  options: PlayOptions = {},
) {
  return playDispute(w.v, w.chain.publicClient, gameId, worker, challenger, {
    advance: (s) => advance(w, s),
    ...options,
  });
}

/** Asserts the game holds exactly the bonds of its unresolved games plus its credits. */
export async function assertGameSolvent(w: World, accounts: readonly Hex[]) {
  const bal = await w.chain.publicClient.getBalance({ address: w.v.addresses.disputeGame });
  let credits = 0n;
  for (const a of accounts) credits += await w.v.disputeGame.read.credits([a]);
  let bonds = 0n;
  const n = await w.v.disputeGame.read.gameCount();
  for (let i = 1n; i <= n; i++) bonds += (await w.v.disputeGame.read.game([i])).bond;
  assert.equal(bal, credits + bonds, 'game balance = unresolved bonds + credits');
}

export { NATIVE };
