import { useState } from 'preact/hooks';
import type { Ctx } from '../app.tsx';
import { short, taskStage } from '../chain/model.ts';
import { useStore } from '../hooks.ts';

export function Tasks({ ctx }: { ctx: Ctx }) {
  const { state } = useStore(ctx.store);
  const [q, setQ] = useState('');
  const names = new Map(ctx.config.models.map((m) => [m.root, m.name]));
  for (const m of state.models.values()) names.set(m.root, m.name);
  const needle = q.trim().toLowerCase().slice(0, 80);
  const rows = [...state.tasks.values()]
    .map((t) => ({ t, s: taskStage(t), model: names.get(t.modelRoot) ?? short(t.modelRoot) }))
    .filter(
      ({ t, s, model }) =>
        !needle ||
        t.id.includes(needle) ||
        model.toLowerCase().includes(needle) ||
        (s.outcome ?? s.stage).includes(needle) ||
        t.requester.toLowerCase().includes(needle) ||
        (t.posted?.worker.toLowerCase().includes(needle) ?? false),
    )
    .reverse();
  return (
    <section data-testid="tasks">
      <input
        type="search"
        placeholder="Search by task ID, model, status or address"
        value={q}
        onInput={(e) => setQ((e.target as HTMLInputElement).value)}
        data-testid="task-search"
      />
      <table>
        <thead>
          <tr>
            <th>task</th>
            <th>model</th>
            <th>worker</th>
            <th>status</th>
            <th>block</th>
          </tr>
        </thead>
        <tbody>
          {rows.slice(0, 500).map(({ t, s, model }) => (
            <tr key={t.id} data-testid="task-row" data-status={s.outcome ?? s.stage}>
              <td>
                <a href={`#/task/${t.id}`}>{short(t.id, 8)}</a>
              </td>
              <td>{model}</td>
              <td>{t.posted ? short(t.posted.worker) : '—'}</td>
              <td>
                <span class={`pill ${s.outcome ?? 'open'}`}>{s.outcome ?? s.stage}</span>
              </td>
              <td>{t.created.block.toString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 && <p>No task matches.</p>}
    </section>
  );
}
