import * as ort from "onnxruntime-node";
import { Rng } from "../../lib/rng.ts";
import { compose, type UpsampleMode, Upsampler } from "../../explain/upsample.ts";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../../tests/assert.ts";
import {
  randomImages,
  tinyClassifier,
  tinyGrey,
  tinyRgb,
} from "../../tests/fixtures/tiny_models.ts";
import { opsetVersion } from "./builder.ts";
import { decodeModel, encodeModel, type ModelProto } from "./proto.ts";
import { imageDiff, upsampleMatrices, wrapModel, wrapModelBytes } from "./wrapper.ts";

const MOBILENET = new URL("../../../shared/models/mobilenetv2-12-int8.onnx", import.meta.url);
const haveShared = (() => {
  try {
    return Deno.statSync(MOBILENET).isFile;
  } catch {
    return false;
  }
})();

interface Case {
  images: Float32Array[];
  baselines: Float32Array[];
  index: number[];
  masks: Float32Array[];
  cls: number[];
  side: number;
}

function makeCase(
  k: number,
  n: number,
  side: number,
  chw: number,
  classes: number,
  seed: number,
): Case {
  const rng = new Rng(seed);
  const images = randomImages(k, chw, seed + 1);
  const baselines = randomImages(k, chw, seed + 2).map((b) => b.map((v) => v * 0.25));
  const index = Array.from({ length: n }, () => rng.int(k));
  const masks = Array.from(
    { length: n },
    (_, i) =>
      Float32Array.from(
        { length: side * side },
        () => (i % 2 === 0 ? (rng.next() < 0.4 ? 1 : 0) : rng.next()),
      ),
  );
  const cls = Array.from({ length: n }, () => rng.int(classes));
  return { images, baselines, index, masks, cls, side };
}

/** Reference: compose in TypeScript, run the bare model, softmax in double precision. */
async function reference(
  model: Uint8Array,
  c: Case,
  dims: [number, number, number],
  mode: UpsampleMode,
): Promise<{ prob: number[]; probs: number[][] }> {
  const [ch, h, w] = dims;
  const up = new Upsampler(c.side, c.side, h, w, mode);
  const chw = ch * h * w;
  const batch = new Float32Array(c.masks.length * chw);
  c.masks.forEach((m, i) => {
    const u = up.apply(m);
    compose(
      c.images[c.index[i]],
      c.baselines[c.index[i]],
      u,
      ch,
      batch.subarray(i * chw, (i + 1) * chw),
    );
  });
  const s = await ort.InferenceSession.create(model);
  const out = await s.run({
    [s.inputNames[0]]: new ort.Tensor("float32", batch, [c.masks.length, ch, h, w]),
  });
  await s.release();
  const logits = out[s.outputNames[0]].data as Float32Array;
  const k = logits.length / c.masks.length;
  const probs: number[][] = [];
  for (let i = 0; i < c.masks.length; i++) {
    const row = Array.from(logits.subarray(i * k, (i + 1) * k));
    const mx = Math.max(...row);
    const e = row.map((v) => Math.exp(v - mx));
    const z = e.reduce((a, b) => a + b, 0);
    probs.push(e.map((v) => v / z));
  }
  return { prob: probs.map((p, i) => p[c.cls[i]]), probs };
}

async function runWrapper(
  wrapped: Uint8Array,
  c: Case,
  dims: [number, number, number],
  mode: UpsampleMode,
  fetch: string[] = ["prob"],
): Promise<ort.InferenceSession.OnnxValueMapType> {
  const s = await ort.InferenceSession.create(wrapped);
  const [ch, h, w] = dims;
  const cat = (xs: Float32Array[]) => {
    const out = new Float32Array(xs.length * xs[0].length);
    xs.forEach((x, i) => out.set(x, i * x.length));
    return out;
  };
  const k = c.images.length;
  const diffs = c.images.map((im, i) => imageDiff(im, c.baselines[i]));
  const { upY, upXT } = upsampleMatrices(c.side, h, w, mode);
  const out = await s.run(
    {
      baselines: new ort.Tensor("float32", cat(c.baselines), [k, ch, h, w]),
      diffs: new ort.Tensor("float32", cat(diffs), [k, ch, h, w]),
      up_y: new ort.Tensor("float64", upY, [h, c.side]),
      up_xt: new ort.Tensor("float64", upXT, [c.side, w]),
      index: new ort.Tensor("int64", BigInt64Array.from(c.index.map(BigInt)), [c.index.length]),
      masks: new ort.Tensor("float32", cat(c.masks), [c.masks.length, 1, c.side, c.side]),
      cls: new ort.Tensor("int64", BigInt64Array.from(c.cls.map(BigInt)), [c.cls.length]),
    },
    fetch,
  );
  await s.release();
  return out;
}

