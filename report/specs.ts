/**
 * Vega-Lite specs of the paper's figures, one pure builder per figure. Data goes inline, so a spec is
 * complete by itself: the same JSON is rendered headless to SVG/PNG and embedded in report.html.
 */
import type { TopLevelSpec } from "vega-lite";
import type {
  ChannelFigure,
  CrossTestFigure,
  GroupMatrixFigure,
  InsertionFigure,
  LandscapeFigure,
  MseFigure,
  Table1Row,
} from "./input.ts";
import { THRESHOLDS } from "./input.ts";
import { layoutLabels } from "./label_layout.ts";
import { familyScales, modelScales, type ModelStyle, modelStyles } from "./palette.ts";
import { pixelColor, type PixelImage } from "./tile_image.ts";

export interface SpecOptions {
  /** Pixel side of an image tile in Fig. 4 and Fig. 7. */
  tileSize: number;
  /** Tiles per row in tiled figures. */
  tileColumns: number;
  /** At most this many MSE tiles and this many sub-explanation tiles in Fig. 4. */
  maxTiles: number;
  /** Width and height of single-panel charts. */
  width: number;
  height: number;
}

export const defaults: SpecOptions = {
  tileSize: 120,
  tileColumns: 6,
  maxTiles: 6,
  width: 420,
  height: 280,
};

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";
const CONFIG = { font: "DejaVu Sans, Liberation Sans, Arial, sans-serif", view: { stroke: null } };

// deno-lint-ignore no-explicit-any
type Json = any;

/** Checks array lengths and numbers the renderer would otherwise draw wrongly. */
function need(cond: boolean, where: string, msg: string): void {
  if (!cond) throw new Error(`${where}: ${msg}`);
}

/** Styles of the models a figure draws: the given ones, or one family when none are given. */
function stylesFor(ids: string[], styles?: readonly ModelStyle[]): ModelStyle[] {
  const known = styles ?? modelStyles([], ids);
  const extra = modelStyles([], ids.filter((id) => !known.some((s) => s.id === id)));
  return [...known, ...extra].filter((s) => ids.includes(s.id));
}

/** Colour and dash by model, one merged legend in family order. */
function modelLineEncoding(ids: string[], styles?: readonly ModelStyle[]) {
  const sc = modelScales(stylesFor(ids, styles));
  return {
    color: { field: "model", type: "nominal", title: "model", scale: sc.color },
    strokeDash: { field: "model", type: "nominal", title: "model", scale: sc.strokeDash },
  };
}

export function insertionSpec(
  fig: InsertionFigure,
  o: SpecOptions = defaults,
  styles?: readonly ModelStyle[],
): TopLevelSpec {
  const values: Json[] = [];
  fig.curves.forEach((c, i) => {
    need(c.x.length === c.y.length, `figures.insertion.curves[${i}]`, "x and y lengths differ");
    c.x.forEach((x, k) => values.push({ model: c.model, x, y: c.y[k] }));
  });
  const cls = fig.class_label ? ` (${fig.class_label})` : "";
  return {
    $schema: SCHEMA,
    title: { text: `Insertion curves, image ${fig.image_id}${cls}` },
    width: o.width,
    height: o.height,
    data: { values },
    mark: { type: "line", interpolate: "linear", point: false },
    encoding: {
      x: {
        field: "x",
        type: "quantitative",
        title: "fraction of the image revealed",
        scale: { domain: [0, 1] },
      },
      y: { field: "y", type: "quantitative", title: "probability of the class" },
      ...modelLineEncoding(fig.curves.map((c) => c.model), styles),
      tooltip: [
        { field: "model", type: "nominal" },
        { field: "x", type: "quantitative", format: ".3f" },
        { field: "y", type: "quantitative", format: ".3f" },
      ],
    },
    config: CONFIG,
  } as TopLevelSpec;
}

