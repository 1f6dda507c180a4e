// Checks the exported float ONNX models with onnxruntime-node on their held-out test sets and lists
// the ONNX op types in each graph.
//
//   node training/check_onnx.mjs            # both models
//   node training/check_onnx.mjs digits     # only models/digits
//   node training/check_onnx.mjs spam       # only models/spam
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';

const root = fileURLToPath(new URL('..', import.meta.url));
const { onnx } = onnxProto;

function describeGraph(path) {
  const model = onnx.ModelProto.decode(readFileSync(path));
  const graph = model.graph;
  const counts = new Map();
  for (const node of graph.node) counts.set(node.opType, (counts.get(node.opType) ?? 0) + 1);
  const ops = [...counts.entries()].sort((a, b) => a[0].localeCompare(b[0]));
  const dims = (vi) =>
    vi.type.tensorType.shape.dim.map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue))).join('x');
  const opset = model.opsetImport.map((o) => `${o.domain || 'ai.onnx'}:${Number(o.version)}`).join(', ');
  const params = graph.initializer.reduce((n, t) => n + t.dims.reduce((a, d) => a * Number(d), 1), 0);
  console.log(`  opset: ${opset}; nodes: ${graph.node.length}; initializer values: ${params}`);
  console.log(`  inputs: ${graph.input.map((i) => `${i.name}[${dims(i)}]`).join(', ')}`);
  console.log(`  outputs: ${graph.output.map((o) => `${o.name}[${dims(o)}]`).join(', ')}`);
  console.log(`  ops: ${ops.map(([op, n]) => `${op}x${n}`).join(', ')}`);
}

function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

async function checkDigits() {
  const modelPath = `${root}models/digits/digits.onnx`;
  console.log('digits:');
  describeGraph(modelPath);
  const session = await ort.InferenceSession.create(modelPath);
  const test = JSON.parse(readFileSync(`${root}models/digits/test-set.json`, 'utf8'));
  let correct = 0;
  for (let i = 0; i < test.labels.length; i++) {
    const bytes = Buffer.from(test.pixels[i], 'base64');
    if (bytes.length !== 784) throw new Error(`sample ${i}: expected 784 bytes, got ${bytes.length}`);
    const pixels = Float32Array.from(bytes, (b) => b / 255);
    const out = await session.run({ pixels: new ort.Tensor('float32', pixels, [1, 1, 28, 28]) });
    if (argmax(out.logits.data) === test.labels[i]) correct++;
  }
  const acc = (100 * correct) / test.labels.length;
  console.log(`  ORT held-out accuracy: ${correct}/${test.labels.length} = ${acc.toFixed(2)}%`);
}

async function checkSpam() {
  const modelPath = `${root}models/spam/spam.onnx`;
  console.log('spam:');
  describeGraph(modelPath);
  const session = await ort.InferenceSession.create(modelPath);
  const test = JSON.parse(readFileSync(`${root}models/spam/test-set.json`, 'utf8'));
  let correct = 0;
  for (let i = 0; i < test.labels.length; i++) {
    const ids = test.tokens[i];
    if (ids.length !== 64) throw new Error(`sample ${i}: expected 64 tokens, got ${ids.length}`);
    const tokens = BigInt64Array.from(ids, (v) => BigInt(v));
    const out = await session.run({ tokens: new ort.Tensor('int64', tokens, [1, 64]) });
    if (argmax(out.logits.data) === test.labels[i]) correct++;
  }
  const acc = (100 * correct) / test.labels.length;
  console.log(`  ORT held-out accuracy: ${correct}/${test.labels.length} = ${acc.toFixed(2)}%`);
}

const which = process.argv[2] ?? 'all';
if (which === 'all' || which === 'digits') await checkDigits();
if (which === 'all' || which === 'spam') await checkSpam();
