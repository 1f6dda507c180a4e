// Invariant test with random actors (seeded). Each sequence runs random register / stake / create /
// take / post (honest or cheating) / challenge (honest or bogus) / move / timeout / finalize /
// expire / unbond / withdraw / audit draw / attest / silent-auditor slash / batch post / batch
// finalize actions; every failed action must revert with a named custom error. After every step:
//   - each agent's locked stake is exactly what the two markets locked for it (per-market locks);
//   - the model's verifier index weighs exactly Σ (free + 1) over the active agents, and a draw
//     returns an eligible agent exactly when one exists (audit sampling).
// Then everything is resolved and paid out, and:
//   - the TaskMarket and the DisputeGame hold exactly zero (exact solvency of fees and bonds);
//   - the registry holds exactly Σ stake + Σ unbonding (after claims);
//   - stake is conserved except by slashing: staked - withdrawn - slashed = Σ stake + Σ unbonding;
//   - every fee is paid out exactly once, and nothing can be withdrawn twice;
//   - requester-signed tasks (postSigned) draw exactly their fees from the requester's deposit;
//   - every conviction escrow is paid out to the winning challengers or burnt, to the wei;
//   - no worker that posted its honest result and kept playing is ever convicted.
// VERINFER_INVARIANT_SEQUENCES=N runs more sequences; VERINFER_INVARIANT_SEED=S replays one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Hex, parseEther } from 'viem';
import { SIGNED_TASK_TYPES, signedTaskDomain } from '../../src/chain/bindings/commitments.ts';
import { revertErrorName } from '../../src/chain/bindings/errors.ts';
import { NATIVE, type TaskArgs, ZERO_BYTES32 as ZERO } from '../../src/chain/bindings/types.ts';
import { corruptedParty, honestParty, type TraceProvider } from '../../src/dispute/party.ts';
import { gameIdFromLogs, playDispute } from '../../src/dispute/play.ts';
import { runOfProvider } from '../game/support.ts';
import {
  advance,
  commitmentOf,
  expectRevert,
  handInput,
  hexOf,
  idOf,
  mine,
  startWorld,
  TEST_PARAMS,
  taskOf,
  type World,
} from './support.ts';

const SEQUENCES = Number(process.env.VERINFER_INVARIANT_SEQUENCES ?? 6);
const FIRST_SEED = Number(process.env.VERINFER_INVARIANT_SEED ?? 1);
const STEPS = 60;

function mulberry(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return {
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p: number) => next() < p,
  };
}

interface SimTask {
  task: TaskArgs;
  id: Hex;
  honest: TraceProvider;
  worker?: number;
  posted?: { trace: TraceProvider; commitment: Hex };
  /** Requester-signed: never created on chain, posted with postSigned. */
  signed?: boolean;
  /** The worker fell silent in one of its games (or lost on time): it may lose an honest result. */
  lapsed?: boolean;
  games: { id: bigint; challenger: number; trace: TraceProvider }[];
}

const AGENTS = [1, 2, 3, 4, 5];
const REQUESTERS = [6, 7];
const OUTSIDERS = [8, 9];
const EVERYONE = [...AGENTS, ...REQUESTERS, ...OUTSIDERS];

for (let s = 0; s < SEQUENCES; s++) {
  const seed = FIRST_SEED + s;
  test(`random actors, seed ${seed}: exact solvency and conservation`, { timeout: 120_000 }, async (t) => {
    const r = mulberry(seed);
    const w = await startWorld({ ...TEST_PARAMS, task: { ...TEST_PARAMS.task, auditBps: 5_000 } });
    try {
      t.diagnostic(await runSequence(w, r, seed));
    } finally {
      await w.close();
    }
  });
}

