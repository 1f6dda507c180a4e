// Audit draws (AgentRegistry.selectVerifier over the per-model VerifierIndex): padding the agent
// list with inactive agents does not disable audits; draws match an independent reference of the
// rule exactly (eligible = active, serving, at least auditThreshold free, not excluded; weight =
// bonded stake + 1 wei); a lock that stays above the threshold does no index work; and the gas of
// a draw and of every index update grows with log n, not n.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Address, encodeFunctionData, type Hex, keccak256, parseEther, toHex, zeroAddress } from 'viem';
import { agentRegistryAbi } from '../../src/chain/bindings/abis.ts';
import { ZERO_BYTES32 } from '../../src/chain/bindings/types.ts';
import { honestParty } from '../../src/dispute/party.ts';
import { postTask } from '../game/support.ts';
import { AUDIT_THRESHOLD, extraWallets, MIN_STAKE, send, standaloneRegistry } from './registrySupport.ts';
import { handInput, mine, receiptOf, registerAgent, startWorld, TEST_PARAMS, type World } from './support.ts';

const MODEL_A = keccak256(toHex('model a'));
const MODEL_B = keccak256(toHex('model b'));
interface RefAgent {
  id: number;
  address: Address;
  stake: bigint;
  locked: bigint;
  models: Hex[];
}

/** An auditor of `model`: active, serving it, with at least the threshold free. */
const isAuditor = (a: RefAgent, model: Hex) =>
  a.stake >= MIN_STAKE && a.models.includes(model) && a.stake - a.locked >= AUDIT_THRESHOLD;

/** The documented rule, written independently of the tree: order the eligible agents by (bonded
 * stake, id), give each stake + 1 units, take unit seed mod total. */
function referenceDraw(agents: RefAgent[], seed: Hex, exclude: Address, model: Hex) {
  const eligible = agents
    .filter((a) => isAuditor(a, model) && a.address.toLowerCase() !== exclude.toLowerCase())
    .sort((x, y) => (x.stake === y.stake ? x.id - y.id : x.stake < y.stake ? -1 : 1));
  const total = eligible.reduce((s, a) => s + a.stake + 1n, 0n);
  if (total === 0n) return { agent: zeroAddress as Address, total };
  let unit = BigInt(seed) % total;
  for (const a of eligible) {
    const w = a.stake + 1n;
    if (unit < w) return { agent: a.address, total };
    unit -= w;
  }
  throw new Error('unreachable');
}

let w: World;
before(async () => {
  w = await startWorld({ ...TEST_PARAMS, task: { ...TEST_PARAMS.task, auditBps: 10_000 } });
});
after(async () => w?.close());

test('attack: 200 registered-then-unbonded agents cannot make a draw skip the audit', async () => {
  const WORKER = 1;
  const VERIFIER = 2;
  const REQ = 3;
  await registerAgent(w, WORKER, [w.modelRoot]);
  const padding = await extraWallets(w.chain, 200, 1);
  for (const wallet of padding) {
    const reg = w.v.as(wallet as never).agentRegistry.write;
    await send(w.chain, reg.register(['', [w.modelRoot]], { value: MIN_STAKE }));
    await send(w.chain, reg.requestUnbond([MIN_STAKE]));
  }
  await registerAgent(w, VERIFIER, [w.modelRoot]);
  assert.equal(await w.v.agentRegistry.read.agentCount(), 202n);
  const stake = w.v.params.task.auditStake;
  for (let s = 0; s < 64; s++) {
    const seed = keccak256(toHex(`draw ${s}`));
    const picked = await w.v.agentRegistry.read.selectVerifier([seed, w.accounts[WORKER], w.modelRoot]);
    assert.equal(picked.toLowerCase(), w.accounts[VERIFIER].toLowerCase(), `seed ${s} skipped the audit`);
  }
  // Through the market: every posted result (p = 100%) gets the one eligible verifier.
  for (let i = 0; i < 3; i++) {
    const posted = await postTask(w, REQ, WORKER, honestParty(w.model, handInput(40 + i)));
    await mine(w, 2);
    await receiptOf(w, w.v.as(w.chain.wallet(REQ)).taskMarket.write.drawAudit([posted.task, posted.result]));
    const audit = await w.v.taskMarket.read.audit([posted.id]);
    assert.equal(audit.state, 2, 'assigned');
    assert.equal(audit.auditor.toLowerCase(), w.accounts[VERIFIER].toLowerCase());
    // Its stake is locked by the TaskMarket, which alone can release it.
    assert.equal(
      await w.v.agentRegistry.read.lockedBy([w.accounts[VERIFIER], w.v.addresses.taskMarket]),
      stake * BigInt(i + 1),
    );
  }
  // Excluding the verifier leaves the worker (its three tasks locked, the rest free) as the only
  // eligible agent; once its free stake falls below the threshold nobody is left, and only then
  // is the audit skipped.
  const other = await w.v.agentRegistry.read.selectVerifier([
    keccak256('0x01'),
    w.accounts[VERIFIER],
    w.modelRoot,
  ]);
  assert.equal(other.toLowerCase(), w.accounts[WORKER].toLowerCase());
  const threshold = await w.v.agentRegistry.read.auditThreshold();
  const free = await w.v.agentRegistry.read.freeStake([w.accounts[WORKER]]);
  await receiptOf(
    w,
    w.v.as(w.chain.wallet(WORKER)).agentRegistry.write.requestUnbond([free - threshold + 1n]),
  );
  assert.equal(await w.v.agentRegistry.read.isActive([w.accounts[WORKER]]), true);
  const none = await w.v.agentRegistry.read.selectVerifier([
    keccak256('0x01'),
    w.accounts[VERIFIER],
    w.modelRoot,
  ]);
  assert.equal(none, zeroAddress);
  assert.equal(await w.v.agentRegistry.read.eligibleWeight([w.accounts[VERIFIER], w.modelRoot]), 0n);
});

