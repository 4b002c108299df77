/**
 * report: gathers every stage's results into the renderer's ReportInput (report_input.json).
 * The CLI renders it into reports/<run-id>/ after adding the run's own provenance (wall times,
 * units computed and reused), which is not part of any cached result.
 */
import type { Config } from "../configs/schema.ts";
import { int, obj, optional } from "../lib/schema.ts";
import type { Stage, UnitIO, UnitRef } from "../pipeline/stage.ts";
import { decodeNpy } from "../runtime/npy.ts";
import { table1Row } from "../explain/mse_run.ts";
import { activationCurve, ensembleAccuracy } from "../explain/predictions.ts";
import type { SubtreeResult } from "../explain/subtree.ts";
import type {
  CrossMatrixInput,
  FiguresInput,
  ModelInfo,
  ReportInput,
  Table1Row,
} from "../report/input.ts";
import { baselinesRef, dataset, models } from "./support/common.ts";
import type { StoredPredictions } from "./support/predictions_io.ts";

const params = obj({
  /** Bootstrap resamples for the 95% intervals. */
  bootstrap: optional(int({ min: 100 }), 2000),
  seed: optional(int({ min: 0 }), 0),
});

const PAPER_ENSEMBLE = {
  members: { "ConvNeXt-T": 82.1, "Swin-T": 81.2, "ResNet50-C2": 80.0 },
  average_of_softmax_top1: 82.9,
};

