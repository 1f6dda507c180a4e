// Invariant test of the BatchMarket with random actors (seeded). Each sequence runs random posts by
// an honest and a cheating worker (an overcharged leaf, a duplicate leaf, a wrong result, an
// overcharged total), request queries (which the cheater sometimes throws, so that they expire and
// win, also after a conviction), leaf demands, duplicate challenges, dispute games (on right and
// wrong leaves), time, expiries, finalizations, bounty claims and withdrawals; every failed action
// must revert with a named custom error. After every step:
//   - exact solvency: the market's balance = Σ deposits + Σ reserved totals + Σ owed + Σ open bonds
//     + Σ conviction escrows (unsettled, or the per-win share × the unclaimed wins);
//   - the honest worker's batches are never convicted.
// At the end everything is resolved: every batch is finalized or convicted with its escrow settled,
// every bounty claimed once, nothing reserved, nothing withdrawn twice, and the stake conserved
// except by the slash of each convicted batch.
// VERINFER_INVARIANT_SEQUENCES=N runs more sequences; VERINFER_INVARIANT_SEED=S replays one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Address, parseEther } from 'viem';
import { revertErrorName } from '../../src/chain/bindings/errors.ts';
import { NATIVE, type RequestArgs } from '../../src/chain/bindings/types.ts';
import { corruptedParty, honestParty } from '../../src/dispute/party.ts';
import { gameIdFromLogs, playDispute } from '../../src/dispute/play.ts';
import { type BatchItem, headerOf, itemOf, signHeader, treeOf } from './batchSupport.ts';
import { advance, balance, handInput, receiptOf, registerAgent, startWorld, type World } from './support.ts';

const SEQUENCES = Number(process.env.VERINFER_INVARIANT_SEQUENCES ?? 4);
const FIRST_SEED = Number(process.env.VERINFER_INVARIANT_SEED ?? 1);
const STEPS = 60;
const HONEST = 1;
const CHEAT = 5;
const REQUESTERS = [3, 6];
const WATCHERS = [2, 4, 7];
type Kind = 'honest' | 'overchargedLeaf' | 'duplicate' | 'wrongResult' | 'overchargedTotal';

interface Posted {
  id: bigint;
  worker: number;
  requester: number;
  kind: Kind;
  items: BatchItem[];
  tree: ReturnType<typeof treeOf>;
  bad: number;
}

