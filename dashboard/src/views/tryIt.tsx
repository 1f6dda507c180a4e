// Try it: draw a digit or paste an e-mail, request an inference through the SDK with the devnet's
// requester key, and watch the task go from request to commitment to finality. Outside a devnet
// the page has no key and asks for none.
import { useEffect, useRef, useState } from 'preact/hooks';
import { type Hex, hexToBytes, parseEther } from 'viem';
import type { Tensor } from '../../../src/engine/tensor.ts';
import { tokenize } from '../../../src/examples/spamTokenizer.ts';
import { quantizeInput } from '../../../src/onnx/input.ts';
import type { Ctx } from '../app.tsx';
import { type CheckedPackage, packageOf } from '../chain/packages.ts';
import { useStore } from '../hooks.ts';
import { Stepper } from './task.tsx';

const SIDE = 280;
/** The largest e-mail the page tokenizes; the model reads only its first words anyway. */
const MAX_TEXT = 64 * 1024;

function Pad({ onReady }: { onReady: (read: () => Float32Array) => void }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const canvas = ref.current!;
    const c = canvas.getContext('2d', { willReadFrequently: true })!;
    const clear = () => {
      c.fillStyle = '#000';
      c.fillRect(0, 0, SIDE, SIDE);
    };
    clear();
    let down = false;
    const at = (e: PointerEvent): [number, number] => {
      const r = canvas.getBoundingClientRect();
      return [((e.clientX - r.left) * SIDE) / r.width, ((e.clientY - r.top) * SIDE) / r.height];
    };
    canvas.onpointerdown = (e) => {
      down = true;
      c.beginPath();
      c.moveTo(...at(e));
    };
    canvas.onpointermove = (e) => {
      if (!down) return;
      c.lineTo(...at(e));
      c.strokeStyle = '#fff';
      c.lineWidth = 22;
      c.lineCap = 'round';
      c.lineJoin = 'round';
      c.stroke();
    };
    canvas.onpointerup = () => {
      down = false;
    };
    (canvas as HTMLCanvasElement & { clearPad?: () => void }).clearPad = clear;
    // 28×28 grey levels in [0, 1]: each pixel the mean of a 10×10 block, as MNIST digits are.
    onReady(() => {
      const px = c.getImageData(0, 0, SIDE, SIDE).data;
      const n = 28;
      const k = SIDE / n;
      const out = new Float32Array(n * n);
      for (let y = 0; y < n; y++)
        for (let x = 0; x < n; x++) {
          let s = 0;
          for (let dy = 0; dy < k; dy++)
            for (let dx = 0; dx < k; dx++) s += px[4 * ((y * k + dy) * SIDE + x * k + dx)];
          out[y * n + x] = s / (k * k * 255);
        }
      return out;
    });
  }, []);
  return (
    <div>
      <canvas ref={ref} width={SIDE} height={SIDE} class="pad" data-testid="draw-pad" />
      <button type="button" onClick={() => (ref.current as unknown as { clearPad: () => void }).clearPad()}>
        Clear
      </button>
    </div>
  );
}

/** The label of the highest of the output's class scores. */
function topLabel(pkg: CheckedPackage, output: Hex): string {
  const scores = hexToBytes(output);
  let top = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i] > scores[top]) top = i;
  return pkg.model.meta.labels?.[top] ?? String(top);
}

export function TryIt({ ctx }: { ctx: Ctx }) {
  const { state } = useStore(ctx.store);
  const models = ctx.config.models.filter((m) => m.served);
  const [root, setRoot] = useState<Hex | undefined>(models[0]?.root);
  const [pkg, setPkg] = useState<CheckedPackage>();
  const [text, setText] = useState('');
  const [taskId, setTaskId] = useState<Hex>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const reader = useRef<(() => Float32Array) | null>(null);
  useEffect(() => {
    setPkg(undefined);
    if (root)
      packageOf(root)
        .then(setPkg)
        .catch((e: Error) => setError(e.message));
  }, [root]);
  if (!ctx.config.devnet)
    return (
      <p data-testid="try-nokey">
        Try it sends a request with the devnet's test key. This chain is not a devnet, so this page has no key
        and never asks for one: use the SDK or `verinfer infer` with your own.
      </p>
    );
  const image = pkg !== undefined && pkg.model.tensors[pkg.model.input].dtype !== 'i32';
  const submit = async () => {
    if (!pkg) return;
    setBusy(true);
    setError(undefined);
    try {
      let input: Tensor;
      if (image) input = quantizeInput(pkg.model, { shape: [1, 1, 28, 28], data: reader.current!() });
      else {
        if (!pkg.tokenizer) throw new Error('This model has no tokenizer for text.');
        if (text.trim() === '') throw new Error('Paste an e-mail first.');
        const ids = tokenize(text.slice(0, MAX_TEXT), pkg.tokenizer);
        input = { dtype: 'i32', shape: [1, ids.length], data: ids, zeroPoint: 0 };
      }
      const r = await ctx.client.requestInference({ model: pkg.model, input, fee: parseEther('0.01') });
      setTaskId(r.taskId);
      ctx.store.poke();
    } catch (e) {
      setError((e as { shortMessage?: string }).shortMessage ?? (e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const task = taskId ? state.tasks.get(taskId.toLowerCase() as Hex) : undefined;
  return (
    <section data-testid="try">
      <label>
        Model{' '}
        <select
          value={root}
          onChange={(e) => setRoot((e.target as HTMLSelectElement).value as Hex)}
          data-testid="try-model"
        >
          {models.map((m) => (
            <option key={m.root} value={m.root}>
              {m.name}
            </option>
          ))}
        </select>
      </label>
      {!pkg ? (
        <p>loading and checking the model package…</p>
      ) : image ? (
        <Pad onReady={(read) => (reader.current = read)} />
      ) : (
        <textarea
          rows={10}
          cols={70}
          maxLength={MAX_TEXT}
          placeholder="Subject: …&#10;&#10;Paste an e-mail here"
          value={text}
          onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
          data-testid="try-text"
        />
      )}
      <p>
        <button type="button" onClick={submit} disabled={busy || !pkg} data-testid="try-submit">
          {busy ? 'Sending…' : 'Request a verified inference (0.01 devnet ETH)'}
        </button>
      </p>
      {error && <p class="bad">{error}</p>}
      {taskId && (
        <div data-testid="try-task" data-task={taskId}>
          <p>
            Task <a href={`#/task/${taskId}`}>{taskId}</a>
          </p>
          {task ? <Stepper t={task} /> : <p>waiting for the request's block…</p>}
          {task?.posted && pkg && (
            <p data-testid="try-answer">
              The worker's answer: <b>{topLabel(pkg, task.posted.output)}</b>
              {task.finalized
                ? ' — final, unchallenged after the window'
                : task.convicted
                  ? ' — convicted as false'
                  : ' — not final yet'}
            </p>
          )}
        </div>
      )}
    </section>
  );
}
