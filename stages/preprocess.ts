/**
 * preprocess: decode, resize, crop and normalise each image once per preprocessing group (models
 * that share preprocessing share tensors), and make its baseline. Bad images are listed in
 * errors.jsonl and the others go on.
 */
import type { Config } from "../configs/schema.ts";
import { int, obj, optional } from "../lib/schema.ts";
import type { Stage } from "../pipeline/stage.ts";
import { loadImages } from "../runtime/images.ts";
import type { PreprocessOptions } from "../runtime/preprocess_options.ts";
import { encodeNpy } from "../runtime/npy.ts";
import { chunkId, chunksOf, dataset, models } from "./support/common.ts";
import { chunks, noModelRows } from "./support/cost.ts";

export interface PreprocessItem {
  /** Position in the dataset order. */
  pos: number;
  id: string;
  file: string;
  label: number | null;
}

const params = obj({ concurrency: optional(int({ min: 1 }), 4) });

export const preprocess: Stage<{ concurrency: number }, Config> = {
  name: "preprocess",
  after: [],
  module: import.meta.url,
  params,
  async plan({ config }) {
    const ds = await dataset(config);
    const { models: ms } = await models(config);
    const groups = new Map<string, PreprocessOptions>();
    for (const m of ms) groups.set(m.preprocessKey, m.preprocess);
    const units = [];
    for (const [key, pre] of groups) {
      for (const c of chunksOf(ds.items.length, config.dataset.chunk)) {
        const items: PreprocessItem[] = ds.items.slice(c.start, c.end).map((it, k) => ({
          pos: c.start + k,
          id: it.id,
          file: it.file,
          label: it.label,
        }));
        units.push({
          id: `${key}/${chunkId(c.index)}`,
          params: {
            preprocess: pre,
            items: items.map(({ pos, id, label }) => ({ pos, id, label })),
          },
          inputs: [],
          files: items.map((i) => i.file),
        });
      }
    }
    return units;
  },
  estimate: ({ models, images, config }) =>
    noModelRows(
      models,
      chunks(images, config.dataset.chunk),
      images,
      "image decoding only (CPU), per preprocessing group; no model evaluations",
    ),
  async run(unit, io, { config, params }) {
    const p = unit.params as {
      preprocess: PreprocessOptions;
      items: Omit<PreprocessItem, "file">[];
    };
    const files = unit.files!;
    const { ok, errors } = await loadImages(files, p.preprocess, {
      concurrency: params.concurrency,
    });
    if (ok.length > 0) {
      const [c, h, w] = [ok[0].channels, ok[0].height, ok[0].width];
      const stack = (key: "image" | "baseline" | "rgb01") => {
        const out = new Float32Array(ok.length * c * h * w);
        ok.forEach((im, k) => out.set(im[key], k * c * h * w));
        return encodeNpy(out, [ok.length, c, h, w]);
      };
      await io.write("images.npy", stack("image"));
      await io.write("baselines.npy", stack("baseline"));
      await io.write("rgb01.npy", stack("rgb01"));
    }
    const items = ok.map((im) => ({ ...p.items[im.index], file: files[im.index] }));
    await io.writeJson("items.json", { dataset: config.dataset.dir, items });
    await io.write(
      "errors.jsonl",
      errors.map((e) => JSON.stringify({ ...p.items[e.index], file: e.path, error: e.error })).join(
        "\n",
      ) +
        (errors.length ? "\n" : ""),
    );
    for (const e of errors) io.log(`skipped: ${e.error}`);
    io.count("images", ok.length);
    io.count("imageErrors", errors.length);
  },
};
