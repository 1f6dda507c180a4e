// The simulator's accounting pinned to the contracts: a seeded mix of tasks played on the embedded
// chain (honest results, cheats convicted by a watcher, a sybil game alongside the watcher's, a
// wrong challenger, audits attested before or after a game, challenged, colluded with or left
// silent, conviction bounties claimed or left) and, step by step, the same events through
// src/economics/ledger.ts with the contracts' rules (PLANNED_RULES). After every task every
// balance the contracts keep (market owed and unclaimed conviction bounties, registry
// stake/locked/claimable, game credits, the burn address) must equal the ledger's to the wei. The gas the simulator assumes per action must not
// be below what these actions use.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { encodeAbiParameters, type Hex, keccak256, parseEther } from 'viem';
import { BURN_ADDRESS, NATIVE } from '../../src/chain/bindings/types.ts';
import { corruptedParty, honestParty, type TraceProvider } from '../../src/dispute/party.ts';
import { Ledger, type TaskRecord } from '../../src/economics/ledger.ts';
import { BENCH_GAS } from '../../src/economics/params.ts';
import { Rng } from '../../src/economics/rng.ts';
import { PLANNED_RULES } from '../../src/economics/rules.ts';
import { play, postTask } from '../game/support.ts';
import {
  advance,
  balance,
  handInput,
  mine,
  receiptOf,
  registerAgent,
  startWorld,
  TEST_PARAMS,
  type World,
} from '../market/support.ts';

const TASKS = Number(process.env.VERINFER_ECON_TASKS ?? 200);
const WORKER = 1;
const REQ = 3;
const AUDITORS = [2, 4, 5];
const WATCHER = 6;
const SYBIL = 7;
const KEEPER = 8;
const ACCOUNTS = [WORKER, 2, REQ, 4, 5, WATCHER, SYBIL, KEEPER];

let w: World;
let ledger: Ledger;
let burn0: bigint;
/** Convicted tasks whose bounties may still be unclaimed: the market's view and the ledger's record. */
const convictions: { id: Hex; task: TaskRecord }[] = [];
const gasSeen = { attest: 0, challenge: 0, slashSilent: 0, endGame: 0 };

before(async () => {
  w = await startWorld({ ...TEST_PARAMS, task: { ...TEST_PARAMS.task, auditBps: 5_000 } });
  const p = w.v.params;
  ledger = new Ledger({
    task: p.task,
    minStake: p.minStake,
    auditThreshold: p.auditThreshold,
    gameWorkerShareBps: p.gameWorkerShareBps,
    rules: PLANNED_RULES,
    minFee: p.feeTokens.find((f) => f.token === NATIVE)?.minFee ?? 0n,
  });
  // Same registration order as on chain: selectVerifier scans the agent list.
  const stakes: [number, bigint][] = [
    [WORKER, parseEther('100')],
    [2, parseEther('20')],
    [4, parseEther('20')],
    [5, parseEther('20')],
  ];
  for (const [i, stake] of stakes) {
    await registerAgent(w, i, [w.modelRoot], stake);
    ledger.register(i, stake);
  }
  burn0 = await balance(w, BURN_ADDRESS);
});
after(async () => w?.close());

const as = (i: number) => w.v.as(w.chain.wallet(i));
const indexOf = (a: string) => w.accounts.findIndex((x) => x.toLowerCase() === a.toLowerCase());
const gasOf = async (key: keyof typeof gasSeen, hash: Promise<Hex>) => {
  const r = await receiptOf(w, hash);
  gasSeen[key] = Math.max(gasSeen[key], Number(r.gasUsed));
  return r;
};

/** The settled conviction escrow TaskMarket holds for `a`: Σ bountyWins × the per-win share. */
async function bountyOnChain(a: Hex): Promise<bigint> {
  let sum = 0n;
  for (const c of convictions) {
    const pool = await w.v.taskMarket.read.disputes([c.id]);
    if (pool.open !== 0n) continue;
    sum += (await w.v.taskMarket.read.bountyWins([c.id, a])) * pool.escrow;
  }
  return sum;
}

