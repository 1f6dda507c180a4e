// Audit draws (AgentRegistry.selectVerifier over the per-model VerifierIndex): padding the agent
// list with inactive agents no longer disables audits; draws match an independent reference of the
// rule exactly (eligible = active, serving, enough free stake, not excluded; weight = free + 1 wei);
// and the gas of a draw and of every index update grows with log n, not n.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Address, encodeFunctionData, type Hex, keccak256, parseEther, toHex, zeroAddress } from 'viem';
import { agentRegistryAbi } from '../../src/chain/bindings/abis.ts';
import { ZERO_BYTES32 } from '../../src/chain/bindings/types.ts';
import { honestParty } from '../../src/dispute/party.ts';
import { postTask } from '../game/support.ts';
import { extraWallets, MIN_STAKE, send, standaloneRegistry } from './registrySupport.ts';
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

/** The documented rule, written independently of the tree: order the eligible agents by (free
 * stake, id), give each free + 1 units, take unit seed mod total. */
function referenceDraw(agents: RefAgent[], seed: Hex, exclude: Address, model: Hex, minFree: bigint) {
  const eligible = agents
    .filter(
      (a) =>
        a.stake >= MIN_STAKE &&
        a.models.includes(model) &&
        a.stake - a.locked >= minFree &&
        a.address.toLowerCase() !== exclude.toLowerCase(),
    )
    .sort((x, y) => {
      const fx = x.stake - x.locked;
      const fy = y.stake - y.locked;
      return fx === fy ? x.id - y.id : fx < fy ? -1 : 1;
    });
  const total = eligible.reduce((s, a) => s + a.stake - a.locked + 1n, 0n);
  if (total === 0n) return { agent: zeroAddress as Address, total };
  let unit = BigInt(seed) % total;
  for (const a of eligible) {
    const w = a.stake - a.locked + 1n;
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
    const picked = await w.v.agentRegistry.read.selectVerifier([
      seed,
      w.accounts[WORKER],
      w.modelRoot,
      stake,
    ]);
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
  // Excluding the verifier leaves the worker (5 ETH, 1.5 locked) as the only eligible agent; asking
  // for more free stake than anyone has leaves nobody, and only then is the audit skipped.
  const other = await w.v.agentRegistry.read.selectVerifier([
    keccak256('0x01'),
    w.accounts[VERIFIER],
    w.modelRoot,
    stake,
  ]);
  assert.equal(other.toLowerCase(), w.accounts[WORKER].toLowerCase());
  const none = await w.v.agentRegistry.read.selectVerifier([
    keccak256('0x01'),
    w.accounts[VERIFIER],
    w.modelRoot,
    parseEther('4'),
  ]);
  assert.equal(none, zeroAddress);
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
      const expected = agents
        .filter((a) => a.stake >= MIN_STAKE && a.models.includes(model))
        .reduce((s, a) => s + a.stake - a.locked + 1n, 0n);
      assert.equal(weight, expected, `${label}: index weight of the model`);
      for (const minFree of [0n, parseEther('0.5'), parseEther('1.2'), parseEther('2')]) {
        for (let s = 0; s < 6; s++) {
          const seed = keccak256(toHex(`${label} ${s} ${minFree}`));
          const exclude = s % 2 ? agents[rand(agents.length)].address : zeroAddress;
          const ref = referenceDraw(agents, seed, exclude, model, minFree);
          const got = await r.market.read.selectVerifier([seed, exclude, model, minFree]);
          assert.equal(got.toLowerCase(), ref.agent.toLowerCase(), `${label}: seed ${s}, min ${minFree}`);
          assert.equal(await r.market.read.eligibleWeight([exclude, model, minFree]), ref.total);
        }
      }
    }
  };
  await check('registered');
  for (let round = 0; round < 5; round++) {
    const a = agents[rand(agents.length)];
    const wallet = wallets[a.id - 1];
    const free = a.stake - a.locked;
    switch (rand(5)) {
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

test('gas of a draw and of every index update grows with log n (16 vs 300 agents)', async (t) => {
  const chain = w.chain;
  const r = await standaloneRegistry(chain);
  const wallets = await extraWallets(chain, 302, 3);
  // Agents that serve no model: the same lock without any index update, to isolate the index's cost.
  const bare = wallets.slice(300);
  for (const wallet of bare)
    await send(chain, r.as(wallet).write.register(['', []], { value: parseEther('5') }));
  const measured: Record<
    number,
    { lock: bigint; unlock: bigint; register: bigint; draw: bigint; height: bigint }
  > = {};
  let registered = 0;
  for (const [round, size] of [16, 300].entries()) {
    let register = 0n;
    for (; registered < size; registered++) {
      const stake = MIN_STAKE + BigInt(registered % 37) * parseEther('0.1');
      const receipt = await send(
        chain,
        r.as(wallets[registered]).write.register(['', [MODEL_A]], { value: stake }),
      );
      register = receipt.gasUsed;
    }
    const baseline = bare[round].account.address;
    const baseLock = (await send(chain, r.market.write.lockStake([baseline, parseEther('0.9')]))).gasUsed;
    const baseUnlock = (await send(chain, r.market.write.unlockStake([baseline, parseEther('0.9')]))).gasUsed;
    // The agent with the most free stake: a lock moves its key across most others.
    const agent = wallets[Math.min(size, 37) - 1].account.address;
    const lock = (await send(chain, r.market.write.lockStake([agent, parseEther('0.9')]))).gasUsed;
    const unlock = (await send(chain, r.market.write.unlockStake([agent, parseEther('0.9')]))).gasUsed;
    const draw = await chain.publicClient.estimateGas({
      to: r.address,
      data: encodeFunctionData({
        abi: agentRegistryAbi,
        functionName: 'selectVerifier',
        args: [keccak256(toHex(size)), agent, MODEL_A, parseEther('1.5')],
      }),
    });
    const [, height] = await r.market.read.verifierIndex([MODEL_A]);
    measured[size] = { lock: lock - baseLock, unlock: unlock - baseUnlock, register, draw, height };
  }
  const small = measured[16];
  const large = measured[300];
  t.diagnostic(
    `index gas at 16 agents: ${JSON.stringify(small, (_, v) => (typeof v === 'bigint' ? Number(v) : v))}`,
  );
  t.diagnostic(
    `index gas at 300 agents: ${JSON.stringify(large, (_, v) => (typeof v === 'bigint' ? Number(v) : v))}`,
  );
  // AVL height <= 1.44 log2(n + 2): 5 for 16 agents, 11 for 300.
  assert.ok(small.height <= 5n && large.height <= 11n, `heights ${small.height}, ${large.height}`);
  // 19x the agents: a linear cost would grow 19x; a logarithmic one stays within 2.5x here.
  for (const key of ['lock', 'unlock', 'draw'] as const) {
    assert.ok(
      large[key] < (small[key] * 5n) / 2n,
      `${key}: ${small[key]} gas at 16 agents, ${large[key]} at 300`,
    );
  }
  assert.ok(
    large.lock < 150_000n && large.unlock < 150_000n,
    `index update ${large.lock}/${large.unlock} gas`,
  );
  // The draw's estimate includes the 21,000 gas of a transaction.
  assert.ok(large.draw < 130_000n, `draw ${large.draw} gas`);
});
