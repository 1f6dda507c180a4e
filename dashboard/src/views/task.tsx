// One task: its model and input, its output and scores, its roots and transactions, where it is
// in its life, and "verify in your browser", which re-runs it here with the exact engine.
import { useEffect, useState } from 'preact/hooks';
import type { Hex } from 'viem';
import type { VerifyTaskReturnType } from '../../../src/client/index.ts';
import type { Backend } from '../../../src/engine/interpreter.ts';
import { referenceBackend } from '../../../src/engine/interpreter.ts';
import { wasmBackend } from '../../../src/engine/wasm/index.ts';
import type { Ctx } from '../app.tsx';
import { STAGES, short, type TaskRow, taskStage } from '../chain/model.ts';
import { type CheckedPackage, packageOf } from '../chain/packages.ts';
import { readTasks } from '../chain/taskPages.ts';
import { useStore } from '../hooks.ts';
import { InputView, ScoresView } from './taskParts.tsx';

export function Stepper({ t }: { t: TaskRow }) {
  const s = taskStage(t);
  const end = s.outcome === 'convicted' ? 'convicted' : s.outcome === 'expired' ? 'expired' : undefined;
  const reached = STAGES.indexOf(s.stage === 'disputed' ? 'audit drawn' : s.stage);
  return (
    <div data-testid="stepper" data-stage={s.outcome ?? s.stage}>
      <ol class="stepper">
        {STAGES.map((name, i) => {
          const done = i < reached || (i === reached && s.outcome === 'final');
          const cls = done ? 'done' : i === reached && !end ? 'now' : '';
          return (
            <li key={name} class={cls}>
              {name}
            </li>
          );
        })}
        {(s.stage === 'disputed' || end) && <li class="now bad">{end ?? 'disputed'}</li>}
      </ol>
      <p>
        Waiting for: <b data-testid="waiting">{s.waiting}</b>
      </p>
    </div>
  );
}

function Tx({ label, tx }: { label: string; tx?: { tx: Hex; block: bigint } }) {
  if (!tx) return null;
  return (
    <tr>
      <th>{label}</th>
      <td>
        <code>{tx.tx}</code> (block {tx.block.toString()})
      </td>
    </tr>
  );
}

/** A failure of the engine itself (the browser would not compile or grow the WASM module). */
function engineFailed(e: unknown): boolean {
  return (
    e instanceof WebAssembly.CompileError || e instanceof WebAssembly.LinkError || e instanceof RangeError
  );
}

/** `?engine=reference` runs the reference interpreter, as a browser without WebAssembly would. */
function forcedReference(): boolean {
  return new URLSearchParams(window.location.search).get('engine') === 'reference';
}