export const report: Stage<{ bootstrap: number; seed: number }, Config> = {
  name: "report",
  after: [
    "preprocess",
    "infer-baselines",
    "mse-search",
    "subtree-count",
    "igos-heatmaps",
    "cross-test",
    "kpca",
  ],
  module: import.meta.url,
  params,
  async plan({ config, params, upstream }) {
    const { models: ms, skipped } = await models(config);
    const all = (s: string) => (upstream[s] ?? []).map((u) => ({ stage: s, unit: u.id }));
    return [{
      id: "all",
      params: {
        ...params,
        config,
        models: ms.map((m) => ({ id: m.id, name: m.name, group: m.group, card: m.card })),
        skipped,
      },
      inputs: [
        ...ms.map(baselinesRef),
        ...all("mse-search"),
        ...all("subtree-count"),
        ...all("igos-heatmaps"),
        ...all("cross-test"),
        ...all("kpca"),
        // The first preprocess chunk of each group, for figure tiles.
        ...[...new Map(ms.map((m) => [m.preprocessKey, m])).values()].map((m) => ({
          stage: "preprocess",
          unit: `${m.preprocessKey}/c0000`,
        })).filter((r) => upstream.preprocess.some((u) => u.id === r.unit)),
      ],
      files: ms.map((m) => m.onnx),
      runtime: true,
    }];
  },
  async run(unit, io, { config, params, runtime }) {
    const p = unit.params as {
      models: { id: string; name: string; group: string; card: Record<string, unknown> | null }[];
      skipped: { id: string; reason: string }[];
    };
    const ds = await dataset(config);
    const by = (stage: string) => unit.inputs.filter((r) => r.stage === stage);
    const modelOf = (r: UnitRef) => r.unit.split("/")[0];

    // Accuracy, t, b, ensembles, activations.
    const preds = new Map<string, StoredPredictions>();
    const probs = new Map<string, Float32Array>();
    const activations: { model: string; values: number[] }[] = [];
    for (const r of by("infer-baselines")) {
      const pr = await io.readInputJson<StoredPredictions>(r, "preds.json");
      preds.set(pr.model, pr);
      probs.set(pr.model, decodeNpy(await io.readInput(r, "probs.npy")).data as Float32Array);
      if (io.inputFiles(r).includes("activations.npy")) {
        const a = decodeNpy(await io.readInput(r, "activations.npy"));
        activations.push({
          model: pr.model,
          values: activationCurve(a.data as Float32Array, a.shape[0]),
        });
      }
    }
    const classes = (id: string) => probs.get(id)!.length / Math.max(1, preds.get(id)!.images);
    const labels = (id: string) => preds.get(id)!.items.map((it) => it.label);

    // Table 1 from mse-search and subtree-count, per model over all its chunks.
    const table1: Table1Row[] = [];
    for (const m of p.models) {
      const perImage: {
        id: string;
        count: number;
        meanSize: number;
        subtree: SubtreeResult;
        baselineSuffices: boolean;
      }[] = [];
      for (const r of by("mse-search").filter((r) => modelOf(r) === m.id)) {
        const mse = await io.readInputJson<
          {
            images: { id: string; count: number; meanSize: number; baselineSuffices?: boolean }[];
          }
        >(r, "mse.json");
        const sub = await io.readInputJson<{ images: (SubtreeResult & { id: string })[] }>(
          { stage: "subtree-count", unit: r.unit },
          "subtree.json",
        ).catch(() => null);
        if (!sub) continue;
        mse.images.forEach((im, k) =>
          perImage.push({
            id: im.id,
            count: im.count,
            meanSize: im.meanSize,
            subtree: sub.images[k],
            baselineSuffices: im.baselineSuffices ?? false,
          })
        );
      }
      if (perImage.length === 0) continue;
      const row = table1Row(perImage, { samples: params.bootstrap, seed: params.seed });
      const th = perImage[0].subtree.thresholds;
      // Per-image values behind the means: images where the baseline suffices are not among them.
      const explained = perImage.filter((x) => !x.baselineSuffices);
      const key = (t: number) => String(t) as "0.8";
      table1.push({
        model: m.id,
        images: row.images,
        baseline_suffices: row.baselineSuffices,
        mse_count: row.mse_count,
        mse_size: row.mse_size,
        tree: Object.fromEntries(th.map((t) => [key(t), row.tree[`sub_ge${Math.round(t * 100)}`]])),
        unique: Object.fromEntries(
          th.map((t) => [key(t), row.unique[`sub_ge${Math.round(t * 100)}`]]),
        ),
        per_image: {
          image_ids: explained.map((x) => x.id),
          mse_count: explained.map((x) => x.count),
          mse_size: explained.map((x) => (x.count > 0 ? x.meanSize : null)),
          tree: Object.fromEntries(
            th.map((t, j) => [key(t), explained.map((x) => x.subtree.tree[j])]),
          ),
          unique: Object.fromEntries(
            th.map((t, j) => [key(t), explained.map((x) => x.subtree.unique[j])]),
          ),
        },
      });
    }

    const figures: FiguresInput = {};
    let crossMatrix: CrossMatrixInput | undefined;
    if (activations.length) figures.channels = { curves: activations };
    const kp = by("kpca")[0];
    if (kp) {
      const k = await io.readInputJson<{
        models: { id: string; group: string }[];
        coords: number[][];
        groupMatrix: { groups: string[]; values: number[][] };
        S: number[][];
        deletion: number[][] | null;
        baselineConfidence: string;
      }>(kp, "kpca.json");
      crossMatrix = {
        models: k.models.map((m) => m.id),
        insertion: k.S,
        deletion: k.deletion,
        baseline_confidence: k.baselineConfidence,
      };
      figures.landscape = {
        points: k.models.map((m, i) => ({
          model: m.id,
          group: m.group,
          x: k.coords[i][0],
          y: k.coords[i][1] ?? 0,
        })),
      };
      figures.group_matrix = { groups: k.groupMatrix.groups, values: k.groupMatrix.values };
    }
    await addImageFigures(io, unit.inputs, p.models.map((m) => m.id), ds.classNames, figures);

    const input: ReportInput = {
      run: { id: "(set when published)", config: config.name, created: "(set when published)" },
      provenance: {
        config,
        models: p.models.map((m): ModelInfo => ({
          id: m.id,
          group: m.group,
          sha256: undefined,
          params: (m.card?.params as number | undefined) ?? undefined,
          paper_name: m.name !== m.id ? m.name : undefined,
          traits: traitsOf(m.card),
        })),
        onnxruntime_version: runtime.ortVersion,
        execution_provider: runtime.provider,
      },
      accuracy: {
        models: p.models.filter((m) => preds.has(m.id)).map((m) => {
          const pr = preds.get(m.id)!;
          return {
            model: m.id,
            top1: (pr.top1 ?? NaN) / 100,
            top5: (pr.top5 ?? NaN) / 100,
            t: pr.t,
            b: pr.b,
            bPred: pr.bPred,
            images: pr.images,
          };
        }).filter((a) => Number.isFinite(a.top1)),
        ensembles: config.ensembles.filter((e) => e.members.every((id) => probs.has(id))).map((
          e,
        ) => ({
          members: e.members,
          top1: (ensembleAccuracy(
            e.members.map((id) => probs.get(id)!),
            classes(e.members[0]),
            labels(e.members[0]),
          ) ?? NaN) / 100,
        })),
        ...(config.paperColumns ? { paper_claim: PAPER_ENSEMBLE } : {}),
      },
      table1,
      paper_columns: config.paperColumns,
      figures,
      ...(crossMatrix ? { cross_matrix: crossMatrix } : {}),
    };
    await io.writeJson("report_input.json", input);
    if (p.skipped.length) {
      io.log(`models skipped: ${p.skipped.map((s) => `${s.id} (${s.reason})`).join("; ")}`);
    }
  },
};

