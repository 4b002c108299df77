/**
 * Checks the committed Fashion-MNIST zoo (zoo/models) the way the pipeline will use it: through
 * onnxruntime-node, with the sample images decoded by sharp and preprocessed from each card.
 * It also cross-checks the PyTorch gradient fixtures (tests/fixtures/grad) against the ONNX models.
 */
import * as ort from "onnxruntime-node";
import sharp from "sharp";
import { fileURLToPath } from "node:url";
import { createHash } from "node:crypto";
import { assert, assertAlmostEquals, assertEquals } from "./assert.ts";
import { decodeModel, encodeModel, onnxNs } from "../runtime/onnx/proto.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MODELS = `${ROOT}zoo/models`;
const SAMPLE = `${ROOT}data/fashion-sample`;
const GRAD = `${ROOT}tests/fixtures/grad`;

/** The zoo issue's model list and report groups. */
const EXPECTED: Record<string, string> = {
  "cnn-bn": "older-cnn",
  "cnn-bn-s1": "older-cnn",
  "cnn-bn-s2": "older-cnn",
  "cnn-bn-aug": "newer-cnn",
  "convnext-ln": "convnext",
  "convnext-ln-s1": "convnext",
  "convnext-ln-s2": "convnext",
  "convnext-ln-k3": "convnext",
  "convnext-bn-k3": "convnext",
  "convnext-gn-k3": "convnext",
  "vit-ln": "transformer",
  "vit-ln-s1": "transformer",
  "vit-ln-s2": "transformer",
  "vit-bn": "transformer",
  "vit-gn": "transformer",
  "vit-ln-distilled": "distilled",
};

interface Card {
  id: string;
  architecture: string;
  norm: "bn" | "ln" | "gn";
  group: string;
  params: number;
  test_accuracy: number;
  sample_accuracy: number;
  seed: number;
  train_seconds: number;
  epochs: number;
  torch_version: string;
  distilled_from: string | null;
  input: {
    name: string;
    shape: (string | number)[];
    range: number[];
    mean: number[];
    std: number[];
  };
  output: { name: string; classes: number };
  preprocess: {
    channels: number;
    resize_short_side: number;
    center_crop: number;
    interpolation: string;
    scale: string;
    mean: number[];
    std: number[];
  };
  last_block_tensor: string;
  sha256: string;
}