async function checkAgreement(
  model: ModelProto,
  dims: [number, number, number],
  classes: number,
  opts: {
    k: number;
    n: number;
    tol: number;
    seed: number;
    minOpset?: 11 | 12 | 13;
  },
) {
  const bare = encodeModel(model);
  {
    for (const mode of ["bilinear", "nearest"] as const) {
      for (const side of [7, 28]) {
        const c = makeCase(
          opts.k,
          opts.n,
          side,
          dims[0] * dims[1] * dims[2],
          classes,
          opts.seed + side,
        );
        const wrapped = wrapModelBytes(model, { minOpset: opts.minOpset ?? 13, probs: true });
        const want = await reference(bare, c, dims, mode);
        // Ask for the top class of every other mask, so some probabilities are large.
        for (let i = 0; i < opts.n; i += 2) {
          c.cls[i] = want.probs[i].indexOf(Math.max(...want.probs[i]));
          want.prob[i] = want.probs[i][c.cls[i]];
        }
        const out = await runWrapper(wrapped, c, dims, mode, ["prob", "probs"]);
        const got = out.prob.data as Float32Array;
        const probs = out.probs.data as Float32Array;
        assertEquals(got.length, opts.n);
        for (let i = 0; i < opts.n; i++) {
          const where = `${mode} s=${side} mask ${i}`;
          assertAlmostEquals(got[i], want.prob[i], opts.tol, where);
          for (let j = 0; j < classes; j++) {
            assertAlmostEquals(
              probs[i * classes + j],
              want.probs[i][j],
              opts.tol,
              `${where} class ${j}`,
            );
          }
        }
        // The probabilities are not all alike, so the comparison means something.
        assert(Math.max(...want.prob) - Math.min(...want.prob) > 1e-3, "probabilities vary");
      }
    }
  }
}

Deno.test("wrapper probabilities equal TS composition + bare model: greyscale tiny model", async () => {
  await checkAgreement(tinyGrey(5), [1, 28, 28], 10, {
    k: 3,
    n: 12,
    tol: 1e-5,
    seed: 10,
  });
});

Deno.test("wrapper probabilities equal TS composition + bare model: RGB tiny model", async () => {
  await checkAgreement(tinyRgb(6), [3, 32, 32], 10, {
    k: 4,
    n: 10,
    tol: 1e-5,
    seed: 20,
  });
});

Deno.test("an opset-11 model is upgraded to 13 (Squeeze axes, LogSoftmax) and agrees, or kept", async () => {
  const legacy = tinyClassifier({ channels: 3, size: 16, classes: 5, seed: 9, opset: 11 });
  const up = wrapModel(legacy);
  assertEquals(opsetVersion(up), 13);
  assert(up.graph!.node!.some((n) => n.opType === "Squeeze" && n.input!.length === 2));
  await checkAgreement(legacy, [3, 16, 16], 5, { k: 2, n: 6, tol: 1e-5, seed: 30 });
  assertEquals(opsetVersion(wrapModel(legacy, { minOpset: 11 })), 11);
  await checkAgreement(legacy, [3, 16, 16], 5, { k: 2, n: 6, tol: 1e-5, seed: 31, minOpset: 11 });
});

Deno.test("probs and named intermediate tensors are exposed; names cannot clash", async () => {
  // A model whose own tensors are called like the wrapper's interface.
  const m = tinyGrey(7);
  const clash = (s: string) =>
    s === "input" ? "images" : s === "c1" ? "masks" : s === "r1" ? "xc_r1" : s;
  const g = m.graph!;
  g.input![0].name = clash(g.input![0].name!);
  for (const n of g.node!) {
    n.input = n.input!.map(clash);
    n.output = n.output!.map(clash);
  }
  const dims: [number, number, number] = [1, 28, 28];
  const c = makeCase(2, 5, 7, 784, 10, 40);
  const wrapped = wrapModelBytes(m, { probs: true, extraOutputs: ["last_block"] });
  const names = decodeModel(wrapped).graph!.node!.flatMap((n) => n.output!);
  assertEquals(new Set(names).size, names.length, "every tensor is produced once");
  const out = await runWrapper(wrapped, c, dims, "bilinear", ["prob", "probs", "last_block"]);
  const want = await reference(encodeModel(m), c, dims, "bilinear");
  assertEquals(out.probs.dims, [5, 10]);
  const probs = out.probs.data as Float32Array;
  for (let i = 0; i < 5; i++) {
    for (let j = 0; j < 10; j++) assertAlmostEquals(probs[i * 10 + j], want.probs[i][j], 1e-5);
    assertAlmostEquals((out.prob.data as Float32Array)[i], want.prob[i], 1e-5);
  }
  assertEquals(out.last_block.dims, [5, 8, 14, 14]);
});