/** One datum per pixel: a rect from (x0, y0) to (x1, y1) in image pixels, filled with `c`. */
export function imageRects(img: PixelImage, grey = false): Json[] {
  const out: Json[] = [];
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      out.push({ x0: x, x1: x + 1, y0: y, y1: y + 1, c: pixelColor(img, y * img.width + x, grey) });
    }
  }
  return out;
}

/** Patch `p` of a `grid` x `grid` row-major grid, in image pixel coordinates. */
export function patchRect(p: number, grid: number, img: PixelImage) {
  const row = Math.floor(p / grid);
  const col = p % grid;
  return {
    px0: (col * img.width) / grid,
    px1: ((col + 1) * img.width) / grid,
    py0: (row * img.height) / grid,
    py1: ((row + 1) * img.height) / grid,
  };
}

function tileScales(img: PixelImage) {
  return {
    x: { domain: [0, img.width], nice: false, zero: false },
    y: { domain: [0, img.height], nice: false, zero: false, reverse: true },
  };
}

function imageLayer(img: PixelImage) {
  const s = tileScales(img);
  return {
    data: { name: "image" },
    mark: { type: "rect", strokeWidth: 0, aria: false },
    encoding: {
      x: { field: "x0", type: "quantitative", scale: s.x, axis: null },
      x2: { field: "x1" },
      y: { field: "y0", type: "quantitative", scale: s.y, axis: null },
      y2: { field: "y1" },
      fill: { field: "c", type: "nominal", scale: null, legend: null },
    },
  };
}

/** Fig. 4: the image with each MSE and a sample of sub-explanations; hidden patches are dimmed. */
export function mseSpec(fig: MseFigure, img: PixelImage, o: SpecOptions = defaults): TopLevelSpec {
  const g = fig.grid;
  need(Number.isInteger(g) && g > 0, "figures.mse.grid", "must be a positive integer");
  const tiles: { patches: number[]; r?: number; removed?: number; title: string }[] = [
    ...fig.mses.slice(0, o.maxTiles).map((m, i) => ({ ...m, title: `MSE ${i + 1}` })),
    ...(fig.sub_explanations ?? []).slice(0, o.maxTiles).map((m, i) => ({
      ...m,
      title: m.parent === undefined
        ? `sub-explanation ${i + 1}`
        : `MSE ${m.parent + 1} − patch ${m.removed ?? "?"}`,
    })),
  ];
  const s = tileScales(img);
  const rect = { x: "px0", x2: "px1", y: "py0", y2: "py1" };
  const enc = {
    x: { field: rect.x, type: "quantitative", scale: s.x, axis: null },
    x2: { field: rect.x2 },
    y: { field: rect.y, type: "quantitative", scale: s.y, axis: null },
    y2: { field: rect.y2 },
  };
  const concat = tiles.map((t, ti) => {
    const revealed = new Set(t.patches);
    for (const p of t.removed === undefined ? revealed : [...revealed, t.removed]) {
      need(
        Number.isInteger(p) && p >= 0 && p < g * g,
        `figures.mse tile ${ti + 1}`,
        `patch ${p} is outside the ${g}x${g} grid`,
      );
    }
    const shown: Json[] = [];
    const hidden: Json[] = [];
    for (let p = 0; p < g * g; p++) (revealed.has(p) ? shown : hidden).push(patchRect(p, g, img));
    const r = t.r === undefined ? "" : `, r = ${t.r.toFixed(2)}`;
    return {
      width: o.tileSize,
      height: o.tileSize,
      title: { text: [t.title, `${t.patches.length} patches${r}`], fontSize: 10 },
      layer: [
        imageLayer(img),
        {
          data: { values: hidden },
          mark: { type: "rect", fill: "#000000", opacity: 0.6, strokeWidth: 0, aria: false },
          encoding: enc,
        },
        {
          data: { values: shown },
          mark: { type: "rect", fillOpacity: 0, stroke: "#ffd400", strokeWidth: 1.5, aria: false },
          encoding: enc,
        },
        // The patch removed from the parent MSE, in red as in the paper's Fig. 4.
        ...(t.removed !== undefined
          ? [{
            data: { values: [patchRect(t.removed, g, img)] },
            mark: { type: "rect", fillOpacity: 0, stroke: "#e00000", strokeWidth: 2, aria: false },
            encoding: enc,
          }]
          : []),
      ],
    };
  });
  const cls = fig.class_label ? ` (${fig.class_label})` : "";
  return {
    $schema: SCHEMA,
    title: { text: `MSEs and sub-explanations of ${fig.model}, image ${fig.image_id}${cls}` },
    datasets: { image: imageRects(img) },
    columns: o.tileColumns,
    concat,
    config: CONFIG,
  } as TopLevelSpec;
}