const cards: Card[] = [];
for (const e of Deno.readDirSync(MODELS)) {
  if (!e.name.endsWith(".json")) continue;
  const path = `${MODELS}/${e.name}`;
  try {
    cards.push(JSON.parse(Deno.readTextFileSync(path)));
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message})`);
  }
}
cards.sort((a, b) => a.id.localeCompare(b.id));

/** The sample images, decoded once: raw 8-bit pixels and labels from labels.csv. */
async function loadSample(): Promise<{ pixels: Uint8Array[]; labels: number[] }> {
  const lines = Deno.readTextFileSync(`${SAMPLE}/labels.csv`).trim().split("\n");
  assertEquals(lines[0], "file,label,class_name", `${SAMPLE}/labels.csv header`);
  const pixels: Uint8Array[] = [];
  const labels: number[] = [];
  for (const line of lines.slice(1)) {
    const [file, label] = line.split(",");
    const { data, info } = await sharp(`${SAMPLE}/${file}`).raw().toBuffer({
      resolveWithObject: true,
    });
    assertEquals([info.width, info.height], [28, 28], `${file} size`);
    const px = new Uint8Array(784);
    for (let i = 0; i < 784; i++) px[i] = data[i * info.channels];
    pixels.push(px);
    labels.push(Number(label));
  }
  return { pixels, labels };
}

function preprocess(pixels: Uint8Array[], card: Card): Float32Array {
  const [mean] = card.preprocess.mean;
  const [std] = card.preprocess.std;
  const out = new Float32Array(pixels.length * 784);
  pixels.forEach((px, n) => {
    for (let i = 0; i < 784; i++) out[n * 784 + i] = (px[i] / 255 - mean) / std;
  });
  return out;
}

async function logits(session: ort.InferenceSession, x: Float32Array): Promise<ort.Tensor> {
  const n = x.length / 784;
  const out = await session.run({ input: new ort.Tensor("float32", x, [n, 1, 28, 28]) });
  return out.logits;
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Minimal .npy reader for the fixtures (little-endian float32 / int64, C order). */
function readNpy(path: string): { shape: number[]; data: Float32Array | BigInt64Array } {
  const b = Deno.readFileSync(path);
  const headerLen = b[8] | (b[9] << 8);
  const header = new TextDecoder().decode(b.subarray(10, 10 + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? "").split(",").map((s) => s.trim())
    .filter((s) => s).map(Number);
  const body = b.slice(10 + headerLen).buffer;
  if (descr === "<f4") return { shape, data: new Float32Array(body) };
  if (descr === "<i8") return { shape, data: new BigInt64Array(body) };
  throw new Error(`${path}: unsupported dtype ${descr}`);
}

/**
 * Committed models that missed their accuracy floor, each with the reason (zoo/shortfalls.json).
 * They stay usable (the pipeline needs every zoo axis), but the test keeps the list honest: a
 * listed model must really be under its floor, and every other model must reach it. The listed
 * ones are printed so each run shows plainly that the zoo falls short.
 */
const SHORTFALLS: Record<string, string> = (() => {
  try {
    return JSON.parse(Deno.readTextFileSync(`${ROOT}zoo/shortfalls.json`));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return {};
    throw new Error(`zoo/shortfalls.json: ${(e as Error).message}`);
  }
})();

const floorOf = (id: string) => id === "vit-bn" || id === "vit-gn" ? 85 : 88;

Deno.test("zoo has every expected model, group and card field; floors met or listed", () => {
  assertEquals(cards.map((c) => c.id), Object.keys(EXPECTED).sort(), "model ids in zoo/models");
  for (const id of Object.keys(SHORTFALLS)) {
    const c = cards.find((c) => c.id === id);
    assert(c, `zoo/shortfalls.json names ${id}, which is not a committed zoo model`);
    assert(
      c.test_accuracy < floorOf(id),
      `zoo/shortfalls.json lists ${id}, but its ${c.test_accuracy}% meets the ${
        floorOf(id)
      }% floor`,
    );
  }
  if (Object.keys(SHORTFALLS).length) {
    console.warn(
      `zoo: ${Object.keys(SHORTFALLS).length} models under their accuracy floor ` +
        `(zoo/shortfalls.json): ${
          Object.entries(SHORTFALLS).map(([id, why]) => `${id} (${why})`).join("; ")
        }`,
    );
  }
  for (const c of cards) {
    const at = `zoo/models/${c.id}.json`;
    assertEquals(c.group, EXPECTED[c.id], `${at} group`);
    assert(["bn", "ln", "gn"].includes(c.norm), `${at} norm ${c.norm}`);
    assertEquals(c.norm, c.id.split("-")[1], `${at} norm matches id`);
    assert(c.architecture.length > 10, `${at} architecture`);
    assert(Number.isInteger(c.params) && c.params > 10_000 && c.params < 500_000, `${at} params`);
    assert(c.test_accuracy <= 100, `${at} test_accuracy`);
    if (!(c.id in SHORTFALLS)) {
      assert(c.test_accuracy >= floorOf(c.id), `${at} test_accuracy ${c.test_accuracy}% < floor`);
    }
    assert(Number.isInteger(c.seed) && c.epochs >= 1 && c.train_seconds > 0, `${at} seed/epochs`);
    assert(c.torch_version.length > 0, `${at} torch_version`);
    if (c.distilled_from !== null) assert(c.distilled_from in EXPECTED, `${at} distilled_from`);
    assertEquals(c.id === "vit-ln-distilled", c.distilled_from !== null, `${at} distilled_from`);
    assertEquals(c.input.name, "input", `${at} input.name`);
    assertEquals(c.input.shape, ["batch", 1, 28, 28], `${at} input.shape`);
    assertEquals(c.input.range, [0, 1], `${at} input.range`);
    assertEquals(c.output, { name: "logits", classes: 10 }, `${at} output`);
    const p = c.preprocess;
    assertEquals(
      [p.channels, p.resize_short_side, p.center_crop, p.interpolation, p.scale],
      [1, 28, 28, "bilinear", "1/255"],
      `${at} preprocess`,
    );
    assertEquals([p.mean, p.std], [c.input.mean, c.input.std], `${at} preprocess mean/std`);
    assert(p.std[0] > 0, `${at} std`);
    assert(/^[0-9a-f]{64}$/.test(c.sha256), `${at} sha256`);
  }
});

Deno.test("zoo ONNX files match their sha256 and stay under 20 MB together", () => {
  let total = 0;
  for (const c of cards) {
    const bytes = Deno.readFileSync(`${MODELS}/${c.id}.onnx`);
    total += bytes.length;
    assertEquals(sha256(bytes), c.sha256, `zoo/models/${c.id}.onnx sha256 vs card`);
  }
  assert(total < 20 * 1024 * 1024, `zoo ONNX total ${total} bytes >= 20 MB`);
});

Deno.test({
  name: "zoo models: output shapes, last block tensor, sample accuracy as in the card",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const sample = await loadSample();
    assertEquals(sample.pixels.length, 500, "data/fashion-sample size");
    for (let c = 0; c < 10; c++) {
      assertEquals(sample.labels.filter((l) => l === c).length, 50, `class ${c} count`);
    }
    for (const card of cards) {
      const at = `zoo/models/${card.id}.onnx`;
      const bytes = Deno.readFileSync(`${MODELS}/${card.id}.onnx`);
      const model = decodeModel(bytes, at);
      const graph = model.graph!;
      assertEquals(graph.input!.map((i) => i.name), ["input"], `${at} inputs`);
      assertEquals(graph.output!.map((o) => o.name), ["logits"], `${at} outputs`);
      const produced = new Set(graph.node!.flatMap((n) => n.output ?? []));
      assert(produced.has(card.last_block_tensor), `${at}: no tensor ${card.last_block_tensor}`);

      // Expose the last block as an extra output, as the Fig. 5 stage does, and check its layout.
      graph.output!.push(onnxNs.ValueInfoProto.create({ name: card.last_block_tensor }));
      const session = await ort.InferenceSession.create(encodeModel(model));
      const x = preprocess(sample.pixels, card);
      const one = await session.run({
        input: new ort.Tensor("float32", x.slice(0, 784), [1, 1, 28, 28]),
      });
      assertEquals(one.logits.dims, [1, 10], `${at} logits dims, batch 1`);
      const lb = one[card.last_block_tensor].dims;
      const grid = card.id.startsWith("vit") ? [lb[1]] : [lb[2] * lb[3]];
      assertEquals(
        [lb[0], lb.length, grid[0]],
        [1, card.id.startsWith("vit") ? 3 : 4, 49],
        `${at} last block`,
      );

      const seven = await logits(session, x.slice(0, 7 * 784));
      assertEquals(seven.dims, [7, 10], `${at} logits dims, batch 7`);
      const all = (await logits(session, x)).data as Float32Array;
      for (let i = 0; i < 7 * 10; i++) {
        assertAlmostEquals((seven.data as Float32Array)[i], all[i], 1e-3, `${at} batch invariance`);
      }
      let correct = 0;
      sample.labels.forEach((label, n) => {
        let best = 0;
        for (let k = 1; k < 10; k++) if (all[n * 10 + k] > all[n * 10 + best]) best = k;
        if (best === label) correct++;
      });
      const acc = (100 * correct) / sample.labels.length;
      assertAlmostEquals(acc, card.sample_accuracy, 2, `${at} sample accuracy vs card`);
      // The balanced 500-image sample tracks the full test set loosely (sampling error ~1.3 points).
      assertAlmostEquals(acc, card.test_accuracy, 5, `${at} sample vs test accuracy`);
      await session.release();
    }
  },
});

Deno.test({
  name: "grad fixtures agree with the ONNX models (probabilities and directional derivatives)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    for (const card of cards) {
      const dir = `${GRAD}/${card.id}`;
      const x = readNpy(`${dir}/x.npy`);
      const cls = readNpy(`${dir}/cls.npy`).data as BigInt64Array;
      const prob = readNpy(`${dir}/prob.npy`).data as Float32Array;
      const grad = readNpy(`${dir}/grad_logit.npy`).data as Float32Array;
      const gradProb = readNpy(`${dir}/grad_prob.npy`);
      assertEquals(x.shape, [2, 1, 28, 28], `${dir}/x.npy shape`);
      assertEquals(gradProb.shape, [2, 1, 28, 28], `${dir}/grad_prob.npy shape`);
      const session = await ort.InferenceSession.create(`${MODELS}/${card.id}.onnx`);
      const xs = x.data as Float32Array;
      const out = (await logits(session, xs)).data as Float32Array;
      for (let n = 0; n < 2; n++) {
        const row = out.subarray(n * 10, n * 10 + 10);
        const m = Math.max(...row);
        const z = row.reduce((s, v) => s + Math.exp(v - m), 0);
        const p = Math.exp(row[Number(cls[n])] - m) / z;
        assertAlmostEquals(p, prob[n], 1e-3, `${dir}/prob.npy[${n}] vs ONNX`);
        // Central difference of the class logit along the unit gradient direction = |grad|.
        const g = grad.subarray(n * 784, n * 784 + 784);
        const norm = Math.sqrt(g.reduce((s, v) => s + v * v, 0));
        const h = 1e-2;
        const plus = new Float32Array(784), minus = new Float32Array(784);
        for (let i = 0; i < 784; i++) {
          plus[i] = xs[n * 784 + i] + (h * g[i]) / norm;
          minus[i] = xs[n * 784 + i] - (h * g[i]) / norm;
        }
        const lp = (await logits(session, plus)).data as Float32Array;
        const lm = (await logits(session, minus)).data as Float32Array;
        const k = Number(cls[n]);
        const fd = (lp[k] - lm[k]) / (2 * h);
        assertAlmostEquals(fd / norm, 1, 0.1, `${dir}/grad_logit.npy[${n}] directional derivative`);
      }
      await session.release();
    }
  },
});