function mulberry(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function sequence(seed: number) {
  const rand = mulberry(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const w: World = await startWorld();
  try {
    await registerAgent(w, HONEST, [w.modelRoot], parseEther('100'));
    await registerAgent(w, CHEAT, [w.modelRoot], parseEther('100'));
    const bm = (i: number) => w.v.as(w.chain.wallet(i)).batchMarket.write;
    const read = w.v.batchMarket.read;
    const market = w.v.addresses.batchMarket;
    for (const r of REQUESTERS) {
      await receiptOf(w, bm(r).deposit([NATIVE, parseEther('20')], { value: parseEther('20') }));
    }
    const accounts = [HONEST, CHEAT, ...REQUESTERS, ...WATCHERS];
    const truths = Array.from({ length: 4 }, (_, i) => honestParty(w.model, handInput(seed * 10 + i)));
    const batches: Posted[] = [];
    const games: { id: bigint; batch: Posted; index: number; challenger: number }[] = [];
    let nonce = BigInt(seed) << 32n;

    /** Runs an action that may fail; a failure must be a named custom error. */
    const attempt = async (action: () => Promise<unknown>) => {
      try {
        await receiptOf(w, action() as Promise<`0x${string}`>);
        return true;
      } catch (err) {
        const name = revertErrorName(err);
        assert.ok(
          name?.startsWith('BatchMarket') || name?.startsWith('DisputeGame'),
          String(err).slice(0, 300),
        );
        return false;
      }
    };

    const post = async () => {
      const worker = rand() < 0.5 ? HONEST : CHEAT;
      const kind: Kind =
        worker === HONEST
          ? 'honest'
          : pick(['overchargedLeaf', 'duplicate', 'wrongResult', 'overchargedTotal'] as const);
      const requester = pick(REQUESTERS);
      const n = 2 + Math.floor(rand() * 10);
      const bad = Math.floor(rand() * (n - 1));
      const items = Array.from({ length: n }, (_, i) => {
        const t = truths[i % truths.length];
        nonce += 1n;
        const request: RequestArgs = {
          requester: w.accounts[requester],
          worker: w.accounts[worker],
          modelRoot: w.modelRoot,
          inputRoot: t.inputRoot,
          feeToken: NATIVE,
          fee: parseEther('0.001'),
          nonce,
          deadline: 2n ** 40n,
        };
        if (i === bad && kind === 'overchargedLeaf')
          return itemOf(w.chain.chain.id, market, request, t, request.fee * 2n);
        if (i === bad && kind === 'wrongResult') {
          const cheat = corruptedParty(w.model, handInput(seed * 10 + (i % truths.length)), 0, 1);
          return itemOf(w.chain.chain.id, market, request, cheat);
        }
        return itemOf(w.chain.chain.id, market, request, t);
      });
      if (kind === 'duplicate') items[n - 1] = { ...items[bad] };
      const tree = treeOf(items);
      const header = headerOf(items, w.accounts[requester], w.accounts[worker], {
        totalFee: kind === 'overchargedTotal' ? tree.totalFee + 1n : tree.totalFee,
      });
      const signature = await signHeader(w.chain.wallet(requester), market, header);
      if (await attempt(() => bm(worker).postBatch([header, signature]))) {
        batches.push({ id: await read.batchCount(), worker, requester, kind, items, tree, bad });
      }
    };

    /** The workers answer at once what they can: the honest one everything. */
    const answer = async (b: Posted, queryId: bigint, index: number) => {
      const q = await read.query([queryId]);
      if (q.kind === 0) {
        if (b.kind === 'overchargedLeaf' && index === b.bad) return;
        // The cheater throws some queries: left to expire, each is a proved fault (a win).
        if (b.worker === CHEAT && rand() < 0.4) return;
        await attempt(() => bm(b.worker).revealRequest([queryId, b.items[index].request]));
      } else {
        for (let p = 0; p < b.tree.pageCount; p++) {
          const { leaves, proof } = b.tree.page(p);
          await attempt(() => bm(pick(accounts)).publishLeaves([b.id, BigInt(p), leaves, proof]));
        }
      }
    };

    const openBatch = () => pick(batches.length ? batches : [undefined]);
    const settleAll = async () => {
      for (const g of games) {
        const game = await w.v.disputeGame.read.game([g.id]);
        if (game.phase === 0 || Number(game.outcome) !== 0) continue;
        // No game is moot: games open at a conviction play on.
        assert.equal(await read.isMoot([game.subject, g.id]), false);
        await playDispute(
          w.v,
          w.chain.publicClient,
          g.id,
          { wallet: w.chain.wallet(g.batch.worker), trace: g.batch.items[g.index].trace },
          { wallet: w.chain.wallet(g.challenger), trace: truths[g.index % truths.length] },
        );
        // A clock that ran out before the play: anyone ends the game.
        if (Number((await w.v.disputeGame.read.game([g.id])).outcome) === 0) {
          await attempt(() => w.v.disputeGame.write.timeout([g.id]));
        }
      }
      for (let q = 1n; q <= (await read.queryCount()); q++) {
        if ((await read.query([q])).status === 1) await attempt(() => bm(pick(accounts)).expireQuery([q]));
      }
      for (const b of batches) {
        if ((await read.batch([b.id])).status === 1)
          await attempt(() => bm(pick(accounts)).finalizeBatch([b.id]));
      }
    };

    /** What the market holds of batch `id`'s conviction escrow: all of it until it is settled, then
     * the per-win share for every win not yet claimed. */
    const escrowHeld = async (id: bigint, status: number) => {
      const pool = await read.disputes([id]);
      if (status !== 3 || pool.open !== 0n) return pool.escrow;
      let wins = 0n;
      for (const a of accounts) wins += await read.bountyWins([id, w.accounts[a]]);
      return wins * pool.escrow;
    };

    const checkInvariants = async () => {
      let expected = 0n;
      for (const r of REQUESTERS) expected += (await read.deposits([NATIVE, w.accounts[r]])).available;
      for (const a of accounts) expected += await read.owed([NATIVE, w.accounts[a]]);
      for (const b of batches) {
        const s = await read.batch([b.id]);
        if (s.status === 1) expected += s.totalFee;
        if (b.worker === HONEST) assert.notEqual(s.status, 3, `honest batch ${b.id} convicted`);
        expected += await escrowHeld(b.id, s.status);
      }
      for (let q = 1n; q <= (await read.queryCount()); q++) expected += (await read.query([q])).bond;
      assert.equal(await balance(w, market), expected, 'balance = deposits + reserved + owed + bonds');
    };

    for (let step = 0; step < STEPS; step++) {
      const r = rand();
      const b = openBatch();
      if (r < 0.25 || !b) await post();
      else if (r < 0.45) {
        const index = Math.floor(rand() * b.items.length);
        const ok = await attempt(() =>
          bm(pick(WATCHERS)).queryRequest([b.id, b.items[index].leaf, BigInt(index), b.tree.proof(index)], {
            value: w.v.params.batch.queryBond,
          }),
        );
        if (ok) await answer(b, await read.queryCount(), index);
      } else if (r < 0.55) {
        const ok = await attempt(() =>
          bm(b.requester).demandLeaves([b.id], { value: w.v.params.batch.queryBond }),
        );
        if (ok) await answer(b, await read.queryCount(), 0);
      } else if (r < 0.62) {
        const j = b.kind === 'duplicate' ? b.items.length - 1 : Math.floor(rand() * b.items.length);
        const i = b.kind === 'duplicate' ? b.bad : 0;
        await attempt(() =>
          bm(pick(WATCHERS)).challengeDuplicate([
            b.id,
            b.items[i].leaf,
            BigInt(i),
            b.tree.proof(i),
            b.id,
            b.items[j].leaf,
            BigInt(j),
            b.tree.proof(j),
          ]),
        );
      } else if (r < 0.72 && games.length < 6) {
        const index = b.kind === 'wrongResult' && rand() < 0.7 ? b.bad : Math.floor(rand() * b.items.length);
        const challenger = pick(WATCHERS);
        try {
          const receipt = await receiptOf(
            w,
            bm(challenger).challengeResult(
              [b.id, b.items[index].leaf, BigInt(index), b.tree.proof(index), b.items[index].request],
              { value: w.v.params.batch.challengeBond },
            ),
          );
          games.push({
            id: gameIdFromLogs(receipt.logs, w.v.addresses.disputeGame),
            batch: b,
            index,
            challenger,
          });
        } catch (err) {
          assert.ok(revertErrorName(err)?.startsWith('BatchMarket'), String(err).slice(0, 300));
        }
      } else if (r < 0.85) {
        await advance(w, Math.floor(rand() * Number(w.v.params.batch.challengeWindow)));
        await settleAll();
      } else if (r < 0.9) {
        const who = pick(accounts);
        const wins = await read.bountyWins([b.id, w.accounts[who]]);
        const share = (await read.disputes([b.id])).escrow;
        const owed = await read.owed([NATIVE, w.accounts[who]]);
        if (await attempt(() => bm(who).claimBounty([b.id]))) {
          assert.equal(
            (await read.owed([NATIVE, w.accounts[who]])) - owed,
            wins * share,
            'its wins × the share',
          );
          assert.equal(await attempt(() => bm(who).claimBounty([b.id])), false, 'not twice');
        }
      } else {
        const who = pick(accounts);
        const owed = await read.owed([NATIVE, w.accounts[who]]);
        const before = await balance(w, w.accounts[9] as Address);
        if (await attempt(() => bm(who).withdraw([NATIVE, w.accounts[9]]))) {
          assert.equal((await balance(w, w.accounts[9])) - before, owed, 'paid exactly what was owed');
          assert.equal(await attempt(() => bm(who).withdraw([NATIVE, w.accounts[9]])), false, 'not twice');
        }
      }
      await checkInvariants();
    }

    // Resolve everything: games first (their clocks: each party moves before time passes), then
    // queries and windows.
    await settleAll();
    for (let round = 0; round < 3; round++) {
      await advance(w, w.v.params.clockBudget + w.v.params.batch.challengeWindow + 1n);
      await settleAll();
    }
    await checkInvariants();
    let slashed = 0n;
    for (const b of batches) {
      const s = await read.batch([b.id]);
      assert.ok(
        s.status === 2 || s.status === 3,
        `batch ${b.id} resolved: ${JSON.stringify(s, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`,
      );
      const pool = await read.disputes([b.id]);
      assert.equal(pool.open, 0n);
      if (s.status === 3) {
        slashed += s.stake;
        assert.ok(pool.winners >= 1n, `batch ${b.id} has its convicting win`);
        for (const a of accounts) {
          const wins = await read.bountyWins([b.id, w.accounts[a]]);
          if (wins > 0n) await receiptOf(w, bm(a).claimBounty([b.id]));
          assert.equal(await attempt(() => bm(a).claimBounty([b.id])), false, 'no bounty twice');
        }
      } else assert.equal(pool.winners, 0n);
      // Finalizing or convicting again is refused.
      assert.equal(await attempt(() => bm(HONEST).finalizeBatch([b.id])), false);
    }
    await checkInvariants();
    // Stake is conserved except by slashing: the cheater lost exactly its convicted batches' stakes.
    const stakeOf = async (i: number) => w.v.agentRegistry.read.agentInfo([w.accounts[i]]);
    assert.equal((await stakeOf(HONEST)).stake, parseEther('100'));
    assert.equal((await stakeOf(CHEAT)).stake, parseEther('100') - slashed);
    assert.equal((await stakeOf(HONEST)).locked + (await stakeOf(CHEAT)).locked, 0n);
    assert.equal(await w.v.agentRegistry.read.claimable([market]), 0n, 'every slash share was escrowed');
    for (const a of accounts) {
      const owed = await read.owed([NATIVE, w.accounts[a]]);
      if (owed > 0n) await receiptOf(w, bm(a).withdraw([NATIVE, w.accounts[a]]));
      assert.equal(await attempt(() => bm(a).withdraw([NATIVE, w.accounts[a]])), false);
    }
    let deposits = 0n;
    for (const r of REQUESTERS) deposits += (await read.deposits([NATIVE, w.accounts[r]])).available;
    assert.equal(await balance(w, market), deposits, 'only deposits remain');
    const outcomes: number[] = [];
    for (const g of games) outcomes.push(Number((await w.v.disputeGame.read.game([g.id])).outcome));
    const statuses: number[] = [];
    const winners: bigint[] = [];
    for (const b of batches) {
      const s = await read.batch([b.id]);
      statuses.push(s.status);
      if (s.status === 3) winners.push((await read.disputes([b.id])).winners);
    }
    return { batches: batches.length, outcomes, statuses, winners };
  } finally {
    await w.close();
  }
}

for (let s = FIRST_SEED; s < FIRST_SEED + SEQUENCES; s++) {
  test(`batch market invariants hold under random actors (seed ${s})`, async () => {
    const r = await sequence(s);
    assert.ok(r.batches > 3, `only ${r.batches} batches posted`);
    console.log(
      `# seed ${s}: ${r.batches} batches ${r.statuses.join('')}, game outcomes ${r.outcomes.join('')}, ` +
        `wins per conviction ${r.winners.join(',')}`,
    );
  });
}