export function channelSpec(
  fig: ChannelFigure,
  o: SpecOptions = defaults,
  styles?: readonly ModelStyle[],
): TopLevelSpec {
  const values: Json[] = [];
  for (const c of fig.curves) {
    const sorted = [...c.values].sort((a, b) => b - a);
    sorted.forEach((v, i) => values.push({ model: c.model, rank: i + 1, value: v }));
  }
  const tensor = fig.tensor ? ` of ${fig.tensor}` : "";
  return {
    $schema: SCHEMA,
    title: { text: `Sorted mean maximal channel activations${tensor}` },
    width: o.width,
    height: o.height,
    data: { values },
    mark: { type: "line" },
    encoding: {
      x: { field: "rank", type: "quantitative", title: "channel (sorted, descending)" },
      y: { field: "value", type: "quantitative", title: "mean maximal activation" },
      ...modelLineEncoding(fig.curves.map((c) => c.model), styles),
      tooltip: [
        { field: "model", type: "nominal" },
        { field: "rank", type: "quantitative" },
        { field: "value", type: "quantitative", format: ".3f" },
      ],
    },
    config: CONFIG,
  } as TopLevelSpec;
}

/**
 * Fig. 6: models as points, colour and shape by family, each labelled where its label overlaps no
 * other label or point (report/label_layout.ts), with a leader line where it had to move away.
 */
export function landscapeSpec(
  fig: LandscapeFigure,
  o: SpecOptions = defaults,
  styles?: readonly ModelStyle[],
): TopLevelSpec {
  const layout = layoutLabels(
    fig.points.map((p) => ({ x: p.x, y: p.y, text: p.model })),
    { width: o.width, height: o.height },
  );
  const values = fig.points.map((p, i) => ({
    ...p,
    lx: layout.labels[i].lx,
    ly: layout.labels[i].ly,
    leader: layout.labels[i].leader,
  }));
  // Families in the models' order; the points' own groups where provenance names none.
  const known = styles ?? [];
  const groupStyles = modelStyles(
    [
      ...known.filter((s) => fig.points.some((p) => p.group === s.family)).map((s) => ({
        id: s.id,
        group: s.family,
      })),
      ...fig.points.filter((p) => !known.some((s) => s.family === p.group)).map((p) => ({
        id: p.model,
        group: p.group,
      })),
    ],
  );
  const fam = familyScales(groupStyles);
  const scale = (d: [number, number]) => ({ domain: d, nice: false, zero: false });
  const x = { type: "quantitative", title: "KPCA component 1", scale: scale(layout.xDomain) };
  const y = { type: "quantitative", title: "KPCA component 2", scale: scale(layout.yDomain) };
  return {
    $schema: SCHEMA,
    title: { text: "Landscape of models (kernel PCA of cross-testing similarity)" },
    width: o.width,
    height: o.height,
    data: { values },
    layer: [
      {
        transform: [{ filter: "datum.leader" }],
        mark: { type: "rule", color: "#999999", strokeWidth: 0.8 },
        encoding: {
          x: { field: "x", ...x },
          y: { field: "y", ...y },
          x2: { field: "lx" },
          y2: { field: "ly" },
        },
      },
      {
        mark: { type: "point", filled: true, size: 80, opacity: 0.9 },
        encoding: {
          x: { field: "x", ...x },
          y: { field: "y", ...y },
          color: { field: "group", type: "nominal", title: "group", scale: fam.color },
          shape: { field: "group", type: "nominal", title: "group", scale: fam.shape },
          tooltip: [
            { field: "model", type: "nominal" },
            { field: "group", type: "nominal" },
            { field: "x", type: "quantitative", format: ".3f" },
            { field: "y", type: "quantitative", format: ".3f" },
          ],
        },
      },
      {
        mark: { type: "text", fontSize: 10, align: "center", baseline: "middle" },
        encoding: {
          x: { field: "lx", ...x },
          y: { field: "ly", ...y },
          text: { field: "model", type: "nominal" },
        },
      },
    ],
    config: CONFIG,
  } as TopLevelSpec;
}