Deno.test("the exact composition feeds the model bit for bit what compose() builds", async () => {
  const m = tinyRgb(8);
  const dims: [number, number, number] = [3, 32, 32];
  for (const mode of ["bilinear", "nearest"] as const) {
    for (const side of [7, 28, 5]) {
      const c = makeCase(3, 4, side, 3 * 32 * 32, 10, 60 + side);
      const out = await runWrapper(
        wrapModelBytes(m, { extraOutputs: ["input"] }),
        c,
        dims,
        mode,
        ["input"],
      );
      const x = out.input.data as Float32Array;
      const up = new Upsampler(side, side, 32, 32, mode);
      c.masks.forEach((mask, i) => {
        const want = compose(c.images[c.index[i]], c.baselines[c.index[i]], up.apply(mask), 3);
        const got = x.subarray(i * want.length, (i + 1) * want.length);
        assertEquals(got, want, `${mode} s=${side} mask ${i}`);
      });
    }
  }
});

Deno.test("the full-resolution wrapper feeds the model what the upsampling one does, bit for bit", async () => {
  const m = tinyRgb(9);
  const dims: [number, number, number] = [3, 32, 32];
  for (const mode of ["bilinear", "nearest"] as const) {
    const c = makeCase(3, 5, 32, 3 * 32 * 32, 10, 77);
    const viaUpsampling = await runWrapper(
      wrapModelBytes(m, { extraOutputs: ["input"] }),
      c,
      dims,
      mode,
      ["input", "prob"],
    );
    const s = await ort.InferenceSession.create(
      wrapModelBytes(m, { extraOutputs: ["input"], fullResolution: true }),
    );
    const cat = (xs: Float32Array[]) => {
      const out = new Float32Array(xs.length * xs[0].length);
      xs.forEach((x, i) => out.set(x, i * x.length));
      return out;
    };
    const full = await s.run({
      baselines: new ort.Tensor("float32", cat(c.baselines), [3, 3, 32, 32]),
      diffs: new ort.Tensor(
        "float32",
        cat(c.images.map((im, i) => imageDiff(im, c.baselines[i]))),
        [3, 3, 32, 32],
      ),
      index: new ort.Tensor("int64", BigInt64Array.from(c.index.map(BigInt)), [c.index.length]),
      masks: new ort.Tensor("float32", cat(c.masks), [c.masks.length, 1, 32, 32]),
      cls: new ort.Tensor("int64", BigInt64Array.from(c.cls.map(BigInt)), [c.cls.length]),
    }, ["input", "prob"]);
    await s.release();
    assertEquals(full.input.data, viaUpsampling.input.data, `${mode}: composed inputs`);
    assertEquals(full.prob.data, viaUpsampling.prob.data, `${mode}: probabilities`);
  }
});

Deno.test("bad requests are named", () => {
  assertThrows(
    () => wrapModel(tinyGrey(1), { extraOutputs: ["nope"] }, "m.onnx"),
    /m\.onnx: extra output 'nope'/,
  );
  assertThrows(() => wrapModel(new Uint8Array([9, 9, 9]), {}, "junk.onnx"), /junk\.onnx/);
});

Deno.test({
  name: "wrapper agrees with TS composition on MobileNetV2 int8 (3x224x224, QLinear ops)",
  ignore: !haveShared,
  fn: async () => {
    const m = decodeModel(await Deno.readFile(MOBILENET), MOBILENET.pathname);
    await checkAgreement(m, [3, 224, 224], 1000, { k: 2, n: 3, tol: 1e-5, seed: 50 });
  },
});
if (!haveShared) console.warn(`skipping the MobileNetV2 test: ${MOBILENET.pathname} is missing`);