async function runSequence(w: World, r: ReturnType<typeof mulberry>, seed: number): Promise<string> {
  const tasks: SimTask[] = [];
  const batches: bigint[] = [];
  let staked = 0n;
  let feesIn = 0n;
  let deposited = 0n;
  const resultOfTask = (t: SimTask) => ({
    worker: w.accounts[t.worker ?? 0],
    commitment: t.posted?.commitment ?? ZERO,
    outputRoot: t.posted?.trace.outputRoot ?? ZERO,
  });
  const failures = new Map<string, number>();
  const as = (i: number) => w.v.as(w.chain.wallet(i));
  const indexOf = (a: Hex) => w.accounts.findIndex((x) => x.toLowerCase() === a.toLowerCase());
  const pick = <T>(xs: readonly T[]) => xs[r.int(0, xs.length - 1)];
  /** Runs a transaction; a revert must carry a named custom error. Returns whether it succeeded. */
  const attempt = async (label: string, send: () => Promise<Hex>) => {
    try {
      const hash = await send();
      const receipt = await w.chain.publicClient.waitForTransactionReceipt({ hash });
      return receipt.status === 'success' ? receipt : undefined;
    } catch (err) {
      const name = revertErrorName(err);
      assert.ok(name, `seed ${seed}: ${label} failed without a named error: ${String(err).slice(0, 300)}`);
      failures.set(name, (failures.get(name) ?? 0) + 1);
      return undefined;
    }
  };
  for (const i of AGENTS) {
    const stake = parseEther(String(r.int(1, 4)));
    if (
      await attempt('register', () =>
        as(i).agentRegistry.write.register([`a${i}`, [w.modelRoot]], { value: stake }),
      )
    )
      staked += stake;
  }
  const playGame = async (
    t: SimTask,
    g: SimTask['games'][number],
    silent: 'none' | 'worker' | 'challenger',
  ) => {
    if (!t.posted || t.worker === undefined) return;
    if (silent === 'worker') t.lapsed = true;
    await playDispute(
      w.v,
      w.chain.publicClient,
      g.id,
      { wallet: w.chain.wallet(t.worker), trace: t.posted.trace, silent: silent === 'worker' },
      { wallet: w.chain.wallet(g.challenger), trace: g.trace, silent: silent === 'challenger' },
    );
  };
  for (let step = 0; step < STEPS; step++) {
    // Posting and challenging are drawn twice as often as the rest.
    const roll = r.int(0, 19);
    const action = roll > 16 ? (roll === 19 ? 3 : 2) : roll;
    const t = tasks.length ? pick(tasks) : undefined;
    switch (action) {
      case 0:
      case 1: {
        const req = pick(REQUESTERS);
        const honest = honestParty(w.model, handInput(r.int(0, 5)));
        const task = taskOf(w, w.accounts[req], runOfProvider(honest), {
          fee: parseEther('0.01') * BigInt(r.int(1, 5)),
          takeDeadline: (await w.chain.publicClient.getBlock()).timestamp + BigInt(r.int(300, 6000)),
        });
        if (r.chance(0.3)) {
          // Signed off chain; a worker posts it with postSigned, the fee out of the deposit.
          tasks.push({ task, id: idOf(w, task), honest, games: [], signed: true });
          if (r.chance(0.7)) {
            const amount = task.fee * BigInt(r.int(0, 2));
            if (
              await attempt('deposit', () =>
                as(req).taskMarket.write.deposit([NATIVE, amount], { value: amount }),
              )
            )
              deposited += amount;
          }
        } else if (
          await attempt('create', () =>
            as(req).taskMarket.write.createTask([task, '0x'], { value: task.fee }),
          )
        ) {
          feesIn += task.fee;
          tasks.push({ task, id: idOf(w, task), honest, games: [] });
        }
        break;
      }
      case 2: {
        const open = tasks.filter((x) => !x.posted);
        const t = open.length ? pick(open) : undefined;
        if (!t) break;
        const worker = pick(AGENTS);
        const cheat = r.chance(0.4);
        const trace = cheat ? corruptedParty(w.model, t.honest.input, r.int(0, 4), r.int(0, 2)) : t.honest;
        const commitment = commitmentOf(t.id, runOfProvider(trace));
        const out = hexOf(trace.opBytes(trace.opRoots.length - 1));
        let ok: unknown;
        if (t.signed) {
          const signature = await w.chain.wallet(indexOf(t.task.requester)).signTypedData({
            domain: signedTaskDomain(w.chain.chain.id, w.v.addresses.taskMarket),
            types: SIGNED_TASK_TYPES,
            primaryType: 'SignedTask',
            message: { ...t.task, worker: w.accounts[r.chance(0.9) ? worker : pick(AGENTS)] },
          });
          ok = await attempt('postSigned', () =>
            as(worker).taskMarket.write.postSigned([t.task, signature, commitment, trace.outputRoot, out]),
          );
        } else {
          if (r.chance(0.3)) await attempt('take', () => as(worker).taskMarket.write.takeTask([t.task]));
          ok = await attempt('post', () =>
            as(worker).taskMarket.write.postResult([t.task, commitment, trace.outputRoot, out]),
          );
        }
        if (ok) {
          t.worker = worker;
          t.posted = { trace, commitment };
        }
        break;
      }
      case 3: {
        const posted = tasks.filter((x) => x.posted);
        const t = posted.length ? pick(posted) : undefined;
        if (!t?.posted) break;
        const challenger = pick([...AGENTS, ...OUTSIDERS]);
        const bogus = r.chance(0.3);
        const trace = bogus ? corruptedParty(w.model, t.honest.input, r.int(0, 4), r.int(0, 2)) : t.honest;
        const receipt = await attempt('challenge', () =>
          as(challenger).taskMarket.write.challenge([t.task, resultOfTask(t)], {
            value: w.v.params.task.challengeBond,
          }),
        );
        if (receipt)
          t.games.push({ id: gameIdFromLogs(receipt.logs, w.v.addresses.disputeGame), challenger, trace });
        break;
      }
      case 4: {
        const open = tasks.flatMap((x) => x.games.map((g) => ({ x, g })));
        if (!open.length) break;
        const { x, g } = pick(open);
        const state = (await w.v.disputeGame.read.game([g.id])).phase;
        if (state !== 8) await playGame(x, g, pick(['none', 'none', 'worker', 'challenger'] as const));
        break;
      }
      case 5:
        await advance(w, r.int(1, 6) * 200);
        await mine(w, 2);
        break;
      case 6: {
        if (!t?.posted) break;
        const by = pick(EVERYONE);
        await attempt('finalize', () => as(by).taskMarket.write.finalize([t.task, resultOfTask(t), '0x']));
        break;
      }
      case 7:
        if (t) await attempt('expire', () => as(pick(EVERYONE)).taskMarket.write.expire([t.task]));
        break;
      case 8: {
        const g = tasks.flatMap((x) => x.games);
        if (!g.length) break;
        const game = pick(g);
        const owner = tasks.find((x) => x.games.includes(game));
        const mover = await w.v.disputeGame.read.clockOf([game.id]).then(
          ([m]) => m,
          () => undefined,
        );
        if (await attempt('timeout', () => as(pick(EVERYONE)).disputeGame.write.timeout([game.id])))
          if (owner && owner.worker !== undefined && mover === w.accounts[owner.worker]) owner.lapsed = true;
        break;
      }
      case 9: {
        const a = pick(AGENTS);
        await attempt('unbond', () =>
          as(a).agentRegistry.write.requestUnbond([parseEther('0.5') * BigInt(r.int(1, 4))]),
        );
        break;
      }
      case 10: {
        const a = pick(AGENTS);
        const amount = parseEther('0.5');
        if (await attempt('addStake', () => as(a).agentRegistry.write.addStake({ value: amount })))
          staked += amount;
        break;
      }
      case 11: {
        const who = pick(EVERYONE);
        await attempt('withdraw', () => as(who).taskMarket.write.withdraw([NATIVE, w.accounts[who]]));
        await attempt('claim', () => as(who).disputeGame.write.claim([w.accounts[who]]));
        await attempt('withdraw stake', () => as(who).agentRegistry.write.withdraw([w.accounts[who]]));
        break;
      }
      case 12:
        if (t?.posted)
          await attempt('draw audit', () =>
            as(pick(EVERYONE)).taskMarket.write.drawAudit([t.task, resultOfTask(t)]),
          );
        break;
      case 13: {
        if (!t?.posted) break;
        const audit = await w.v.taskMarket.read.audit([t.id]);
        const auditor = w.accounts.findIndex((a) => a.toLowerCase() === audit.auditor.toLowerCase());
        // A colluding auditor attests whatever was posted (it knows the posted checkpoint root).
        if (audit.state === 2)
          await attempt('attest', () =>
            as(auditor).taskMarket.write.attestAudit([
              t.task,
              resultOfTask(t),
              t.posted!.trace.checkpointRoot,
            ]),
          );
        break;
      }
      case 14:
        if (t)
          await attempt('slash silent', () => as(pick(EVERYONE)).taskMarket.write.slashSilentAuditor([t.id]));
        break;
      case 15: {
        // A batch with no fee is refused: it could only inflate reputation.
        const worker = pick(AGENTS);
        const header = {
          requester: w.accounts[pick(REQUESTERS)],
          worker: w.accounts[worker],
          feeToken: NATIVE,
          root: `0x${(step + 1).toString(16).padStart(64, '0')}` as Hex,
          count: r.int(1, 2000),
          totalFee: 0n,
          nonce: BigInt(step),
          deadline: 2n ** 40n,
        };
        await expectRevert(
          () => as(worker).batchMarket.write.postBatch([header, '0x']),
          'BatchMarketZeroFee',
        );
        break;
      }
      case 16:
        if (batches.length)
          await attempt('finalize batch', () =>
            as(pick(EVERYONE)).batchMarket.write.finalizeBatch([pick(batches)]),
          );
        break;
    }
    await checkLocksAndSampling(w, seed, step, r.int(0, 2 ** 30));
  }

  // Resolve everything: play or time out every game, then finalize or expire every task.
  for (const t of tasks)
    for (const g of t.games)
      if ((await w.v.disputeGame.read.game([g.id])).phase !== 8) await playGame(t, g, 'none');
  await advance(w, w.v.params.clockBudget + 1n);
  for (const t of tasks)
    for (const g of t.games) await attempt('final timeout', () => w.v.disputeGame.write.timeout([g.id]));
  await advance(w, w.v.params.task.challengeWindow + w.v.params.task.resultWindow + 1n);
  await mine(w, 2);
  // Draw every audit (finalize draws inline), then let assigned auditors' deadlines pass and slash them.
  for (const t of tasks)
    if ((await w.v.taskMarket.read.taskState([t.id])).status === 3)
      await attempt('final draw', () => w.v.taskMarket.write.finalize([t.task, resultOfTask(t), '0x']));
  await advance(w, w.v.params.task.auditWindow + w.v.params.task.challengeWindow + 1n);
  for (const t of tasks)
    if ((await w.v.taskMarket.read.audit([t.id])).state === 2)
      await attempt('final slash silent', () => as(OUTSIDERS[0]).taskMarket.write.slashSilentAuditor([t.id]));
  await advance(w, w.v.params.batch.challengeWindow);
  for (const b of batches)
    if ((await w.v.batchMarket.read.batch([b])).status === 1)
      await attempt('final finalize batch', () => w.v.batchMarket.write.finalizeBatch([b]));
  for (const t of tasks) {
    const status = (await w.v.taskMarket.read.taskState([t.id])).status;
    if (status === 3)
      await attempt('final finalize', () => w.v.taskMarket.write.finalize([t.task, resultOfTask(t), '0x']));
    if (status === 0 && t.signed) continue; // never posted: nothing exists on chain
    if (status === 1 || status === 2)
      await attempt('final expire', () => w.v.taskMarket.write.expire([t.task]));
    const after = (await w.v.taskMarket.read.taskState([t.id])).status;
    assert.ok(after >= 4, `seed ${seed}: task left in status ${after}`);
  }
  // Every winning challenger takes its share of each conviction escrow, twice (the second is refused).
  for (const t of tasks) {
    if ((await w.v.taskMarket.read.taskState([t.id])).status !== 6) continue;
    assert.ok(
      t.posted!.trace !== t.honest || t.lapsed,
      `seed ${seed}: an honest, diligent worker was convicted`,
    );
    for (const g of t.games) {
      await attempt('claim bounty', () => as(g.challenger).taskMarket.write.claimBounty([t.id]));
      await attempt('claim bounty again', () => as(g.challenger).taskMarket.write.claimBounty([t.id]));
    }
  }
  const eventSum = async (eventName: 'BountyClaimed' | 'BountySettled') =>
    (
      await w.chain.publicClient.getContractEvents({
        address: w.v.addresses.taskMarket,
        abi: w.v.taskMarket.abi,
        eventName,
        fromBlock: 0n,
      })
    ).reduce(
      (sum, e) =>
        sum + ('amount' in e.args ? (e.args.amount ?? 0n) : ((e.args as { burnt?: bigint }).burnt ?? 0n)),
      0n,
    );
  const bountiesPaid = await eventSum('BountyClaimed');
  const bountiesBurnt = await eventSum('BountySettled');
  const escrowed = (
    await w.chain.publicClient.getContractEvents({
      address: w.v.addresses.agentRegistry,
      abi: w.v.agentRegistry.abi,
      eventName: 'SlashProceedsClaimed',
      fromBlock: 0n,
    })
  )
    .filter((e) => e.args.account?.toLowerCase() === w.v.addresses.taskMarket.toLowerCase())
    .reduce((sum, e) => sum + (e.args.amount ?? 0n), 0n);
  assert.equal(bountiesPaid + bountiesBurnt, escrowed, `seed ${seed}: every escrow paid out or burnt`);
  // Everyone takes out everything, twice: the second attempt must find nothing.
  const slashed = (
    await w.chain.publicClient.getContractEvents({
      address: w.v.addresses.agentRegistry,
      abi: w.v.agentRegistry.abi,
      eventName: 'StakeSlashed',
      fromBlock: 0n,
    })
  ).reduce((sum, e) => sum + (e.args.amount ?? 0n), 0n);
  for (const who of EVERYONE) {
    for (let round = 0; round < 2; round++) {
      if ((await w.v.taskMarket.read.owed([NATIVE, w.accounts[who]])) > 0n || round === 1)
        await attempt('final withdraw', () => as(who).taskMarket.write.withdraw([NATIVE, w.accounts[who]]));
      if ((await w.v.disputeGame.read.credits([w.accounts[who]])) > 0n || round === 1)
        await attempt('final claim', () => as(who).disputeGame.write.claim([w.accounts[who]]));
      if ((await w.v.agentRegistry.read.claimable([w.accounts[who]])) > 0n || round === 1)
        await attempt('final registry claim', () => as(who).agentRegistry.write.claim([w.accounts[who]]));
    }
  }
  const balance = (a: Hex) => w.chain.publicClient.getBalance({ address: a });
  assert.equal(await balance(w.v.addresses.taskMarket), 0n, `seed ${seed}: the market holds fees`);
  assert.equal(await balance(w.v.addresses.disputeGame), 0n, `seed ${seed}: the game holds bonds`);
  assert.equal(await balance(w.v.addresses.batchMarket), 0n, `seed ${seed}: the batch market holds funds`);
  let bonded = 0n;
  for (const a of AGENTS) {
    const info = await w.v.agentRegistry.read.agentInfo([w.accounts[a]]);
    assert.equal(info.locked, 0n, `seed ${seed}: stake still locked after everything resolved`);
    bonded += info.stake + info.unbonding;
  }
  const withdrawn = (
    await w.chain.publicClient.getContractEvents({
      address: w.v.addresses.agentRegistry,
      abi: w.v.agentRegistry.abi,
      eventName: 'StakeWithdrawn',
      fromBlock: 0n,
    })
  ).reduce((sum, e) => sum + (e.args.amount ?? 0n), 0n);
  assert.equal(
    await balance(w.v.addresses.agentRegistry),
    bonded,
    `seed ${seed}: registry = Σ stake + Σ unbonding`,
  );
  assert.equal(staked - withdrawn - slashed, bonded, `seed ${seed}: stake conserved except by slashing`);
  const paidOut = (
    await w.chain.publicClient.getContractEvents({
      address: w.v.addresses.taskMarket,
      abi: w.v.taskMarket.abi,
      eventName: 'Withdrawn',
      fromBlock: 0n,
    })
  ).reduce((sum, e) => sum + (e.args.amount ?? 0n), 0n);
  assert.equal(
    paidOut,
    feesIn + deposited + bountiesPaid,
    `seed ${seed}: every fee, deposit and bounty paid out exactly once`,
  );
  assert.ok(failures.get('TaskMarketNothingOwed'), 'second withdrawals were refused');
  const outcomes = [0, 0, 0, 0];
  for (const t of tasks)
    for (const g of t.games) outcomes[(await w.v.disputeGame.read.game([g.id])).outcome] += 1;
  const statuses = new Map<number, number>();
  for (const t of tasks) {
    const st = (await w.v.taskMarket.read.taskState([t.id])).status;
    statuses.set(st, (statuses.get(st) ?? 0) + 1);
  }
  const drawn = await w.chain.publicClient.getContractEvents({
    address: w.v.addresses.taskMarket,
    abi: w.v.taskMarket.abi,
    eventName: 'AuditDrawn',
    fromBlock: 0n,
  });
  const assigned = drawn.filter((e) => e.args.selected).length;
  return `audits drawn ${drawn.length} (assigned ${assigned}); batches ${batches.length}; tasks ${tasks.length} (signed and posted ${tasks.filter((x) => x.signed && x.posted).length}; finalized ${statuses.get(4) ?? 0}, expired ${statuses.get(5) ?? 0}, convicted ${statuses.get(6) ?? 0}); games: challenger won ${outcomes[1]}, worker won ${outcomes[2]}, moot ${outcomes[3]}; named reverts ${[...failures.values()].reduce((a, b) => a + b, 0)}`;
}