async function assertBalances(label: string) {
  for (const i of ACCOUNTS) {
    const a = w.accounts[i];
    const info = await w.v.agentRegistry.read.agentInfo([a]);
    const got = {
      owed: await w.v.taskMarket.read.owed([NATIVE, a]),
      bounty: await bountyOnChain(a),
      stake: info.stake,
      locked: info.locked,
      claimable: await w.v.agentRegistry.read.claimable([a]),
      credits: await w.v.disputeGame.read.credits([a]),
    };
    const want = {
      owed: ledger.owed[i] ?? 0n,
      bounty: ledger.bounty[i] ?? 0n,
      stake: ledger.stake[i] ?? 0n,
      locked: ledger.locked[i] ?? 0n,
      claimable: ledger.claimable[i] ?? 0n,
      credits: ledger.credits[i] ?? 0n,
    };
    assert.deepEqual(got, want, `${label}: account ${i}`);
  }
  assert.equal((await balance(w, BURN_ADDRESS)) - burn0, ledger.burnt, `${label}: burnt`);
}

type Posted = Awaited<ReturnType<typeof postTask>>;

async function openGame(ci: number, posted: Posted, t: TaskRecord) {
  const receipt = gasOf('challenge', challengeReceipt(ci, posted));
  await receipt;
  const gameId = (await w.v.disputeGame.read.gameCount()) as bigint;
  return { gameId, index: ledger.challenge(t, ci) };
}

function challengeReceipt(ci: number, posted: Posted) {
  return as(ci).taskMarket.write.challenge([posted.task, posted.result], {
    value: w.v.params.task.challengeBond,
  });
}

