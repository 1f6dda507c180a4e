// Every dispute game, and a replay of one: the dissection drawn as a range narrowing over ops, then
// over one op's output chunks, then over a chunk's bytes, then (for a conv split into segments)
// over the worker's partial sums; who moved and when; the one-step or segment step's claimed and
// recomputed values and its gas; the winner, and where the bond and the stake went.
import { useEffect, useState } from 'preact/hooks';
import { DISPUTE_OUTCOMES } from '../../../src/client/index.ts';
import type { Ctx } from '../app.tsx';
import { type Range, ranges, type SegmentStep, segmentStep } from '../chain/dissection.ts';
import { eth, type Move, short } from '../chain/model.ts';
import { useStore } from '../hooks.ts';

function Bar({ r }: { r: Range }) {
  const size = r.size > 0n ? r.size : 1n;
  const x = Number((r.lo * 1000n) / size) / 10;
  const w = Math.max(0.6, Number(((r.hi - r.lo) * 1000n) / size) / 10);
  return (
    <svg
      class="range"
      viewBox="0 0 100 6"
      preserveAspectRatio="none"
      data-testid="range"
      role="img"
      aria-label={`${r.level} ${r.lo}…${r.hi} of ${r.size}`}
    >
      <rect x="0" y="0" width="100" height="6" class="all" />
      <rect x={x} y="0" width={w} height="6" class="hit" />
    </svg>
  );
}

function describe(m: Move): string {
  const a = m.args;
  switch (m.kind) {
    case 'TraceRevealed':
      return `reveals its trace root ${short(String(a.traceTreeRoot))} and the top of the op tree`;
    case 'NodesRevealed':
      return `reveals the ${(a.children as unknown[]).length} children of ${Number(a.phase) === 13 ? 'partial-sum ' : ''}node ${a.position} at height ${a.height}`;
    case 'ChildPicked':
      return Number(a.phase) === 12
        ? `picks the partial-sum node at height ${a.height}, position ${a.position}: the first where the sums part`
        : `picks the child at height ${a.height}, position ${a.position}, where the claims part`;
    case 'PrefixRevealed':
      return `splits the element's sum into ${a.segments} segments: commits its ${BigInt(a.segments as bigint) + 1n} partial sums (root ${short(String(a.prefixRoot))}, the last leaf proven to be its byte)`;
    case 'SegmentVerified':
      return `segment step: the contract recomputes leaf ${a.segment} of the partial sums as ${a.value}`;
    case 'OpNamed':
      return `names op ${a.opIndex} (output ${a.outputLength} bytes; inputs agreed)`;
    case 'TensorRevealed':
      return `reveals the output tensor's data root ${short(String(a.dataRoot))} and its chunk tree`;
    case 'ChunkRevealed':
      return `reveals chunk ${a.chunkIndex}`;
    case 'ElementNamed':
      return `names element ${a.element}: the worker's byte there is ${a.workerByte}`;
    case 'StepVerified':
      return `one-step check: the contract recomputes the element as ${a.value}`;
    default:
      return m.kind;
  }
}

