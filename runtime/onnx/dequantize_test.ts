import * as ort from "onnxruntime-node";
import sharp from "sharp";
import { assert } from "../../tests/assert.ts";
import { DType, floatTensor, makeGraph, makeModel, node, valueInfo } from "./builder.ts";
import { dequantizeModel, isQuantized } from "./dequantize.ts";
import { decodeModel, encodeModel, onnxNs, type TensorProto } from "./proto.ts";
import { checkOp } from "./grad/testing.ts";

const SHARED = new URL("../../../shared/", import.meta.url).pathname;
const MODEL = `${SHARED}models/mobilenetv2-12-int8.onnx`;
const IMAGES = `${SHARED}data/imagenet-sample/`;
const haveShared = (() => {
  try {
    Deno.statSync(MODEL);
    Deno.statSync(`${IMAGES}labels.tsv`);
    return true;
  } catch {
    return false;
  }
})();

function typed(name: string, dims: number[], dataType: number, bytes: Uint8Array): TensorProto {
  return onnxNs.TensorProto.create({ name, dims, dataType, rawData: bytes });
}
const u8 = (name: string, v: number[], dims: number[] = []) =>
  typed(name, dims, DType.UINT8, Uint8Array.from(v));
const i8 = (name: string, v: number[], dims: number[]) =>
  typed(name, dims, DType.INT8, new Uint8Array(Int8Array.from(v).buffer));
const i32 = (name: string, v: number[], dims: number[]) =>
  typed(name, dims, DType.INT32, new Uint8Array(Int32Array.from(v).buffer));

/** A tiny QDQ/QLinear graph: quantise, QLinearConv (fused ReLU range), QLinearAdd, dequantise. */
function tinyQuantized() {
  const w = [1, -2, 3, 4, -5, 6, 7, -8, 9, -1, 2, -3, 4, 5, -6, 7, -8, 9];
  const nodes = [
    node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
    node("QLinearConv", ["xq", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"], ["yq"], {
      kernel_shape: [3, 3],
      pads: [1, 1, 1, 1],
    }),
    node("QLinearAdd", ["yq", "ys", "yz", "yq", "ys", "yz", "zs", "zz"], ["zq"], {}, {
      domain: "com.microsoft",
    }),
    node("DequantizeLinear", ["zq", "zs", "zz"], ["z"]),
    node("Flatten", ["z"], ["y"]),
  ];
  const g = makeGraph("q", nodes, [valueInfo("x", DType.FLOAT, ["n", 1, 3, 3])], [
    valueInfo("y", DType.FLOAT, ["n", 18]),
  ], [
    floatTensor("xs", [], [0.02]),
    u8("xz", [128]),
    i8("w", w, [2, 1, 3, 3]),
    floatTensor("ws", [2], [0.05, 0.03]),
    i8("wz", [0, 0], [2]),
    i32("b", [10, -20], [2]),
    floatTensor("ys", [], [0.01]),
    u8("yz", [0]),
    floatTensor("zs", [], [0.02]),
    u8("zz", [0]),
  ]);
  const m = makeModel(g, 13);
  m.opsetImport!.push({ domain: "com.microsoft", version: 1 });
  return m;
}

Deno.test("a dequantised QLinear graph matches the int8 one up to rounding", async () => {
  const q = tinyQuantized();
  assert(isQuantized(q));
  const f = dequantizeModel(q);
  assert(!isQuantized(f), "no quantised ops left");
  const x = Float32Array.from({ length: 18 }, (_, i) => Math.sin(i * 1.7));
  const run = async (m: typeof q) => {
    const s = await ort.InferenceSession.create(encodeModel(m));
    const y = (await s.run({ x: new ort.Tensor("float32", x, [2, 1, 3, 3]) })).y
      .data as Float32Array;
    await s.release();
    return y;
  };
  const [yq, yf] = [await run(q), await run(f)];
  let worst = 0;
  for (let i = 0; i < yq.length; i++) worst = Math.max(worst, Math.abs(yq[i] - yf[i]));
  // Rounding of x, y and z: a few quantisation steps at most.
  assert(worst < 0.1, `max difference ${worst}`);
  assert(yf.some((v) => v === 0) && yf.every((v) => v >= 0), "the fused ReLU range is kept");
});

