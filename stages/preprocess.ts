/**
 * preprocess: decode, resize, crop and normalise each image once per preprocessing group (models
 * that share preprocessing share tensors), and make its baseline. Bad images are listed in
 * errors.jsonl and the others go on. Keys and outputs name images by their path inside the dataset
 * folder, never by where that folder is, so a moved checkout or a store mounted elsewhere reuses
 * them. One more unit, `listing`, keeps the images the dataset listing left out (lenient runs), so
 * that the report's list of skipped images is part of its key.
 */
import type { Config } from "../configs/schema.ts";
import { int, obj, optional } from "../lib/schema.ts";
import type { Stage, UnitRef } from "../pipeline/stage.ts";
import type { SkippedImage } from "../runtime/datasets.ts";
import { loadImages } from "../runtime/images.ts";
import type { PreprocessOptions } from "../runtime/preprocess_options.ts";
import { encodeNpy } from "../runtime/npy.ts";
import type { SkippedImages } from "../report/input.ts";
import { chunkId, chunksOf, dataset, models } from "./support/common.ts";
import { chunks, noModelRows } from "./support/cost.ts";
import type { ReportContext, ReportPart } from "./support/report_part.ts";

export interface PreprocessItem {
  /** Position in the dataset order. */
  pos: number;
  /** Path inside the dataset folder. */
  id: string;
  label: number | null;
}

/** The unit that keeps the dataset listing's skipped images (`listing.json`). */
export const LISTING_UNIT = "listing";

const params = obj({ concurrency: optional(int({ min: 1 }), 4) });

export const preprocess: Stage<{ concurrency: number }, Config, ReportContext, ReportPart> = {
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
        const items = ds.items.slice(c.start, c.end);
        units.push({
          id: `${key}/${chunkId(c.index)}`,
          params: {
            preprocess: pre,
            items: items.map(({ id, label }, k): PreprocessItem => ({
              pos: c.start + k,
              id,
              label,
            })),
          },
          inputs: [],
          files: items.map((i) => i.file),
          filesRoot: ds.root,
        });
      }
    }
    units.push({ id: LISTING_UNIT, params: { skipped: ds.skipped }, inputs: [] });
    return units;
  },
  estimate: ({ models, images, config }) =>
    noModelRows(
      models,
      // One unit per chunk, plus the listing unit that plan() always adds.
      chunks(images, config.dataset.chunk) + 1,
      images,
      "image decoding only (CPU), per preprocessing group; no model evaluations",
    ),
  async run(unit, io, { params }) {
    if (unit.id === LISTING_UNIT) {
      await io.writeJson("listing.json", unit.params);
      return;
    }
    const p = unit.params as { preprocess: PreprocessOptions; items: PreprocessItem[] };
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
    await io.writeJson("items.json", { items: ok.map((im) => p.items[im.index]) });
    const failed = errors.map((e) => {
      const item = p.items[e.index];
      // The reason without the file's path (outputs stay the same wherever the dataset lies).
      const reason = e.error.startsWith(`${e.path}: `) ? e.error.slice(e.path.length + 2) : e.error;
      return { ...item, error: reason.replaceAll(e.path, item.id) };
    });
    await io.write("errors.jsonl", failed.map((f) => JSON.stringify(f) + "\n").join(""));
    for (const f of failed) io.log(`skipped ${f.id}: ${f.error}`);
    io.count("images", ok.length);
    io.count("imageErrors", errors.length);
  },
  /** The images no model saw: left out by the listing, or not decodable. */
  async summarise(io, { units }) {
    const text = async (ref: UnitRef, file: string) =>
      new TextDecoder().decode(await io.readInput(ref, file));
    return { skipped_images: await skippedImages(units("preprocess"), text) };
  },
};

/**
 * The images a run skipped, from preprocess units' outputs (read through `read`): those the
 * listing left out, then those that did not decode, in dataset order, each once (an image fails in
 * every preprocessing group).
 */
export async function skippedImages(
  units: UnitRef[],
  read: (ref: UnitRef, file: string) => Promise<string>,
): Promise<SkippedImages> {
  const listed: SkippedImage[] = [];
  const undecodable: (SkippedImage & { pos: number })[] = [];
  for (const ref of units) {
    if (ref.unit === LISTING_UNIT) {
      listed.push(
        ...(JSON.parse(await read(ref, "listing.json")) as { skipped: SkippedImage[] })
          .skipped,
      );
      continue;
    }
    for (const line of (await read(ref, "errors.jsonl")).split("\n")) {
      if (line.trim() === "") continue;
      const e = JSON.parse(line) as PreprocessItem & { error: string };
      undecodable.push({ pos: e.pos, id: e.id, reason: e.error });
    }
  }
  undecodable.sort((a, b) => a.pos - b.pos);
  const images = new Map<string, SkippedImage>();
  for (const { id, reason } of [...listed, ...undecodable]) {
    if (!images.has(id)) images.set(id, { id, reason });
  }
  return { count: images.size, images: [...images.values()] };
}
