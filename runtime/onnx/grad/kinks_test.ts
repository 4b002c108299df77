import * as ort from "onnxruntime-node";
import { assert, assertEquals } from "../../../tests/assert.ts";
import { gradCheck } from "../../grad_check.ts";
import { floatTensor, node } from "../builder.ts";
import { encodeModel } from "../proto.ts";
import { kinkModel } from "./kinks.ts";
import { caseModel, type OpCase } from "./testing.ts";

const lo = floatTensor("lo", [], [-0.5]);
const hi = floatTensor("hi", [], [0.8]);

/** Every frozen op, in one node on a [3, 5] input unless the case says otherwise. */
const cases: [string, Partial<OpCase>, number?][] = [
  ["Relu", { nodes: [node("Relu", ["x"], ["y"])] }],
  ["LeakyRelu", {
    nodes: [node("LeakyRelu", ["x"], ["y"], { alpha: 0.2 }, { floatKeys: ["alpha"] })],
  }],
  ["Abs", { nodes: [node("Abs", ["x"], ["y"])] }],
  ["Clip", { nodes: [node("Clip", ["x", "lo", "hi"], ["y"])], inits: [lo, hi] }],
  ["Clip", { nodes: [node("Clip", ["x", "", "hi"], ["y"])], inits: [hi] }],
  ["Clip", { nodes: [node("Clip", ["x", "lo"], ["y"])], inits: [lo] }],
  [
    "Clip",
    {
      nodes: [node("Clip", ["x"], ["y"], { min: -0.5, max: 0.8 }, { floatKeys: ["min", "max"] })],
      opset: 10,
    },
  ],
  [
    "HardSigmoid",
    {
      nodes: [
        node("HardSigmoid", ["x"], ["y"], { alpha: 0.3, beta: 0.4 }, {
          floatKeys: ["alpha", "beta"],
        }),
      ],
    },
  ],
  ["HardSwish", { nodes: [node("HardSwish", ["x"], ["y"])] }, 3],
  ["Max", {
    nodes: [node("Max", ["x", "c"], ["y"])],
    inits: [floatTensor("c", [5], [0, 0.3, -0.2, 1, -1])],
  }],
  ["Min", { nodes: [node("Neg", ["x"], ["nx"]), node("Min", ["x", "nx"], ["y"])] }],
  [
    "MaxPool",
    {
      x: [2, 7, 7],
      nodes: [
        node("MaxPool", ["x"], ["y"], {
          kernel_shape: [3, 3],
          strides: [2, 2],
          pads: [1, 1, 1, 1],
        }),
      ],
    },
  ],
];

Deno.test("kinkModel: frozen at x computes the model's own values at x", async () => {
  for (const [op, c] of cases) {
    const model = await caseModel({ x: [3, 5], ...c } as OpCase);
    const w = kinkModel(model, "witness");
    const f = kinkModel(model, "frozen");
    assertEquals(w.watched, { [op]: 1 });
    const ws = await ort.InferenceSession.create(encodeModel(w.model));
    const fs = await ort.InferenceSession.create(encodeModel(f.model));
    try {
      const dims = [2, ...(c.x ?? [3, 5])];
      const data = Float32Array.from(
        { length: dims.reduce((a, b) => a * b) },
        (_, i) => Math.sin(i * 1.7) * 2,
      );
      const x = new ort.Tensor("float32", data, dims);
      const base = await ws.run({ x });
      const feeds = Object.fromEntries(f.base.map((b, i) => [b, base[w.witnesses[i]]]));
      const frozen = await fs.run({ x, ...feeds });
      assertEquals(
        Array.from(frozen.logits.data as Float32Array),
        Array.from(base.logits.data as Float32Array),
        op,
      );
    } finally {
      await ws.release();
      await fs.release();
    }
  }
});

Deno.test("grad-check: steps that cross many kinks of each frozen op still agree to 1e-5", async () => {
  for (const [op, c, inputScale] of cases) {
    const model = await caseModel({ x: [3, 5], ...c } as OpCase);
    const r = await gradCheck(model, { eps: [0.5], directions: 2, inputScale: inputScale ?? 1 });
    assert(r.passed && r.worstRelError < 1e-5, `${op}: relative error ${r.worstRelError}`);
    assertEquals(r.kinkFreeFraction, 0, `${op}: steps of 0.5 cross kinks`);
    assertEquals(r.kinks, { frozen: { [op]: 1 }, notFrozen: {} });
  }
});

Deno.test("kinkModel: kinks it does not freeze are reported", async () => {
  const model = await caseModel({
    x: [2, 3, 3],
    nodes: [
      node("GlobalMaxPool", ["x"], ["g"]),
      node("Max", ["x", "g", "x"], ["y"]),
    ],
  });
  const f = kinkModel(model, "frozen");
  assertEquals(f.watched, {});
  assertEquals(f.unwatched, { GlobalMaxPool: 1, Max: 1 });
  assertEquals(f.base, []);
});