Deno.test("gradients flow through the dequantised graph (straight-through fake quant)", async () => {
  const f = dequantizeModel(tinyQuantized());
  const r = await checkOp({
    x: [1, 3, 3],
    nodes: [...f.graph!.node!.slice(0, -1), node("Identity", ["z"], ["y"])],
    inits: f.graph!.initializer!,
    domains: [{ domain: "com.microsoft", version: 1 }],
    opset: 13,
    eps: 1e-3,
  });
  assert(r.worst < 5e-3, `relative error ${r.worst}`);
});

async function loadImage(file: string): Promise<Float32Array> {
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const { data } = await sharp(file).removeAlpha().toColourspace("srgb")
    .resize(256, 256, { fit: "outside", kernel: "linear" })
    .resize(224, 224, { fit: "cover", position: "centre" })
    .raw().toBuffer({ resolveWithObject: true });
  const out = new Float32Array(3 * 224 * 224);
  const channels = data.length / (224 * 224);
  for (let p = 0; p < 224 * 224; p++) {
    for (let c = 0; c < 3; c++) {
      const v = data[p * channels + (channels === 1 ? 0 : c)] / 255;
      out[c * 224 * 224 + p] = (v - mean[c]) / std[c];
    }
  }
  return out;
}

Deno.test({
  name: "dequantised MobileNetV2 agrees with the int8 model on real images",
  ignore: !haveShared,
  fn: async () => {
    const q = decodeModel(await Deno.readFile(MODEL), MODEL);
    const files = (await Deno.readTextFile(`${IMAGES}labels.tsv`)).trim().split("\n").slice(1, 13)
      .map((l) => l.split("\t")[0]);
    const n = files.length;
    const x = new Float32Array(n * 3 * 224 * 224);
    for (let i = 0; i < n; i++) {
      x.set(await loadImage(`${IMAGES}images/${files[i]}`), i * 3 * 224 * 224);
    }
    // Graph optimisations off for the rounding variant: ORT would otherwise re-fuse its
    // Q/DQ pairs around the float convs into int8 kernels with re-quantised weights.
    const probs = async (bytes: Uint8Array, graphOptimizationLevel: "all" | "disabled" = "all") => {
      const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel });
      const y = (await s.run({ input: new ort.Tensor("float32", x, [n, 3, 224, 224]) })).output;
      await s.release();
      const l = y.data as Float32Array;
      return Array.from({ length: n }, (_, i) => {
        const r = Array.from(l.subarray(i * 1000, (i + 1) * 1000));
        const m = Math.max(...r);
        const e = r.map((v) => Math.exp(v - m));
        const z = e.reduce((a, b) => a + b, 0);
        return e.map((v) => v / z);
      });
    };
    const top = (p: number[]) => p.indexOf(Math.max(...p));
    const pq = await probs(await Deno.readFile(MODEL));
    const compare = (pf: number[][]) => {
      let agree = 0;
      let meanDelta = 0;
      for (let i = 0; i < n; i++) {
        if (top(pq[i]) === top(pf[i])) agree++;
        meanDelta += Math.abs(pq[i][top(pq[i])] - pf[i][top(pq[i])]) / n;
      }
      return { agree, meanDelta };
    };
    const rounded = compare(
      await probs(encodeModel(dequantizeModel(q, { round: true })), "disabled"),
    );
    const clipped = compare(await probs(encodeModel(dequantizeModel(q))));
    console.log(
      `MobileNetV2 int8 vs float (${n} images): with rounding ${JSON.stringify(rounded)}, ` +
        `straight-through ${JSON.stringify(clipped)}`,
    );
    // Even with rounding the float rewrite is not bit-identical to onnxruntime's int8 run: on
    // CPUs without VNNI (AVX2 only) its u8s8 kernels saturate int16 pair sums, e.g. 0.6% of the
    // first QLinearConv's outputs are off the exact integer result by 2-5 steps, and the
    // float rewrite follows the exact (ONNX-spec) arithmetic. So both variants are held to
    // "most decisions agree" rather than equality.
    const most = Math.ceil((2 * n) / 3);
    assert(rounded.agree >= most, `rounding variant top-1 agrees ${rounded.agree}/${n}`);
    assert(clipped.agree >= most, `straight-through top-1 agrees ${clipped.agree}/${n}`);
    assert(
      clipped.meanDelta < 0.25,
      `straight-through probabilities differ by ${clipped.meanDelta}`,
    );
  },
});