/** Fig. 7: each source model's heatmap over the (grey) image, min-max normalised per heatmap. */
export function crossTestSpec(
  fig: CrossTestFigure,
  img: PixelImage,
  o: SpecOptions = defaults,
): TopLevelSpec {
  const s = tileScales(img);
  const concat = fig.heatmaps.map((h, hi) => {
    need(
      h.values.length === h.size * h.size,
      `figures.cross_test.heatmaps[${hi}]`,
      `${h.values.length} values, expected ${h.size}x${h.size}`,
    );
    let lo = Infinity;
    let top = -Infinity;
    for (const v of h.values) {
      lo = Math.min(lo, v);
      top = Math.max(top, v);
    }
    const span = top - lo || 1;
    const cells: Json[] = h.values.map((v, i) => ({
      ...patchRect(i, h.size, img),
      v: (v - lo) / span,
    }));
    return {
      width: o.tileSize,
      height: o.tileSize,
      title: { text: h.note ? `${h.model} (${h.note})` : h.model, fontSize: 10 },
      layer: [
        imageLayer(img),
        {
          data: { values: cells },
          mark: { type: "rect", opacity: 0.55, strokeWidth: 0, aria: false },
          encoding: {
            x: { field: "px0", type: "quantitative", scale: s.x, axis: null },
            x2: { field: "px1" },
            y: { field: "py0", type: "quantitative", scale: s.y, axis: null },
            y2: { field: "py1" },
            color: {
              field: "v",
              type: "quantitative",
              title: "saliency",
              scale: { scheme: "inferno", domain: [0, 1] },
            },
          },
        },
      ],
    };
  });
  const cls = fig.class_label ? ` (${fig.class_label})` : "";
  return {
    $schema: SCHEMA,
    title: { text: `Heatmaps of each model on image ${fig.image_id}${cls}` },
    datasets: { image: imageRects(img, true) },
    columns: o.tileColumns,
    concat,
    resolve: { scale: { color: "shared" }, legend: { color: "shared" } },
    config: CONFIG,
  } as TopLevelSpec;
}

