// Every agent: stake, earnings, slashes, audit pass rate, reputation history and liveness.
import type { Ctx } from '../app.tsx';
import { eth, short } from '../chain/model.ts';
import { useStore } from '../hooks.ts';

/** IAgentRegistry's outcome kinds, by number, as the reputation history records them. */
const OUTCOMES = ['result accepted', 'audit passed', 'dispute won', 'dispute lost'];

export function Agents({ ctx }: { ctx: Ctx }) {
  const { state } = useStore(ctx.store);
  const names = new Map(ctx.config.nodes.map((n) => [n.address.toLowerCase(), n]));
  const health = new Map((state.nodes ?? []).map((n) => [n.address.toLowerCase(), n]));
  const rate = (a?: { passed: number; failed: number; open: number }) => {
    if (!a) return '—';
    const done = a.passed + a.failed;
    const pct = done === 0 ? '' : ` (${Math.round((100 * a.passed) / done)}%)`;
    return `${a.passed}/${done}${pct}${a.open > 0 ? ` · ${a.open} open` : ''}`;
  };
  return (
    <section data-testid="agents">
      <table>
        <thead>
          <tr>
            <th>agent</th>
            <th>liveness</th>
            <th>stake</th>
            <th>earnings</th>
            <th>slashes</th>
            <th>audits passed</th>
            <th>reputation history</th>
          </tr>
        </thead>
        <tbody>
          {[...state.agents.values()].map((a) => {
            const key = a.address.toLowerCase();
            const n = names.get(key);
            const h = health.get(key);
            const live =
              state.status !== 'live' || state.nodesError
                ? 'unknown'
                : h
                  ? h.reachable && h.ok !== false && Number(h.lag ?? 0) <= 5
                    ? 'live'
                    : 'stale'
                  : state.head - a.lastActive < 120n
                    ? 'active'
                    : 'quiet';
            return (
              <tr key={a.address} data-testid="agent-row">
                <td>
                  {n ? <b>{n.name} </b> : null}
                  <code>{short(a.address)}</code>
                </td>
                <td>
                  <span class={`dot ${live}`} /> {live}
                  {h?.head ? <small> head {h.head}</small> : null}
                </td>
                <td>{eth(a.stake)} ETH</td>
                <td>{eth(a.earnings)} ETH</td>
                <td class={a.slashes > 0 ? 'bad' : ''}>
                  {a.slashes > 0 ? `${a.slashes} · −${eth(a.slashed)} ETH` : 'none'}
                </td>
                <td>{rate(a.audits.passed + a.audits.failed + a.audits.open > 0 ? a.audits : undefined)}</td>
                <td>
                  {a.outcomes.length === 0
                    ? '—'
                    : a.outcomes
                        .slice(-8)
                        .map((o) => `${OUTCOMES[o.outcome] ?? o.outcome} → ${o.count}`)
                        .join(' · ')}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