/** Per-market locks add up, and the verifier index and its draws match the agents' state. */
async function checkLocksAndSampling(w: World, seed: number, step: number, draw: number) {
  const reg = w.v.agentRegistry.read;
  const threshold = w.v.params.auditThreshold;
  assert.equal(await reg.auditThreshold(), threshold);
  let weight = 0n;
  const eligible: string[] = [];
  for (const i of AGENTS) {
    const a = w.accounts[i];
    const info = await reg.agentInfo([a]);
    const byTask = await reg.lockedBy([a, w.v.addresses.taskMarket]);
    const byBatch = await reg.lockedBy([a, w.v.addresses.batchMarket]);
    assert.equal(info.locked, byTask + byBatch, `seed ${seed} step ${step}: locks of agent ${i}`);
    // The index holds the auditors: active, at least the threshold free, weighing stake + 1.
    if (!(await reg.isActive([a])) || info.stake - info.locked < threshold) continue;
    weight += info.stake + 1n;
    eligible.push(a.toLowerCase());
  }
  const [indexWeight] = await reg.verifierIndex([w.modelRoot]);
  assert.equal(indexWeight, weight, `seed ${seed} step ${step}: verifier index weight`);
  const exclude = w.accounts[AGENTS[draw % AGENTS.length]];
  const candidates = eligible.filter((a) => a !== exclude.toLowerCase());
  const picked = await reg.selectVerifier([`0x${draw.toString(16).padStart(64, '0')}`, exclude, w.modelRoot]);
  if (candidates.length)
    assert.ok(candidates.includes(picked.toLowerCase()), `seed ${seed} step ${step}: ineligible draw`);
  else
    assert.equal(
      picked,
      '0x0000000000000000000000000000000000000000',
      `seed ${seed} step ${step}: draw from nobody`,
    );
}
