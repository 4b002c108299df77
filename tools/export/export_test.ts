/**
 * The export path of export_timm.py, end to end, through Debian's torch with torchvision models
 * standing in for timm (which cannot be installed here): a Table 2 style variant built with
 * --arch/--model-kwargs and loaded from --weights, whose ONNX computes what those weights compute;
 * channels-last Swin-T, whose card says NHWC and whose Fig. 5 activations are its 768 channels;
 * and the choice of torch's TorchScript exporter (dynamo=False where torch has the keyword).
 */
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { assert, assertEquals } from "../../tests/assert.ts";
import { loadConfig } from "../../cli/config.ts";
import { configSchema } from "../../configs/schema.ts";
import { sha256File } from "../../lib/hash.ts";
import { readNpy } from "../../runtime/npy.ts";
import { decodeModel } from "../../runtime/onnx/proto.ts";
import { resolveModels } from "../../runtime/registry.ts";
import { createSession } from "../../runtime/session.ts";
import { forwardAll } from "../../stages/support/open_forward.ts";

const PY = "/usr/bin/python3";
const SCRIPT = new URL("./export_timm.py", import.meta.url).pathname;
const IMAGENET = {
  resize_short_side: 256,
  center_crop: 224,
  interpolation: "bilinear",
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
};

