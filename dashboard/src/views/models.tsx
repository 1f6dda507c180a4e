// Models and datasets as the registries hold them, and a lineage graph laid out by dagre: each
// version's parent, the dataset it was trained on, and the data registry's duplicate links.
import dagre from '@dagrejs/dagre';
import { useEffect, useState } from 'preact/hooks';
import type { Hex } from 'viem';
import type { GetLineageReturnType } from '../../../src/client/index.ts';
import type { Ctx } from '../app.tsx';
import { short } from '../chain/model.ts';
import { useStore } from '../hooks.ts';

const ZERO = `0x${'0'.repeat(64)}`;

export function Models({ ctx }: { ctx: Ctx }) {
  const { state } = useStore(ctx.store);
  return (
    <section data-testid="models">
      <h2>Models</h2>
      <table>
        <thead>
          <tr>
            <th>name</th>
            <th>version</th>
            <th>root</th>
            <th>parent</th>
            <th>training data</th>
          </tr>
        </thead>
        <tbody>
          {[...state.models.values()].map((m) => (
            <tr key={m.root} data-testid="model-row">
              <td>
                <a href={`#/model/${m.root}`} data-testid={`lineage-${m.name}-${m.version}`}>
                  {m.name}
                </a>
              </td>
              <td>{m.version}</td>
              <td>
                <code>{short(m.root)}</code>
              </td>
              <td>{m.parent === ZERO ? '—' : short(m.parent)}</td>
              <td>{m.dataId === ZERO ? '—' : short(m.dataId)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Datasets</h2>
      {state.datasets.size === 0 && <p>No dataset registered yet (verinfer data register adds one).</p>}
      <ul>
        {[...state.datasets.values()].map((d) => (
          <li key={d.contentId}>
            <code>{short(d.contentId)}</code> {d.uri} by {short(d.registrant)}
            {d.duplicates.length > 0 && ` · ${d.duplicates.length} duplicate registration(s) linked to it`}
          </li>
        ))}
      </ul>
    </section>
  );
}

interface Box {
  id: string;
  label: string;
  kind: 'model' | 'data' | 'dup';
}

function layout(boxes: Box[], edges: [string, string, string][]) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 30, ranksep: 70, marginx: 10, marginy: 10 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const b of boxes) g.setNode(b.id, { width: 190, height: 44 });
  for (const [from, to] of edges) if (g.hasNode(from) && g.hasNode(to)) g.setEdge(from, to);
  dagre.layout(g);
  return g;
}

export function Lineage({ ctx, root }: { ctx: Ctx; root?: string }) {
  const { state } = useStore(ctx.store);
  const [lineage, setLineage] = useState<GetLineageReturnType>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    if (!root || !/^0x[0-9a-fA-F]{64}$/.test(root)) return;
    ctx.client
      .getLineage({ root: root as Hex })
      .then(setLineage)
      .catch((e: { shortMessage?: string; message: string }) => setError(e.shortMessage ?? e.message));
  }, [root]);
  if (error) return <p class="bad">{error}</p>;
  if (!lineage) return <p>Reading the lineage of {root} from the model registry…</p>;
  const boxes: Box[] = [];
  const edges: [string, string, string][] = [];
  for (const e of lineage.entries) {
    boxes.push({ id: e.modelRoot, label: `${e.name} v${e.version}`, kind: 'model' });
    if (e.parent !== ZERO) edges.push([e.parent, e.modelRoot, 'parent']);
    if (e.dataId !== ZERO) {
      const d = state.datasets.get(e.dataId.toLowerCase() as Hex);
      boxes.push({ id: e.dataId, label: `data ${d?.uri || short(e.dataId)}`, kind: 'data' });
      edges.push([e.dataId, e.modelRoot, 'trained on']);
      for (const dup of d?.duplicates ?? []) {
        const dupId = `registration-${dup.registration}`;
        boxes.push({ id: dupId, label: `duplicate by ${short(dup.registrant, 4)}`, kind: 'dup' });
        edges.push([dupId, e.dataId, 'duplicate of']);
      }
    }
  }
  const g = layout(boxes, edges);
  const graph = g.graph();
  return (
    <section data-testid="lineage">
      <h2>Lineage of {lineage.entries[0]?.name ?? short(root ?? '')}</h2>
      <p>
        As published by {lineage.publisher}: {lineage.entries.length} version(s).
      </p>
      <svg
        width={graph.width ?? 300}
        height={graph.height ?? 100}
        class="lineage"
        data-testid="lineage-graph"
        role="img"
        aria-label="lineage graph"
      >
        {g.edges().map((e) => {
          const pts = g.edge(e).points;
          return (
            <polyline
              key={`${e.v}-${e.w}`}
              points={pts.map((p: { x: number; y: number }) => `${p.x},${p.y}`).join(' ')}
              class="edge"
            />
          );
        })}
        {boxes.map((b) => {
          const n = g.node(b.id);
          if (!n) return null;
          return (
            <g
              key={b.id}
              transform={`translate(${n.x - n.width / 2},${n.y - n.height / 2})`}
              class={`node ${b.kind}`}
              data-testid="lineage-node"
            >
              <rect width={n.width} height={n.height} rx="6" />
              <text x="10" y="18">
                {b.label}
              </text>
              <text x="10" y="35" class="sub">
                {b.kind === 'dup' ? b.id : short(b.id, 6)}
              </text>
            </g>
          );
        })}
      </svg>
    </section>
  );
}
