// The task list, newest first, a page at a time: the first page is the rows the sync keeps live
// (the newest KEPT_TASKS), older pages are read back from the chain when asked for.
import { useState } from 'preact/hooks';
import type { Hex } from 'viem';
import type { Ctx } from '../app.tsx';
import { short, type TaskRow, taskStage } from '../chain/model.ts';
import { olderTasks } from '../chain/taskPages.ts';
import { useStore } from '../hooks.ts';

interface Older {
  rows: TaskRow[];
  before?: bigint;
}

export function Tasks({ ctx }: { ctx: Ctx }) {
  const { state } = useStore(ctx.store);
  const [q, setQ] = useState('');
  const [page, setPage] = useState(0);
  // Older pages as read, page 1 onwards; they are snapshots, marked as such.
  const [older, setOlder] = useState<Older[]>([]);
  const [loading, setLoading] = useState<string>();
  const names = new Map(ctx.config.models.map((m) => [m.root, m.name]));
  for (const m of state.models.values()) names.set(m.root, m.name);
  const kept = [...state.tasks.values()].reverse();
  const shown = page === 0 ? kept : (older[page - 1]?.rows ?? []);
  const needle = q.trim().toLowerCase().slice(0, 80);
  const rows = shown
    .map((t) => ({ t, s: taskStage(t), model: names.get(t.modelRoot) ?? short(t.modelRoot) }))
    .filter(
      ({ t, s, model }) =>
        !needle ||
        t.id.includes(needle) ||
        model.toLowerCase().includes(needle) ||
        (s.outcome ?? s.stage).includes(needle) ||
        t.requester.toLowerCase().includes(needle) ||
        (t.posted?.worker.toLowerCase().includes(needle) ?? false),
    );
  // The page below the last one read: below the oldest kept row's block on page 0.
  const last = page === 0 ? undefined : older[page - 1];
  const oldest = kept[kept.length - 1];
  const more =
    page === 0 ? state.counts.tasks > kept.length && oldest !== undefined : last?.before !== undefined;
  const next = async () => {
    if (older[page]) return setPage(page + 1);
    setLoading('reading older tasks from the chain…');
    try {
      // Page 1 starts in the oldest kept row's block (tasks of that block may not all be kept).
      const before = page === 0 ? oldest.created.block + 1n : last!.before!;
      const seen = new Set<Hex>(page === 0 ? kept.map((t) => t.id) : []);
      const p = await olderTasks(ctx.client, ctx.config.contracts.taskMarket, before, state.head);
      setOlder([...older.slice(0, page), { rows: p.rows.filter((t) => !seen.has(t.id)), before: p.before }]);
      setPage(page + 1);
      setLoading(undefined);
    } catch (e) {
      setLoading(
        `could not read older tasks: ${(e as { shortMessage?: string }).shortMessage ?? (e as Error).message}`,
      );
    }
  };
  const full = /^0x[0-9a-f]{64}$/.test(needle);
  return (
    <section data-testid="tasks">
      <input
        type="search"
        placeholder="Search this page by task ID, model, status or address"
        value={q}
        onInput={(e) => setQ((e.target as HTMLInputElement).value)}
        data-testid="task-search"
      />
      <p class="pager">
        <button
          type="button"
          disabled={page === 0}
          onClick={() => setPage(page - 1)}
          data-testid="tasks-newer"
        >
          ← newer
        </button>{' '}
        <span data-testid="tasks-page">
          page {page + 1} ·{' '}
          {page === 0 ? 'the newest, live' : 'read from the chain at block ' + state.head.toString()} ·{' '}
          {state.counts.tasks} tasks in all
        </span>{' '}
        <button
          type="button"
          disabled={!more || (loading !== undefined && !loading.startsWith('could'))}
          onClick={next}
          data-testid="tasks-older"
        >
          older →
        </button>
        {loading && <small> {loading}</small>}
      </p>
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
          {rows.map(({ t, s, model }) => (
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
      {rows.length === 0 &&
        (full ? (
          <p>
            Not on this page: <a href={`#/task/${needle}`}>open task {short(needle, 8)}</a>
          </p>
        ) : (
          <p>No task on this page matches.</p>
        ))}
    </section>
  );
}
