// The page: a header with the connection state, a menu, and the view the location hash names.
import { useEffect, useState } from 'preact/hooks';
import { type Client, type DashboardConfig, loadConfig, makeClient } from './chain/config.ts';
import { type Store, startSync } from './chain/sync.ts';
import { useRoute, useStore } from './hooks.ts';
import { Agents } from './views/agents.tsx';
import { DisputeReplay, Disputes } from './views/disputes.tsx';
import { Lineage, Models } from './views/models.tsx';
import { Overview } from './views/overview.tsx';
import { TaskPage } from './views/task.tsx';
import { Tasks } from './views/tasks.tsx';
import { TryIt } from './views/tryIt.tsx';

export interface Ctx {
  config: DashboardConfig;
  client: Client;
  store: Store;
}

const MENU = [
  ['', 'Overview'],
  ['tasks', 'Tasks'],
  ['agents', 'Agents'],
  ['disputes', 'Disputes'],
  ['models', 'Models & data'],
  ['try', 'Try it'],
] as const;

function Connection({ ctx }: { ctx: Ctx }) {
  const { state } = useStore(ctx.store);
  if (state.status === 'live')
    return (
      <div class="conn live" data-testid="connection" data-status="live">
        ● live · block {state.head.toString()}
      </div>
    );
  if (state.status === 'connecting')
    return (
      <div class="conn" data-testid="connection" data-status="connecting">
        connecting to {ctx.config.rpcUrl}…
      </div>
    );
  const at = state.seenAt ? new Date(state.seenAt).toLocaleTimeString() : 'never';
  return (
    <div class="conn down" data-testid="connection" data-status="disconnected">
      ✕ Disconnected from the chain at {ctx.config.rpcUrl} — last block {state.head.toString()} seen at {at}.
      Everything below is as of then, not live. ({state.error})
    </div>
  );
}

function View({ ctx }: { ctx: Ctx }) {
  const [page, arg] = useRoute();
  switch (page ?? '') {
    case 'tasks':
      return <Tasks ctx={ctx} />;
    case 'task':
      return <TaskPage key={arg} ctx={ctx} id={arg} />;
    case 'agents':
      return <Agents ctx={ctx} />;
    case 'disputes':
      return <Disputes ctx={ctx} />;
    case 'dispute':
      return <DisputeReplay key={arg} ctx={ctx} id={arg} />;
    case 'models':
      return <Models ctx={ctx} />;
    case 'model':
      return <Lineage key={arg} ctx={ctx} root={arg} />;
    case 'try':
      return <TryIt ctx={ctx} />;
    default:
      return <Overview ctx={ctx} />;
  }
}

export function App() {
  const [ctx, setCtx] = useState<Ctx>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    loadConfig()
      .then((config) => {
        const client = makeClient(config);
        setCtx({ config, client, store: startSync(config, client) });
      })
      .catch((e: Error) => setError(e.message));
  }, []);
  const [page] = useRoute();
  if (error)
    return (
      <main class="conn down" data-testid="connection" data-status="disconnected">
        Cannot start: {error}
      </main>
    );
  if (!ctx) return <main>Loading…</main>;
  return <Shell ctx={ctx} page={page ?? ''} />;
}

function Shell({ ctx, page }: { ctx: Ctx; page: string }) {
  const { state } = useStore(ctx.store);
  const current =
    page === 'task' ? 'tasks' : page === 'dispute' ? 'disputes' : page === 'model' ? 'models' : page;
  return (
    <div class={state.status === 'live' ? 'shell' : 'shell stale'}>
      <header>
        <h1>
          Verinfer <small>verifiable AI inference</small>
        </h1>
        <Connection ctx={ctx} />
      </header>
      <nav>
        {MENU.map(([href, label]) => (
          <a key={href} href={`#/${href}`} class={current === href ? 'on' : ''}>
            {label}
          </a>
        ))}
      </nav>
      <main>
        <View ctx={ctx} />
      </main>
      <footer>
        Read from chain {ctx.config.chainId} at {ctx.config.rpcUrl} through the Verinfer SDK; contract
        addresses from the{' '}
        {ctx.config.addressesFrom === 'chain' ? "chain's own deployment answer" : "server's deployment file"}.
      </footer>
    </div>
  );
}