function torchMissing(): string | false {
  try {
    const r = new Deno.Command(PY, {
      args: ["-c", "import torch, torchvision, onnx, numpy"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return r.success ? false : `${PY} lacks torch/torchvision/onnx/numpy`;
  } catch {
    return `${PY} not found`;
  }
}

const missing = torchMissing();
if (missing) console.warn(`export_test: skipped (${missing})`);

/** Runs python with these arguments (in `cwd`): success and the combined output. */
async function python(args: string[], cwd?: string): Promise<{ ok: boolean; text: string }> {
  const r = await new Deno.Command(PY, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  return { ok: r.success, text };
}

/** Max |a - b| and max |b|. */
function maxDiff(a: Float32Array, b: Float32Array): { diff: number; scale: number } {
  assertEquals(a.length, b.length);
  let diff = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return { diff, scale };
}

/** The graph's only output is `logits`, and `tensor` is produced and consumed inside it. */
async function checkGraph(onnx: string, tensor: string): Promise<void> {
  const g = decodeModel(await Deno.readFile(onnx), onnx).graph!;
  assertEquals(g.output!.map((o) => o.name), ["logits"]);
  const produced = new Set(g.node!.flatMap((n) => n.output ?? []));
  const consumed = new Set(g.node!.flatMap((n) => n.input ?? []));
  assert(produced.has(tensor) && consumed.has(tensor), `${tensor} is not an intermediate`);
}

Deno.test({
  name: "export_timm.py: exporter choice and last-block layout rules (Python units)",
  ignore: Boolean(missing),
  async fn() {
    const code = `
import inspect, json, sys
sys.path.insert(0, ${JSON.stringify(join(SCRIPT, ".."))})
import torch, export_timm as e
def new_torch_export(model, args=(), f=None, *, dynamo=True): pass
def old_torch_export(model, args, f, opset_version=None): pass
def layout(*a, **k):
    try:
        return e.block_layout(*a, **k)
    except SystemExit as x:
        return "error: " + str(x)
print(json.dumps({
  "new": e.exporter_kwargs(new_torch_export),
  "old": e.exporter_kwargs(old_torch_export),
  "here": e.exporter_kwargs(),
  "here_has_dynamo": "dynamo" in inspect.signature(torch.onnx.export).parameters,
  "resnet": layout((1, 512, 7, 7), (224, 224)),
  "swin": layout((1, 7, 7, 768), (224, 224)),
  "wide": layout((1, 768, 7, 14), (224, 448)),
  "wide_nhwc": layout((1, 7, 14, 768), (224, 448)),
  "vit": layout((1, 197, 768), (224, 224)),
  "pooled": layout((1, 768), (224, 224)),
  "cube": layout((1, 7, 7, 7), (224, 224)),
  "cube_declared": layout((1, 7, 7, 7), (224, 224), "NHWC"),
  "declared_wrong_rank": layout((1, 197, 768), (224, 224), "NHWC"),
}))`;
    const r = await python(["-c", code]);
    assert(r.ok, r.text);
    const got = JSON.parse(r.text.trim().split("\n").at(-1)!);
    assertEquals(got.new, { dynamo: false });
    assertEquals(got.old, {});
    // Debian's torch 1.13 has no `dynamo` keyword; a torch that has one gets dynamo=False.
    assertEquals(got.here, got.here_has_dynamo ? { dynamo: false } : {});
    assertEquals(
      [got.resnet, got.swin, got.wide, got.wide_nhwc, got.vit, got.pooled, got.cube_declared],
      ["NCHW", "NHWC", "NCHW", "NHWC", "NTD", "NC", "NHWC"],
    );
    assert(got.cube.startsWith("error: ") && got.cube.includes("--layout"), got.cube);
    assert(got.declared_wrong_rank.includes("has rank 3"), got.declared_wrong_rank);
  },
});

Deno.test({
  name: "export_timm.py --arch/--model-kwargs/--weights: a variant computes what its weights do",
  ignore: Boolean(missing),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "xcompare-export-" });
    try {
      // The "authors' weights": MobileNetV2 at half width with 10 classes (kwargs that change
      // every weight's shape), saved as a DistributedDataParallel checkpoint, with torch's
      // logits for a batch computed here, independently of the exporter.
      const kwargs = { num_classes: 10, width_mult: 0.5 };
      const weights = join(dir, "variant.pth");
      const made = await python([
        "-c",
        `
import numpy as np, torch, torchvision
torch.manual_seed(123)
net = torchvision.models.mobilenet_v2(weights=None, **${JSON.stringify(kwargs)}).eval()
with torch.no_grad():
    for m in net.modules():  # non-trivial batch-norm statistics, so a wrong load shows
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1); m.running_var.uniform_(0.5, 2.0)
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(7))
    y = net(x)
torch.save({"epoch": 3, "state_dict": {"module." + k: v for k, v in net.state_dict().items()}},
           ${JSON.stringify(weights)})
np.save(${JSON.stringify(join(dir, "x.npy"))}, x.numpy())
np.save(${JSON.stringify(join(dir, "y.npy"))}, y.numpy())
`,
      ]);
      assert(made.ok, made.text);
      const config = join(dir, "config.json");
      await Deno.writeTextFile(
        config,
        JSON.stringify({
          models: [
            { id: "mnv2-half", onnx: "models/mnv2-half.onnx", group: "test", preprocess: IMAGENET },
            { id: "other", onnx: "models/other.onnx", preprocess: IMAGENET },
          ],
          notes: { timm: { other: "some_timm_model" } },
        }),
      );
      const common = ["--config", config, "--out-dir", dir];
      const variant = ["--arch", "mnv2-half=torchvision:mobilenet_v2", "--weights", weights];

      // Per-model options refuse a selection of several models, before loading anything.
      const two = await python([
        SCRIPT,
        ...common,
        ...variant,
        "--only",
        "mnv2-half",
        "--only",
        "other",
      ]);
      assert(!two.ok && two.text.includes("--weights: for one model only"), two.text);
      // Weights that do not fit the kwargs (full width) fail, naming the file.
      const wrong = await python([
        SCRIPT,
        ...common,
        ...variant,
        "--model-kwargs",
        JSON.stringify({ num_classes: 10 }),
      ]);
      assert(
        !wrong.ok && wrong.text.includes(`--weights ${weights}: does not fit the architecture`),
        wrong.text,
      );

      const r = await python([
        SCRIPT,
        ...common,
        ...variant,
        "--model-kwargs",
        JSON.stringify(kwargs),
        "--reference-dir",
        dir,
      ]);
      assert(r.ok, `export failed:\n${r.text}`);
      assert(r.text.includes("exported 1 model(s)"), r.text); // --arch alone: just that model
      const onnx = join(dir, "mnv2-half.onnx");
      const card = JSON.parse(await Deno.readTextFile(join(dir, "mnv2-half.json")));
      assertEquals(card.sha256, await sha256File(onnx));
      assertEquals(card.model_kwargs, kwargs);
      assertEquals(card.weights, { file: "variant.pth", sha256: await sha256File(weights) });
      assert(card.source.includes("weights from variant.pth"), card.source);
      assertEquals(card.output.classes, 10);
      assertEquals(card.input.shape, ["batch", 3, 224, 224]);
      assertEquals(card.norm, "bn");
      assertEquals(card.group, "test");
      assertEquals(card.last_block_module, "features.18");
      assertEquals(card.last_block_layout, "NCHW");
      assertEquals(card.last_block_shape, ["batch", 1280, 7, 7]);
      assertEquals(card.opset, 17);
      assertEquals(typeof card.versions.torch, "string");
      assert(card.exporter.startsWith("torch.onnx.export, TorchScript ("), card.exporter);
      await checkGraph(onnx, card.last_block_tensor);

      // The registry accepts it with its card.
      const { models } = await resolveModels(
        [{ id: "mnv2-half", onnx, preprocess: {}, optional: false }],
        "blur",
      );
      assertEquals(models[0].classes, 10);
      assertEquals(models[0].lastBlock, {
        tensor: "last_block",
        layout: "NCHW",
        shape: [1280, 7, 7],
      });

      // onnxruntime-node on the batch the weights' owner computed: the ONNX holds those weights
      // (the exporter's own random weights would give other logits); any batch size works.
      const x = await readNpy(join(dir, "x.npy"));
      const y = await readNpy(join(dir, "y.npy"));
      const s = await createSession(onnx, { providers: ["cpu"] });
      try {
        const out = await s.session.run({
          input: new ort.Tensor("float32", x.data as Float32Array, x.shape),
        });
        assertEquals(out.logits.dims, [2, 10]);
        const { diff, scale } = maxDiff(out.logits.data as Float32Array, y.data as Float32Array);
        assert(diff <= 1e-3 * Math.max(1, scale), `ORT vs torch max |diff| ${diff}`);
        const one = await s.session.run({
          input: new ort.Tensor("float32", (x.data as Float32Array).slice(0, 3 * 224 * 224), [
            1,
            3,
            224,
            224,
          ]),
        });
        assertEquals(one.logits.dims, [1, 10]);
      } finally {
        await s.session.release();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "export_timm.py --torchvision swin_t: card says NHWC, Fig. 5 reads 768 channels",
  ignore: Boolean(missing),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "xcompare-export-" });
    try {
      const r = await python([
        SCRIPT,
        "--torchvision",
        "swin_t",
        "--out-dir",
        dir,
        "--reference-dir",
        dir,
      ]);
      assert(r.ok, `export failed:\n${r.text}`);
      const onnx = join(dir, "swin_t.onnx");
      const card = JSON.parse(await Deno.readTextFile(join(dir, "swin_t.json")));
      assertEquals(card.sha256, await sha256File(onnx));
      assertEquals(card.norm, "ln");
      assertEquals(card.last_block_module, "features.7");
      assertEquals(card.last_block_layout, "NHWC");
      assertEquals(card.last_block_shape, ["batch", 7, 7, 768]);
      assertEquals(card.weights, null);
      await checkGraph(onnx, card.last_block_tensor);

      const { models } = await resolveModels(
        [{ id: "swin_t", onnx, preprocess: {}, optional: false }],
        "blur",
      );
      const m = models[0];
      assertEquals(m.lastBlock?.layout, "NHWC");

      // infer-baselines' forward pass on torch's reference batch: softmax and channel maxima.
      const { config: loaded } = await loadConfig("configs/default.json", configSchema);
      const config = { ...loaded, runtime: { ...loaded.runtime, providers: ["cpu" as const] } };
      const x = await readNpy(join(dir, "swin_t", "input.npy"));
      const logits = (await readNpy(join(dir, "swin_t", "logits.npy"))).data as Float32Array;
      const want = await readNpy(join(dir, "swin_t", "channel_max.npy"));
      assertEquals(want.shape, [3, 768]);
      const out = await forwardAll(m, x.data as Float32Array, 3, config, m.lastBlock);
      // (3, 768), not the (3, 7) an NCHW reading of [3, 7, 7, 768] gave.
      assertEquals(out.channelMax!.length, 3 * 768);
      const cm = maxDiff(out.channelMax!, want.data as Float32Array);
      assert(cm.diff <= 1e-3 * Math.max(1, cm.scale), `channel maxima: max |diff| ${cm.diff}`);
      const probs = new Float32Array(logits.length);
      for (let i = 0; i < 3; i++) {
        const row = logits.subarray(i * 1000, (i + 1) * 1000);
        const mx = Math.max(...row);
        const sum = row.reduce((a, v) => a + Math.exp(v - mx), 0);
        row.forEach((v, k) => probs[i * 1000 + k] = Math.exp(v - mx) / sum);
      }
      assert(maxDiff(out.probs, probs).diff <= 1e-4, "softmax differs from torch's");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