test(`${TASKS} tasks on the embedded chain: the ledger under the contracts' rules predicts every wei`, async (t) => {
  const rng = new Rng(7);
  const counts: Record<string, number> = {};
  const seen = (k: string) => {
    counts[k] = (counts[k] ?? 0) + 1;
  };
  for (let n = 0; n < TASKS; n++) {
    const input = handInput(1_000 + n);
    const truth = honestParty(w.model, input);
    const cheats = rng.chance(0.5);
    const worker: TraceProvider = cheats ? corruptedParty(w.model, input, w.model.ops.length - 1, 0) : truth;
    const posted = await postTask(w, REQ, WORKER, worker);
    const task = ledger.createTask(REQ, posted.task.fee);
    ledger.post(task, WORKER);

    // The draw, from the seed the contract uses.
    await mine(w, 2);
    const seedBlock = BigInt((await w.v.taskMarket.read.taskState([posted.id])).seedBlock) + 1n;
    const hash = (await w.chain.publicClient.getBlock({ blockNumber: seedBlock })).hash!;
    const seed = keccak256(
      encodeAbiParameters([{ type: 'bytes32' }, { type: 'bytes32' }], [hash, posted.id]),
    );
    const auditorSeed = keccak256(encodeAbiParameters([{ type: 'bytes32' }], [seed]));
    await receiptOf(w, as(KEEPER).taskMarket.write.drawAudit([posted.task, posted.result]));
    ledger.drawAudit(task, Number(BigInt(seed) % 10_000n), BigInt(auditorSeed));
    const audit = await w.v.taskMarket.read.audit([posted.id]);
    const auditor = task.audit === 'assigned' ? indexOf(audit.auditor) : -1;
    assert.equal(audit.state === 2 ? auditor : -1, task.auditor, 'the same auditor');
    if (auditor >= 0) assert.ok(AUDITORS.includes(auditor));

    // What the auditor does.
    const action =
      auditor < 0 ? 'none' : rng.chance(0.25) ? 'silent' : cheats && rng.chance(0.3) ? 'collude' : 'work';
    seen(`${cheats ? 'cheat' : 'honest'}/${action}`);
    let convicted = false;
    const attest = async () => {
      await gasOf(
        'attest',
        as(auditor).taskMarket.write.attestAudit([posted.task, posted.result, worker.checkpointRoot]),
      );
      ledger.attest(task, auditor);
    };
    const wrongChallenge = !cheats && rng.chance(0.1);
    const lateAttest = wrongChallenge && action === 'work';
    if (action === 'collude' || (action === 'work' && !cheats && !lateAttest)) await attest();
    if (action === 'work' && cheats) {
      const g = await openGame(auditor, posted, task);
      const r = await play(
        w,
        g.gameId,
        { wallet: w.chain.wallet(WORKER), trace: worker },
        { wallet: w.chain.wallet(auditor), trace: truth },
      );
      assert.equal(r.outcome, 1);
      ledger.resolveGame(g.index, true);
      convicted = true;
    }
    if (cheats && !convicted && rng.chance(0.8)) {
      // A watcher challenges; sometimes the worker's sybil opens a game too and convicts first.
      // No game is moot: the watcher's plays on (here the worker lets its clock run out), and the
      // escrow is split between the two won games.
      const honestGame = await openGame(WATCHER, posted, task);
      if (rng.chance(0.3)) {
        seen('sybil race');
        const sybilGame = await openGame(SYBIL, posted, task);
        await play(
          w,
          sybilGame.gameId,
          { wallet: w.chain.wallet(WORKER), trace: worker },
          { wallet: w.chain.wallet(SYBIL), trace: truth },
        );
        ledger.resolveGame(sybilGame.index, true);
        assert.equal(await w.v.taskMarket.read.isConvicted([posted.id]), true);
        assert.equal((await w.v.taskMarket.read.disputes([posted.id])).open, 1n, 'the watcher plays on');
        await advance(w, Number(w.v.params.clockBudget) + 1);
        await gasOf('endGame', as(WATCHER).disputeGame.write.timeout([honestGame.gameId]));
        ledger.resolveGame(honestGame.index, true);
      } else {
        await play(
          w,
          honestGame.gameId,
          { wallet: w.chain.wallet(WORKER), trace: worker },
          { wallet: w.chain.wallet(WATCHER), trace: truth },
        );
        ledger.resolveGame(honestGame.index, true);
      }
      convicted = true;
    }
    if (wrongChallenge) {
      // A wrong challenger loses its bond against the honest worker; a working auditor sometimes
      // attests only after that game opened, unpaid.
      seen('wrong challenge');
      const wrong = corruptedParty(w.model, input, 1, 0);
      const g = await openGame(WATCHER, posted, task);
      if (lateAttest) {
        seen('late attest');
        await attest();
        assert.equal((await w.v.taskMarket.read.audit([posted.id])).state, 7, 'attested unpaid');
      }
      const r = await play(
        w,
        g.gameId,
        { wallet: w.chain.wallet(WORKER), trace: worker },
        { wallet: w.chain.wallet(WATCHER), trace: wrong },
      );
      assert.equal(r.outcome, 2);
      ledger.resolveGame(g.index, false);
    }
    if (!convicted) {
      await advance(w, w.v.params.task.challengeWindow);
      if (action === 'silent') {
        await advance(w, w.v.params.task.auditWindow);
        await gasOf('slashSilent', as(KEEPER).taskMarket.write.slashSilentAuditor([posted.id]));
        ledger.slashSilentAuditor(task, KEEPER);
      }
      await receiptOf(w, as(REQ).taskMarket.write.finalize([posted.task, posted.result, '0x']));
      ledger.finalize(task);
    }
    const status = (await w.v.taskMarket.read.taskState([posted.id])).status;
    assert.equal(status, task.status === 'convicted' ? 6 : 4, `task ${n} status`);
    // Winners claim their bounties, some at once, some in a later task.
    if (task.status === 'convicted') convictions.push({ id: posted.id, task });
    for (const c of convictions) {
      for (const who of [...c.task.wins.keys()]) {
        if (!rng.chance(0.5)) continue;
        seen('bounty claimed');
        await receiptOf(w, as(who).taskMarket.write.claimBounty([c.id]));
        ledger.claimBounty(c.task, who);
      }
    }
    await assertBalances(`task ${n}`);
    for (let i = convictions.length - 1; i >= 0; i--)
      if (convictions[i].task.wins.size === 0) convictions.splice(i, 1);
  }
  for (const k of [
    'honest/none',
    'honest/work',
    'honest/silent',
    'cheat/none',
    'cheat/work',
    'cheat/collude',
    'cheat/silent',
    'sybil race',
    'wrong challenge',
    'late attest',
    'bounty claimed',
  ])
    assert.ok((counts[k] ?? 0) > 0, `scenario ${k} played (${JSON.stringify(counts)})`);
  t.diagnostic(`scenarios ${JSON.stringify(counts)}; gas ${JSON.stringify(gasSeen)}`);
  for (const k of Object.keys(gasSeen) as (keyof typeof gasSeen)[])
    assert.ok(gasSeen[k] <= BENCH_GAS[k], `${k}: measured ${gasSeen[k]} ≤ assumed ${BENCH_GAS[k]}`);
});
