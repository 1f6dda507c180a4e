// What the network is doing, at a glance: counts, a live chart, and health cards that turn red.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { Ctx } from '../app.tsx';
import { bookLine } from '../chain/books.ts';
import { type ChainState, eth, type Tick } from '../chain/model.ts';
import { useStore } from '../hooks.ts';

const SERIES: { kind: Tick['kind']; label: string; color: string }[] = [
  { kind: 'committed', label: 'committed', color: '#2563eb' },
  { kind: 'finalized', label: 'finalized', color: '#16a34a' },
  { kind: 'audited', label: 'audited', color: '#9333ea' },
  { kind: 'disputed', label: 'disputed', color: '#dc2626' },
];

/** Cumulative counts per 5 s of block time, from the first event to the head. */
function seriesOf(state: ChainState): uPlot.AlignedData {
  const step = 5;
  const start = state.ticks.length > 0 ? Math.min(...state.ticks.map((t) => t.t)) : state.headTime - 60;
  const end = Math.max(state.headTime, start + step);
  const xs: number[] = [];
  for (let t = Math.floor(start / step) * step; t <= end + step; t += step) xs.push(t);
  const ys = SERIES.map(() => new Array<number>(xs.length).fill(0));
  for (const tick of state.ticks) {
    const k = SERIES.findIndex((s) => s.kind === tick.kind);
    const i = Math.max(0, Math.ceil((tick.t - xs[0]) / step));
    for (let j = i; j < xs.length; j++) ys[k][j] += tick.n;
  }
  return [xs, ...ys];
}

function Chart({ ctx }: { ctx: Ctx }) {
  const { state } = useStore(ctx.store);
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const opts: uPlot.Options = {
      width: Math.min(900, (box.current?.clientWidth ?? 800) - 10),
      height: 240,
      series: [{}, ...SERIES.map((s) => ({ label: s.label, stroke: s.color, width: 2 }))],
      axes: [{}, { label: 'results' }],
    };
    plot.current = new uPlot(opts, seriesOf(state), box.current!);
    return () => plot.current?.destroy();
  }, []);
  useEffect(() => {
    plot.current?.setData(seriesOf(state));
  });
  return <div ref={box} class="chart" data-testid="live-chart" />;
}

interface Card {
  title: string;
  bad: boolean;
  text: string;
}

export function healthCards(state: ChainState): Card[] {
  const near = [...state.openClocks.entries()].filter(([, c]) => c.secondsLeft <= 20n);
  const now = BigInt(state.headTime);
  // Open work covers every unsettled task, whether or not its row is still kept.
  const unanswered = [...state.open.values()].filter(
    (o) => o.audit && !o.audit.answered && o.audit.deadline < now,
  );
  const nodes = state.nodes ?? [];
  const stale = nodes.filter((n) => !n.reachable || n.ok === false || Number(n.lag ?? 0) > 5);
  const books = state.books;
  const off = (books ?? []).filter((b) => b.balance !== b.books);
  return [
    {
      title: 'Disputes near their deadline',
      bad: near.length > 0,
      text:
        state.openClocks.size === 0
          ? 'no open dispute'
          : near.length > 0
            ? `game ${near.map(([id]) => id.toString()).join(', ')}: ≤ 20 s on the mover's clock`
            : `${state.openClocks.size} open, every clock has time`,
    },
    {
      title: 'Audits not answered',
      bad: unanswered.length > 0,
      text:
        unanswered.length > 0
          ? `${unanswered.length} past their deadline`
          : 'every drawn audit answered in time',
    },
    {
      title: 'Agent heartbeats',
      bad: state.nodesError !== undefined || stale.length > 0,
      text: state.nodesError
        ? `unknown: ${state.nodesError}`
        : state.nodes === null
          ? 'asking the nodes…'
          : nodes.length === 0
            ? 'no node endpoints known to this dashboard'
            : stale.length > 0
              ? `stale: ${stale.map((n) => n.name).join(', ')}`
              : `${nodes.length} nodes answering, in sync`,
    },
    {
      title: 'Contract books',
      bad: off.length > 0,
      text: books === null ? 'reading…' : books.map(bookLine).join(' · '),
    },
  ];
}

export function Overview({ ctx }: { ctx: Ctx }) {
  const { state } = useStore(ctx.store);
  const agents = [...state.agents.values()];
  const stake = agents.reduce((s, a) => s + a.stake, 0n);
  const perMin = state.created.filter((t) => t > state.headTime - 60).length;
  const stats: [string, string][] = [
    ['models', String(state.models.size)],
    ['agents', String(agents.length)],
    ['total stake', `${eth(stake)} ETH`],
    ['tasks / min', String(perMin)],
    ['tasks', String(state.counts.tasks)],
    ['final', String(state.counts.final)],
    ['convicted', String(state.counts.convicted)],
    ['disputes', String(state.games.size)],
  ];
  return (
    <section data-testid="overview">
      <p class="lede">
        Workers stake and run models off chain; each result is one commitment on chain. Verifiers audit a
        random share and anyone may challenge: a dispute game narrows a disagreement to one integer step that
        the contract recomputes, and the loser is slashed.
      </p>
      <div class="stats">
        {stats.map(([k, v]) => (
          <div class="stat" key={k}>
            <b data-testid={`stat-${k.replace(/\W+/g, '-')}`}>{v}</b>
            <span>{k}</span>
          </div>
        ))}
      </div>
      <h2>Results over time</h2>
      <Chart ctx={ctx} />
      <h2>Health</h2>
      <div class="cards">
        {healthCards(state).map((c) => (
          <div key={c.title} class={c.bad ? 'card bad' : 'card good'} data-testid="health-card">
            <b>{c.title}</b>
            <span>{c.text}</span>
          </div>
        ))}
      </div>
    </section>
  );
}
