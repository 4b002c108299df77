/**
 * The export path of export_timm.py, end to end, on torchvision's ResNet18 with random weights
 * through Debian's torch (timm itself cannot be installed here): ONNX and card come out, the card
 * is what the registry needs, and onnxruntime-node agrees with torch on a fixed batch.
 */
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { assert, assertEquals } from "../../tests/assert.ts";
import { sha256File } from "../../lib/hash.ts";
import { readNpy } from "../../runtime/npy.ts";
import { decodeModel } from "../../runtime/onnx/proto.ts";
import { resolveModels } from "../../runtime/registry.ts";
import { createSession } from "../../runtime/session.ts";

const PY = "/usr/bin/python3";
const SCRIPT = new URL("./export_timm.py", import.meta.url).pathname;

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

Deno.test({
  name: "export_timm.py --torchvision resnet18: ONNX, card, ORT agrees with torch",
  ignore: Boolean(missing),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "xcompare-export-" });
    try {
      const r = await new Deno.Command(PY, {
        args: [SCRIPT, "--torchvision", "resnet18", "--out-dir", dir, "--reference-dir", dir],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
      assert(r.success, `export failed:\n${text}`);
      const onnx = join(dir, "resnet18.onnx");
      const card = JSON.parse(await Deno.readTextFile(join(dir, "resnet18.json")));

      // Card: what the registry and the report read.
      assertEquals(card.sha256, await sha256File(onnx));
      assertEquals(card.input.name, "input");
      assertEquals(card.input.shape, ["batch", 3, 224, 224]);
      assertEquals(card.output, {
        name: "logits",
        classes: 1000,
        meaning: "logits, standard ImageNet-1k class order",
      });
      assertEquals(card.norm, "bn");
      assertEquals(card.params, 11689512);
      assertEquals(card.preprocess.resize_short_side, 256);
      assertEquals(card.preprocess.center_crop, 224);
      assertEquals(card.last_block_layout, "NCHW [N,512,7,7]");
      assertEquals(card.opset, 17);

      // Graph: one output `logits`, `last_block` a produced and consumed intermediate.
      const model = decodeModel(await Deno.readFile(onnx), onnx);
      const g = model.graph!;
      assertEquals(g.output!.map((o) => o.name), ["logits"]);
      const produced = new Set(g.node!.flatMap((n) => n.output ?? []));
      const consumed = new Set(g.node!.flatMap((n) => n.input ?? []));
      assert(produced.has(card.last_block_tensor) && consumed.has(card.last_block_tensor));

      // The registry accepts it with its card (shapes, classes, preprocessing, last block).
      const { models } = await resolveModels(
        [{ id: "resnet18", onnx, preprocess: {}, optional: false }],
        "blur",
      );
      assertEquals(models[0].classes, 1000);
      assertEquals(models[0].lastBlockTensor, "last_block");
      assertEquals(models[0].preprocess.resize_short_side, 256);

      // onnxruntime-node vs torch on the reference batch, and a dynamic batch size.
      const x = await readNpy(join(dir, "resnet18", "input.npy"));
      const y = await readNpy(join(dir, "resnet18", "logits.npy"));
      const s = await createSession(onnx, { providers: ["cpu"] });
      try {
        const out = await s.session.run({
          input: new ort.Tensor("float32", x.data as Float32Array, x.shape),
        });
        const got = out.logits.data as Float32Array;
        const want = y.data as Float32Array;
        assertEquals(out.logits.dims, [3, 1000]);
        let diff = 0, scale = 0;
        for (let i = 0; i < want.length; i++) {
          diff = Math.max(diff, Math.abs(got[i] - want[i]));
          scale = Math.max(scale, Math.abs(want[i]));
        }
        assert(diff <= 1e-3 * Math.max(1, scale), `ORT vs torch max |diff| ${diff}`);
        const one = await s.session.run({
          input: new ort.Tensor("float32", (x.data as Float32Array).slice(0, 3 * 224 * 224), [
            1,
            3,
            224,
            224,
          ]),
        });
        assertEquals(one.logits.dims, [1, 1000]);
      } finally {
        await s.session.release();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