function traitsOf(card: Record<string, unknown> | null): ModelInfo["traits"] {
  if (!card) return undefined;
  const norm = String(card.norm ?? "").toLowerCase();
  const arch = String(card.architecture ?? card.arch ?? "").toLowerCase();
  return {
    norm: norm === "bn" || norm === "ln" || norm === "gn" ? norm : "other",
    arch: /vit|transformer|swin|deit|pit|levit|nest/.test(arch)
      ? "transformer"
      : /cnn|conv|resnet|vgg/.test(arch)
      ? "cnn"
      : "other",
    distilled: Boolean(card.distilled_from ?? card.distilled),
  };
}

/** Fig. 3, 4 and 7: one image (the first explained) across models. */
async function addImageFigures(
  io: UnitIO,
  inputs: UnitRef[],
  modelIds: string[],
  classNames: string[] | null,
  figures: FiguresInput,
): Promise<void> {
  const pre = inputs.find((r) => r.stage === "preprocess");
  if (!pre) return;
  const items =
    (await io.readInputJson<{ items: { id: string; label: number | null }[] }>(pre, "items.json"))
      .items;
  if (!items.length) return;
  const rgbArr = decodeNpy(await io.readInput(pre, "rgb01.npy"));
  const [, c, h, w] = rgbArr.shape;
  const rgb = rgbArr.data as Float32Array;
  const pixels: number[] = [];
  for (let p = 0; p < h * w; p++) {
    for (let k = 0; k < c; k++) pixels.push(Math.round(rgb[k * h * w + p] * 255));
  }
  const tile = { width: w, height: h, channels: c as 1 | 3, pixels };
  const first = items[0];
  const classLabel = first.label !== null && classNames ? classNames[first.label] : undefined;

  // Fig. 3: insertion curves of each model on its own heatmap of the first image.
  const curves = [];
  for (const id of modelIds) {
    const ref = inputs.find((r) => r.stage === "cross-test" && r.unit === `${id}/${id}/c0000`);
    if (!ref) continue;
    const auc = await io.readInputJson<{ fractions: number[]; images: { id: string }[] }>(
      ref,
      "auc.json",
    );
    const k = auc.images.findIndex((im) => im.id === first.id);
    if (k < 0) continue;
    const cv = decodeNpy(await io.readInput(ref, "curves.npy"));
    const pts = cv.shape[2];
    curves.push({
      model: id,
      x: auc.fractions,
      y: Array.from((cv.data as Float32Array).subarray(k * 2 * pts, k * 2 * pts + pts)),
    });
  }
  if (curves.length) figures.insertion = { image_id: first.id, class_label: classLabel, curves };

  // Fig. 7: heatmaps of every model on the first image.
  const heatmaps = [];
  for (const id of modelIds) {
    const ref = inputs.find((r) => r.stage === "igos-heatmaps" && r.unit === `${id}/c0000`);
    if (!ref) continue;
    const meta = await io.readInputJson<{ maskSize: number; items: { id: string }[] }>(
      ref,
      "meta.json",
    );
    const k = meta.items.findIndex((im) => im.id === first.id);
    if (k < 0) continue;
    const s = meta.maskSize;
    const hm = decodeNpy(await io.readInput(ref, "heatmaps.npy")).data as Float32Array;
    heatmaps.push({
      model: id,
      size: s,
      values: Array.from(hm.subarray(k * s * s, (k + 1) * s * s), (v) => Math.round(v * 1e4) / 1e4),
    });
  }
  if (heatmaps.length) {
    figures.cross_test = { image_id: first.id, class_label: classLabel, image: tile, heatmaps };
  }

  // Fig. 4: MSEs and sub-explanations of the first model with MSEs on the first image.
  for (const id of modelIds) {
    const ref = inputs.find((r) => r.stage === "mse-search" && r.unit === `${id}/c0000`);
    if (!ref) continue;
    const mse = await io.readInputJson<
      {
        options: { grid: number };
        images: { id: string; mses: { patches: number[]; ratio: number }[] }[];
      }
    >(ref, "mse.json");
    const im = mse.images.find((x) => x.id === first.id);
    if (!im || im.mses.length === 0) continue;
    const subRef = inputs.find((r) => r.stage === "subtree-count" && r.unit === ref.unit);
    let subs: { patches: number[]; r?: number }[] = [];
    if (subRef) {
      const sub = await io.readInputJson<
        {
          images: {
            id: string;
            samples: {
              root: { patches: number[] };
              children: { patches: number[]; ratio: number }[];
            }[];
          }[];
        }
      >(subRef, "subtree.json");
      const s = sub.images.find((x) => x.id === first.id);
      subs = (s?.samples ?? []).flatMap((t) =>
        t.children.map((ch) => ({ patches: ch.patches, r: ch.ratio }))
      ).slice(0, 6);
    }
    figures.mse = {
      image_id: first.id,
      model: id,
      class_label: classLabel,
      image: tile,
      grid: mse.options.grid,
      mses: im.mses.map((x) => ({ patches: x.patches, r: x.ratio })),
      sub_explanations: subs,
    };
    break;
  }
}
