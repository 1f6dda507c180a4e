// Pieces of the task page: the input drawn as the model reads it, and the output's class scores.
import { useEffect, useRef } from 'preact/hooks';
import { type Hex, hexToBytes } from 'viem';
import { tensorOfBytes } from '../../../src/client/utils/input.ts';
import type { Model } from '../../../src/engine/graph.ts';
import type { TokenizerSpec } from '../../../src/examples/spamTokenizer.ts';

/** A one-channel image input, each committed byte a grey level, scaled up. */
function Digit({ bytes, h, w }: { bytes: Uint8Array; h: number; w: number }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = ref.current!.getContext('2d')!;
    const img = c.createImageData(w, h);
    for (let i = 0; i < w * h; i++) {
      const v = bytes[i] ?? 0;
      img.data.set([v, v, v, 255], 4 * i);
    }
    c.putImageData(img, 0, 0);
  }, [bytes]);
  return <canvas ref={ref} width={w} height={h} class="digit" data-testid="input-image" />;
}

export function InputView({
  model,
  tokenizer,
  inline,
}: {
  model: Model;
  tokenizer?: TokenizerSpec;
  inline: Hex;
}) {
  if (inline === '0x') return <p>The input was not published on chain (a signed task).</p>;
  const info = model.tensors[model.input];
  const bytes = hexToBytes(inline);
  if (info.dtype !== 'i32' && info.shape.length === 4 && info.shape[1] === 1) {
    const [, , h, w] = info.shape;
    return <Digit bytes={bytes.subarray(0, h * w)} h={h} w={w} />;
  }
  if (info.dtype === 'i32' && tokenizer) {
    const ids = tensorOfBytes(model, bytes).data as Int32Array;
    const words = [...ids].filter((id) => id !== tokenizer.pad).map((id) => tokenizer.vocab[id] ?? '[?]');
    return (
      <blockquote class="email" data-testid="input-text">
        {words.join(' ')}
        <small>
          {' '}
          (the e-mail as the model reads it: its first {tokenizer.sequenceLength} words, [UNK] for a word
          outside its vocabulary)
        </small>
      </blockquote>
    );
  }
  return <code class="wrap">{inline.slice(0, 400)}</code>;
}

export function ScoresView({ model, output }: { model: Model; output: Hex }) {
  const info = model.tensors[model.output];
  const bytes = hexToBytes(output);
  const labels = model.meta.labels ?? [];
  const values = info.dtype === 'i8' ? [...new Int8Array(bytes.buffer)] : [...bytes];
  const classes = Math.min(values.length, 64);
  const max = Math.max(...values.slice(0, classes));
  return (
    <div class="scores" data-testid="scores">
      {values.slice(0, classes).map((v, i) => (
        <div key={String(i)} class={v === max ? 'score top' : 'score'}>
          <span>{labels[i] ?? i}</span>
          <i
            style={{
              width: `${(100 * (v - Math.min(0, ...values))) / Math.max(1, max - Math.min(0, ...values))}%`,
            }}
          />
          <b>{v}</b>
        </div>
      ))}
      <small>
        quantized scores (real value ≈ {info.scale.toPrecision(4)} × (q − {info.zeroPoint}))
      </small>
    </div>
  );
}