test('draws equal an independent reference of the rule across stakes, locks, unbonds, models and slashes', async () => {
  const chain = w.chain;
  const r = await standaloneRegistry(chain);
  const wallets = await extraWallets(chain, 14, 2);
  const agents: RefAgent[] = [];
  let rng = 7;
  const rand = (n: number) => {
    rng = (rng * 1103515245 + 12345) % 2 ** 31;
    return rng % n;
  };
  for (const [i, wallet] of wallets.entries()) {
    const stake = MIN_STAKE + parseEther('0.25') * BigInt(rand(8));
    const models = i % 3 === 0 ? [MODEL_A, MODEL_B] : i % 3 === 1 ? [MODEL_A] : [MODEL_B];
    await send(chain, r.as(wallet).write.register(['', models], { value: stake }));
    agents.push({ id: i + 1, address: wallet.account.address, stake, locked: 0n, models });
  }
  const check = async (label: string) => {
    for (const model of [MODEL_A, MODEL_B]) {
      const [weight] = await r.market.read.verifierIndex([model]);
      const expected = agents.filter((a) => isAuditor(a, model)).reduce((s, a) => s + a.stake + 1n, 0n);
      assert.equal(weight, expected, `${label}: index weight of the model`);
      for (let s = 0; s < 16; s++) {
        const seed = keccak256(toHex(`${label} ${s}`));
        const exclude = s % 2 ? agents[rand(agents.length)].address : zeroAddress;
        const ref = referenceDraw(agents, seed, exclude, model);
        const got = await r.market.read.selectVerifier([seed, exclude, model]);
        assert.equal(got.toLowerCase(), ref.agent.toLowerCase(), `${label}: seed ${s}`);
        assert.equal(await r.market.read.eligibleWeight([exclude, model]), ref.total);
        for (const a of agents) {
          if (a.address.toLowerCase() === got.toLowerCase())
            assert.ok(
              a.stake - a.locked >= AUDIT_THRESHOLD,
              `${label}: the drawn agent can take an audit lock`,
            );
        }
      }
    }
  };
  await check('registered');
  for (let round = 0; round < 12; round++) {
    const a = agents[rand(agents.length)];
    const wallet = wallets[a.id - 1];
    const free = a.stake - a.locked;
    switch (rand(6)) {
      case 0: {
        const amount = (free * BigInt(rand(4) + 1)) / 5n;
        await send(chain, r.market.write.lockStake([a.address, amount]));
        a.locked += amount;
        break;
      }
      case 1: {
        if (a.locked === 0n) break;
        await send(chain, r.market.write.unlockStake([a.address, a.locked / 2n]));
        a.locked -= a.locked / 2n;
        break;
      }
      case 2: {
        if (free === 0n) break;
        const amount = free / 2n + 1n;
        await send(chain, r.as(wallet).write.requestUnbond([amount]));
        a.stake -= amount;
        break;
      }
      case 3: {
        const models = a.models.includes(MODEL_A) ? [MODEL_B] : [MODEL_A, ZERO_BYTES32];
        await send(chain, r.as(wallet).write.setModels([models]));
        a.models = models;
        break;
      }
      case 4: {
        const amount = parseEther('0.3');
        await send(chain, r.as(wallet).write.addStake({ value: amount }));
        a.stake += amount;
        break;
      }
      default: {
        const amount = parseEther('0.5');
        if (free < amount) break;
        await send(chain, r.market.write.lockStake([a.address, amount]));
        await send(chain, r.market.write.slash([a.address, amount, chain.accounts[1], 5_000n]));
        a.stake -= amount;
      }
    }
    await check(`round ${round}`);
  }
});