/** Fig. 8: rows = heatmap source group, columns = tested group (not symmetric). */
export function groupMatrixSpec(fig: GroupMatrixFigure, o: SpecOptions = defaults): TopLevelSpec {
  const n = fig.groups.length;
  need(n > 0, "figures.group_matrix.groups", "must not be empty");
  need(fig.values.length === n, "figures.group_matrix.values", `expected ${n} rows`);
  const values: Json[] = [];
  fig.values.forEach((row, i) => {
    need(row.length === n, `figures.group_matrix.values[${i}]`, `expected ${n} columns`);
    row.forEach((v, j) => values.push({ source: fig.groups[i], tested: fig.groups[j], v }));
  });
  const all = values.map((d) => d.v as number);
  const mid = (Math.min(...all) + Math.max(...all)) / 2;
  const side = Math.max(160, Math.min(o.width, 60 * n));
  const order = { sort: fig.groups };
  return {
    $schema: SCHEMA,
    title: { text: "Cross-testing between model groups (normalised insertion)" },
    width: side,
    height: side,
    data: { values },
    encoding: {
      x: {
        field: "tested",
        type: "nominal",
        title: "tested group",
        axis: { labelAngle: -30, labelLimit: 140 },
        ...order,
      },
      y: {
        field: "source",
        type: "nominal",
        title: "heatmap source group",
        axis: { labelLimit: 140 },
        ...order,
      },
    },
    layer: [
      {
        mark: { type: "rect" },
        encoding: {
          color: { field: "v", type: "quantitative", title: "score", scale: { scheme: "blues" } },
          tooltip: [
            { field: "source", type: "nominal" },
            { field: "tested", type: "nominal" },
            { field: "v", type: "quantitative", format: ".3f" },
          ],
        },
      },
      {
        mark: { type: "text", fontSize: 11 },
        encoding: {
          text: { field: "v", type: "quantitative", format: ".2f" },
          color: { condition: { test: `datum.v > ${mid}`, value: "white" }, value: "black" },
        },
      },
    ],
    config: CONFIG,
  } as TopLevelSpec;
}

/**
 * Sub-explanation counts by model (family order) and threshold, error bars from the bootstrap
 * intervals, on a symmetric log axis: counts span three orders of magnitude across models, and a
 * linear axis flattens the small ones to nothing.
 */
export function subCountSpec(
  rows: Table1Row[],
  kind: "tree" | "unique" = "tree",
  o: SpecOptions = defaults,
  styles?: readonly ModelStyle[],
): TopLevelSpec {
  const values: Json[] = [];
  for (const r of rows) {
    for (const t of THRESHOLDS) {
      const iv = (kind === "tree" ? r.tree : r.unique)?.[t];
      if (iv) {
        values.push({ model: r.model, threshold: `r ≥ ${t}`, mean: iv.mean, lo: iv.lo, hi: iv.hi });
      }
    }
  }
  const x = {
    field: "model",
    type: "nominal",
    title: "model",
    sort: stylesFor(rows.map((r) => r.model), styles).map((s) => s.id),
    axis: { labelAngle: -30, labelLimit: 140 },
  };
  const yScale = { type: "symlog", constant: 1 };
  const top = Math.max(1, ...values.map((v) => v.hi as number).filter(Number.isFinite));
  const ticks = [0, 1, 3, 10, 30, 100, 300, 1e3, 3e3, 1e4, 3e4, 1e5, 3e5, 1e6]
    .filter((t) => t <= top * 1.5);
  const off = { field: "threshold", type: "nominal", sort: THRESHOLDS.map((t) => `r ≥ ${t}`) };
  return {
    $schema: SCHEMA,
    title: { text: `Sub-explanations per image (${kind} counts, 95% intervals)` },
    width: Math.max(o.width, rows.length * 60),
    height: o.height,
    data: { values },
    layer: [
      {
        mark: { type: "bar" },
        encoding: {
          x,
          xOffset: off,
          y: {
            field: "mean",
            type: "quantitative",
            title: "sub-explanations per image (log scale)",
            scale: yScale,
            axis: { values: ticks },
          },
          color: { ...off, title: "threshold" },
          tooltip: [
            { field: "model", type: "nominal" },
            { field: "threshold", type: "nominal" },
            { field: "mean", type: "quantitative", format: ".2f" },
            { field: "lo", type: "quantitative", format: ".2f" },
            { field: "hi", type: "quantitative", format: ".2f" },
          ],
        },
      },
      {
        mark: { type: "rule", color: "#222222" },
        encoding: {
          x,
          xOffset: off,
          y: { field: "lo", type: "quantitative", scale: yScale },
          y2: { field: "hi" },
        },
      },
    ],
    config: CONFIG,
  } as TopLevelSpec;
}