export function Disputes({ ctx }: { ctx: Ctx }) {
  const { state } = useStore(ctx.store);
  const games = [...state.games.values()].reverse();
  return (
    <section data-testid="disputes">
      {games.length === 0 && <p>No dispute game yet. A challenged result opens one.</p>}
      <table>
        <thead>
          <tr>
            <th>game</th>
            <th>subject</th>
            <th>moves</th>
            <th>bond</th>
            <th>outcome</th>
          </tr>
        </thead>
        <tbody>
          {games.map((g) => (
            <tr key={g.id.toString()} data-testid="game-row">
              <td>
                <a href={`#/dispute/${g.id}`}>game {g.id.toString()}</a>
              </td>
              <td>{short(g.subject, 8)}</td>
              <td>{g.moves.length}</td>
              <td>{eth(g.bond)} ETH</td>
              <td>{g.resolved ? DISPUTE_OUTCOMES[g.resolved.outcome] : 'open'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** The segment step: which leaf of the partial sums it checked, the claim, the recomputation, its gas. */
function SegmentCard({ s, gas }: { s?: SegmentStep; gas?: bigint }) {
  if (!s) return null;
  const before = s.before === undefined ? '…' : s.before.toString();
  return (
    <div class="card" data-testid="one-step" data-segment={s.segment.toString()}>
      <b>
        {s.final
          ? `Final step: requantize the total of all ${s.segments} segments`
          : `Segment step: segment ${s.segment} of ${s.segments}`}
      </b>
      <span>
        {s.final
          ? `from the worker's proven total ${before}: claimed byte ${String(s.claimed)} · recomputed on chain: ${s.value}`
          : `from the worker's proven sum before it, ${before}: claimed leaf ${short(String(s.claimed))} · recomputed on chain: ${s.value} (leaf ${short(s.recomputedLeaf ?? '')})`}{' '}
        · gas {gas === undefined ? '…' : gas.toString()}
      </span>
      <span>
        {s.workerLost ? "they differ: the worker's claim is wrong" : "they agree: the worker's claim stands"}
      </span>
    </div>
  );
}

export function DisputeReplay({ ctx, id }: { ctx: Ctx; id?: string }) {
  const { state } = useStore(ctx.store);
  const g = id && /^\d{1,20}$/.test(id) ? state.games.get(BigInt(id)) : undefined;
  const [parties, setParties] = useState<{ worker: string; challenger: string; budget: [bigint, bigint] }>();
  const [gas, setGas] = useState<bigint>();
  const [input, setInput] = useState<`0x${string}`>();
  const step = g?.moves.find((m) => m.kind === 'StepVerified' || m.kind === 'SegmentVerified');
  useEffect(() => {
    if (!g) return;
    ctx.client
      .getDispute({ gameId: g.id })
      .then((d) =>
        setParties({
          worker: d.worker,
          challenger: d.challenger,
          budget: [d.clocks.worker, d.clocks.challenger],
        }),
      )
      .catch(() => {});
  }, [g?.id, g?.moves.length, g?.resolved?.tx]);
  useEffect(() => {
    if (!step) return;
    ctx.client.getTransactionReceipt({ hash: step.tx }).then(
      (r) => setGas(r.gasUsed),
      () => {},
    );
    // The segment step's calldata holds the worker's proven sum before the segment.
    if (step.kind === 'SegmentVerified')
      ctx.client.getTransaction({ hash: step.tx }).then(
        (t) => setInput(t.input),
        () => {},
      );
  }, [step?.tx]);
  if (!g) return <p>No dispute game {id} on this chain (yet).</p>;
  const rs = ranges(g);
  const named = g.moves.find((m) => m.kind === 'ElementNamed');
  let last = state.blockTimes.get(g.opened.block) ?? 0;
  const used = { worker: 0, challenger: 0, anyone: 0 };
  const winner = g.resolved ? DISPUTE_OUTCOMES[g.resolved.outcome] : undefined;
  const slashes = state.slashEvents.filter((s) => s.tx === g.resolved?.tx || s.agent === parties?.worker);
  return (
    <section data-testid="dispute-replay">
      <h2>
        Dispute game {g.id.toString()} over task <a href={`#/task/${g.subject}`}>{short(g.subject, 8)}</a>
      </h2>
      <p>
        worker {parties ? short(parties.worker) : '…'} against challenger{' '}
        {parties ? short(parties.challenger) : '…'} · bond {eth(g.bond)} ETH · {g.opCount.toString()} ops in
        dispute at the start
      </p>
      <ol class="moves">
        {g.moves.map((m, i) => {
          const t = state.blockTimes.get(m.block) ?? last;
          used[m.by] += Math.max(0, t - last);
          last = t;
          const r = rs[i];
          return (
            <li key={`${m.tx}-${i}`} data-testid="move" class={m.by}>
              <span class="who">{m.by}</span> {describe(m)}
              {r && (
                <div class="rangeline">
                  <Bar r={r} />
                  <small>
                    {r.level} {r.lo.toString()}
                    {r.hi - r.lo > 1n ? `…${(r.hi - 1n).toString()}` : ''} of {r.size.toString()}
                  </small>
                </div>
              )}
              <small>
                block {m.block.toString()} · clock used so far: worker {used.worker}s, challenger{' '}
                {used.challenger}s
              </small>
            </li>
          );
        })}
      </ol>
      {parties && (
        <p>
          Clock budgets as of the last move: worker {parties.budget[0].toString()}s, challenger{' '}
          {parties.budget[1].toString()}s.
        </p>
      )}
      {step?.kind === 'SegmentVerified' && <SegmentCard s={segmentStep(g, input)} gas={gas} />}
      {step?.kind === 'StepVerified' && (
        <div class="card" data-testid="one-step">
          <b>One-step check</b>
          <span>
            claimed by the worker: {named ? String(named.args.workerByte) : '?'} · recomputed on chain:{' '}
            {String(step.args.value)} · gas {gas === undefined ? '…' : gas.toString()}
          </span>
        </div>
      )}
      {g.resolved ? (
        <div class="card" data-testid="winner">
          <b>
            Winner:{' '}
            {winner === 'challengerWon'
              ? 'the challenger'
              : winner === 'workerWon'
                ? 'the worker'
                : 'nobody (moot)'}
          </b>
          <span>
            bond: {eth(g.resolved.toChallenger)} ETH to the challenger, {eth(g.resolved.toWorker)} ETH to the
            worker, {eth(g.resolved.burnt)} ETH burnt
          </span>
          {slashes.map((s) => (
            <span key={s.tx + s.agent}>
              stake: {short(s.agent)} slashed {eth(s.amount)} ETH — {eth(s.toBeneficiary)} to{' '}
              {short(s.beneficiary)}, {eth(s.burnt)} burnt
            </span>
          ))}
        </div>
      ) : (
        <p data-testid="winner-pending">
          The game is still open: {state.openClocks.get(g.id)?.mover ?? 'a party'} moves next.
        </p>
      )}
    </section>
  );
}