test('a lock above the threshold does no index work; index updates and draws grow with log n (16 vs 300 agents)', async (t) => {
  const chain = w.chain;
  const r = await standaloneRegistry(chain);
  const wallets = await extraWallets(chain, 302, 3);
  // Agents that serve no model: the same lock without any index update, to isolate the index's cost.
  const bare = wallets.slice(300);
  for (const wallet of bare)
    await send(chain, r.as(wallet).write.register(['', []], { value: parseEther('5') }));
  type Gas = { keep: bigint; leave: bigint; join: bigint; rekey: bigint; draw: bigint; height: bigint };
  const measured: Record<number, Gas> = {};
  const gasOf = async (hash: Promise<Hex>) => (await send(chain, hash)).gasUsed;
  // Equal but for the calldata of two addresses (an index update costs thousands).
  const near = (d: bigint) => d < 300n && d > -300n;
  let registered = 0;
  for (const [round, size] of [16, 300].entries()) {
    for (; registered < size; registered++) {
      const stake = MIN_STAKE + BigInt(registered % 37) * parseEther('0.1');
      await send(chain, r.as(wallets[registered]).write.register(['', [MODEL_A]], { value: stake }));
    }
    const baseline = bare[round].account.address;
    // The agent with the most stake: re-keying it moves its key across most others.
    const wallet = wallets[Math.min(size, 37) - 1];
    const agent = wallet.account.address;
    const lock = (who: Address, amount: bigint) => gasOf(r.market.write.lockStake([who, amount]));
    const unlock = (who: Address, amount: bigint) => gasOf(r.market.write.unlockStake([who, amount]));
    // A lock and unlock that keep the agent above the threshold cost what they cost an agent in no index.
    const keep = (await lock(agent, parseEther('0.9'))) - (await lock(baseline, parseEther('0.9')));
    const keepUnlock = (await unlock(agent, parseEther('0.9'))) - (await unlock(baseline, parseEther('0.9')));
    assert.ok(
      near(keepUnlock),
      `${size} agents: an unlock above the threshold touched the index (${keepUnlock})`,
    );
    // Locking all but less than the threshold takes the agent out of the index; unlocking puts it back.
    const free = await r.market.read.freeStake([agent]);
    const deep = free - AUDIT_THRESHOLD + 1n;
    const leave = (await lock(agent, deep)) - (await lock(baseline, deep));
    const join = (await unlock(agent, deep)) - (await unlock(baseline, deep));
    // A change of bonded stake re-keys the agent (remove + insert).
    const rekey =
      (await gasOf(r.as(wallet).write.addStake({ value: 1n }))) -
      (await gasOf(r.as(bare[round]).write.addStake({ value: 1n })));
    const draw = await chain.publicClient.estimateGas({
      to: r.address,
      data: encodeFunctionData({
        abi: agentRegistryAbi,
        functionName: 'selectVerifier',
        args: [keccak256(toHex(size)), agent, MODEL_A],
      }),
    });
    const [, height] = await r.market.read.verifierIndex([MODEL_A]);
    measured[size] = { keep, leave, join, rekey, draw, height };
  }
  const small = measured[16];
  const large = measured[300];
  const show = (g: Gas) => JSON.stringify(g, (_, v) => (typeof v === 'bigint' ? Number(v) : v));
  t.diagnostic(`index gas at 16 agents: ${show(small)}`);
  t.diagnostic(`index gas at 300 agents: ${show(large)}`);
  assert.ok(near(small.keep) && near(large.keep), 'a lock above the threshold touched the index');
  // AVL height <= 1.44 log2(n + 2): 5 for 16 agents, 11 for 300.
  assert.ok(small.height <= 5n && large.height <= 11n, `heights ${small.height}, ${large.height}`);
  // 19x the agents: a linear cost would grow 19x; a logarithmic one stays within 2.5x here.
  for (const key of ['leave', 'join', 'rekey', 'draw'] as const) {
    assert.ok(small[key] > 0n, `${key}: the index was not updated`);
    assert.ok(
      large[key] < (small[key] * 5n) / 2n,
      `${key}: ${small[key]} gas at 16 agents, ${large[key]} at 300`,
    );
  }
  assert.ok(
    large.leave < 150_000n && large.join < 150_000n && large.rekey < 200_000n,
    `index updates ${large.leave}/${large.join}/${large.rekey} gas`,
  );
  // The draw's estimate includes the 21,000 gas of a transaction.
  assert.ok(large.draw < 130_000n, `draw ${large.draw} gas`);
});