function Verify({ ctx, t, pkg }: { ctx: Ctx; t: TaskRow; pkg?: CheckedPackage }) {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ r: VerifyTaskReturnType; engine: string }>();
  const [error, setError] = useState<string>();
  if (!t.posted) return <p>Nothing to verify yet: no result is posted.</p>;
  const run = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const p = pkg ?? (await packageOf(t.modelRoot));
      // The WASM exact engine, bit-identical to the reference interpreter, which is the fallback
      // (and what `?engine=reference` in the page's address asks for).
      let backend: Backend = forcedReference() ? referenceBackend : wasmBackend;
      let r: VerifyTaskReturnType;
      try {
        r = await ctx.client.verifyTask({ taskId: t.id, model: p.model, backend });
      } catch (e) {
        if (backend === referenceBackend || !engineFailed(e)) throw e;
        backend = referenceBackend;
        r = await ctx.client.verifyTask({ taskId: t.id, model: p.model, backend });
      }
      setResult({
        r,
        engine: backend === wasmBackend ? 'the WASM exact engine' : 'the reference interpreter',
      });
    } catch (e) {
      setError((e as { shortMessage?: string }).shortMessage ?? (e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="verify">
      <button type="button" onClick={run} disabled={busy} data-testid="verify-button">
        {busy ? 'Running the model in this page…' : 'Verify in your browser'}
      </button>
      {error && (
        <p class="bad" data-testid="verify-error">
          {error}
        </p>
      )}
      {result && (
        <div
          class={result.r.ok ? 'card good' : 'card bad'}
          data-testid="verify-result"
          data-ok={String(result.r.ok)}
          data-engine={result.engine === 'the reference interpreter' ? 'reference' : 'wasm'}
        >
          {result.r.ok ? (
            <b>✓ Agrees with the chain: this page re-ran the model and got the committed output.</b>
          ) : (
            <b>✕ Disagrees with the chain: the posted result is not what the model computes.</b>
          )}
          <p>
            Ran {result.engine} on the input published on chain (input root {short(result.r.inputRoot)}), with
            the package whose model root matches the task's. Output root here {short(result.r.outputRoot)}; on
            chain {short(t.posted.outputRoot)}.
          </p>
          {result.r.mismatches.map((m) => (
            <p key={m.field} data-testid="mismatch">
              {m.field}: this page computes <code>{short(m.expected, 10)}</code>, the chain holds{' '}
              <code>{short(m.posted, 10)}</code>
            </p>
          ))}
        </div>
      )}
    </div>
  );
}

/**
 * A task older than the rows kept live is read from the chain, and read again on new blocks until
 * it is settled.
 */
function useOlderTask(ctx: Ctx, id: string | undefined, kept: TaskRow | undefined): TaskRow | undefined {
  const { state } = useStore(ctx.store);
  const [row, setRow] = useState<TaskRow>();
  const [asked, setAsked] = useState(-1n);
  const valid = id !== undefined && /^0x[0-9a-f]{64}$/.test(id);
  const settled = row && (row.finalized || row.convicted || row.expired);
  useEffect(() => {
    if (kept || !valid || settled || state.status !== 'live' || state.head === asked) return;
    setAsked(state.head);
    readTasks(ctx.client, ctx.config.contracts.taskMarket, [id as Hex], row?.created.block ?? 0n, state.head)
      .then((rows) => rows[0] && setRow(rows[0]))
      .catch(() => {});
  }, [id, kept, state.head, state.status]);
  return kept ?? row;
}

export function TaskPage({ ctx, id }: { ctx: Ctx; id?: string }) {
  const { state } = useStore(ctx.store);
  const key = id?.toLowerCase();
  const t = useOlderTask(ctx, key, key ? state.tasks.get(key as Hex) : undefined);
  const [pkg, setPkg] = useState<CheckedPackage>();
  const [pkgError, setPkgError] = useState<string>();
  useEffect(() => {
    if (!t) return;
    packageOf(t.modelRoot)
      .then(setPkg)
      .catch((e: Error) => setPkgError(e.message));
  }, [t?.modelRoot]);
  if (!t) return <p>No task {id} on this chain (yet).</p>;
  const name =
    state.models.get(t.modelRoot)?.name ?? ctx.config.models.find((m) => m.root === t.modelRoot)?.name;
  return (
    <section data-testid="task-page">
      <h2>
        Task <code>{short(t.id, 10)}</code> · model {name ?? short(t.modelRoot)}
      </h2>
      <Stepper t={t} />
      <div class="two">
        <div>
          <h3>Input</h3>
          {pkg ? (
            <InputView model={pkg.model} tokenizer={pkg.tokenizer} inline={t.inline} />
          ) : (
            <p>{pkgError ?? 'loading the model package…'}</p>
          )}
        </div>
        <div>
          <h3>Output</h3>
          {!t.posted ? (
            <p>not posted yet</p>
          ) : pkg ? (
            <ScoresView model={pkg.model} output={t.posted.output} />
          ) : null}
          {t.posted && <p>posted by {t.posted.worker}</p>}
        </div>
      </div>
      <h3>Verify</h3>
      <Verify ctx={ctx} t={t} pkg={pkg} />
      <h3>Roots and transactions</h3>
      <table class="kv">
        <tbody>
          <tr>
            <th>task ID</th>
            <td>
              <code>{t.id}</code>
            </td>
          </tr>
          <tr>
            <th>model root</th>
            <td>
              <code>{t.modelRoot}</code>
            </td>
          </tr>
          <tr>
            <th>input root</th>
            <td>
              <code>{t.inputRoot}</code>
            </td>
          </tr>
          {t.posted && (
            <tr>
              <th>output root</th>
              <td>
                <code>{t.posted.outputRoot}</code>
              </td>
            </tr>
          )}
          {t.posted && (
            <tr>
              <th>result commitment</th>
              <td>
                <code>{t.posted.commitment}</code>
              </td>
            </tr>
          )}
          <Tx label="requested" tx={t.created} />
          <Tx label="taken" tx={t.taken} />
          <Tx label="committed" tx={t.posted} />
          <Tx label="audit drawn" tx={t.audit} />
          <Tx label="attested" tx={t.attested} />
          {t.challenges.map((c) => (
            <tr key={c.tx}>
              <th>challenged</th>
              <td>
                <code>{c.tx}</code> → <a href={`#/dispute/${c.gameId}`}>dispute game {c.gameId.toString()}</a>
              </td>
            </tr>
          ))}
          <Tx label="final" tx={t.finalized} />
          <Tx label="convicted" tx={t.convicted} />
          <Tx label="expired" tx={t.expired} />
        </tbody>
      </table>
    </section>
  );
}
