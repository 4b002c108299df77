// report.html's per-image explorer (report/explorer.ts inlines this file). Choose a model and an
// image: their MSEs, sub-explanation trees drawn as the paper's Fig. 4 (edges, the removed patch
// outlined in red), the heatmap over the image, its insertion and deletion curves, and what every
// model reads from the masked images at a chosen step of cross-testing. The data is the JSON in
// #xc-explorer-data; drawing uses canvas, SVG and the inlined vega-embed. No network.
(function () {
  "use strict";
  const root = document.getElementById("xc-explorer");
  const dataEl = document.getElementById("xc-explorer-data");
  if (!root || !dataEl) return;
  const D = JSON.parse(dataEl.textContent);
  const X = D.explorer;
  const SVG = "http://www.w3.org/2000/svg";
  const TILE = 76; // tree node side, CSS pixels
  const MAIN = 168; // side of the heatmap and masked images

  function h(tag, attrs, kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") e.textContent = v;
      else if (v !== undefined && v !== null) e.setAttribute(k, v);
    }
    for (const kid of kids || []) e.append(kid);
    return e;
  }

  function s(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") e.textContent = v;
      else e.setAttribute(k, String(v));
    }
    return e;
  }

  function bytes(b64) {
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function words(b64) {
    const b = bytes(b64);
    const view = new DataView(b.buffer);
    const out = new Uint16Array(b.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = view.getUint16(2 * i, true);
    return out;
  }

  // As report/tables.ts `fmt`: d decimals, more for a small nonzero value so it keeps two
  // significant digits and never prints as 0.000.
  const fmt = (x, d) => {
    if (x === null || x === undefined || Number.isNaN(x)) return "n/a";
    if (x === 0 || !Number.isFinite(x)) return x.toFixed(d);
    const needed = 1 - Math.floor(Math.log10(Math.abs(x)));
    return needed > 8 ? x.toExponential(1) : x.toFixed(Math.max(d, needed));
  };
  const className = (c) =>
    X.classes && X.classes[c] !== undefined ? `${c} (${X.classes[c]})` : String(c);
  const groupOf = Object.fromEntries(D.models.map((m) => [m.id, m.group]));

  // ---- images -------------------------------------------------------------------------------
  const loaded = {};
  function load(src) {
    return new Promise((resolve, reject) => {
      const im = new Image();
      im.onload = () => resolve(im);
      im.onerror = () => reject(new Error("explorer: an embedded image failed to decode"));
      im.src = src;
    });
  }
  const ready = Promise.all(X.images.map(async (im) => {
    loaded[im.id] = { info: im, image: await load(im.image), baseline: await load(im.baseline) };
  }));

  /** Pixel bounds of cell `p` of a g x g grid over a w x h image. */
  function cell(p, g, w, hgt) {
    const r = Math.floor(p / g), c = p % g;
    const x0 = Math.round((c * w) / g), x1 = Math.round(((c + 1) * w) / g);
    const y0 = Math.round((r * hgt) / g), y1 = Math.round(((r + 1) * hgt) / g);
    return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
  }

  /** A canvas of the image where `shown(p)` on a g x g grid, the baseline B elsewhere. */
  function composite(pair, g, shown, dimHidden) {
    const w = pair.info.width, hgt = pair.info.height;
    const c = h("canvas", { width: w, height: hgt, class: "xc-px" });
    const ctx = c.getContext("2d");
    ctx.drawImage(pair.baseline, 0, 0);
    if (dimHidden) {
      ctx.fillStyle = "rgba(0, 0, 0, 0.45)";
      ctx.fillRect(0, 0, w, hgt);
    }
    for (let p = 0; p < g * g; p++) {
      if (!shown(p)) continue;
      const r = cell(p, g, w, hgt);
      ctx.drawImage(pair.image, r.x, r.y, r.w, r.h, r.x, r.y, r.w, r.h);
    }
    return c;
  }

  /**
   * A tile of a patch set at `side` CSS pixels, drawn at that size (smoothing off) so each revealed
   * patch gets a crisp yellow outline, as in the report's Fig. 4.
   */
  function patchTile(pair, g, patches, side) {
    const w = pair.info.width, hgt = pair.info.height;
    const k = Math.max(1, Math.ceil(side / Math.max(w, hgt)));
    const c = h("canvas", { width: w * k, height: hgt * k, class: "xc-px" });
    const ctx = c.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(composite(pair, g, (p) => patches.has(p), true), 0, 0, w * k, hgt * k);
    ctx.strokeStyle = "#ffd400";
    ctx.lineWidth = 1;
    for (const p of patches) {
      const r = cell(p, g, w, hgt);
      ctx.strokeRect(r.x * k + 0.5, r.y * k + 0.5, r.w * k - 1, r.h * k - 1);
    }
    c.style.width = `${side}px`;
    c.style.height = `${Math.round((side * hgt) / w)}px`;
    return c;
  }

  // ---- colour ---------------------------------------------------------------------------------
  const LUT = (() => {
    const f = typeof vega !== "undefined" && vega.scheme ? vega.scheme("inferno") : null;
    return Array.from({ length: 256 }, (_, i) => {
      if (typeof f === "function") return f(i / 255);
      const v = Math.round(i);
      return `rgb(${v}, ${Math.round(v * 0.4)}, ${255 - v})`;
    });
  })();

  // ---- controls -------------------------------------------------------------------------------
  const models = D.models.filter((m) =>
    X.images.some((im) =>
      (X.mse && X.mse.entries[m.id] && X.mse.entries[m.id][im.id]) ||
      (X.heatmaps && X.heatmaps.entries[m.id] && X.heatmaps.entries[m.id][im.id])
    )
  );
  const modelSel = h("select", { id: "xc-ex-model", "aria-label": "model" });
  for (const m of models) {
    modelSel.append(h("option", { value: m.id, text: `${m.id} (${m.group})` }));
  }
  const imageSel = h("select", { id: "xc-ex-image", "aria-label": "image" });
  for (const im of X.images) {
    const cls = im.class_label ? ` (${im.class_label})` : "";
    imageSel.append(h("option", { value: im.id, text: `${im.id}${cls}` }));
  }
  const points = X.cross ? X.cross.fractions.length : 0;
  const stepIn = h("input", {
    id: "xc-ex-step",
    type: "range",
    min: 0,
    max: Math.max(0, points - 1),
    step: 1,
    value: Math.min(points - 1, Math.max(0, Math.round((points - 1) * 0.2))),
    "aria-label": "cross-testing step",
  });
  const stepLabel = h("span", { class: "xc-ex-steplabel" });
  root.append(
    h("div", { class: "xc-ex-controls" }, [
      h("label", {}, ["model ", modelSel]),
      h("label", {}, ["image ", imageSel]),
    ]),
  );
  const panels = {
    summary: h("p", { class: "xc-ex-summary" }),
    mse: h("div", { class: "xc-ex-panel", id: "xc-ex-mse" }),
    trees: h("div", { class: "xc-ex-panel", id: "xc-ex-trees" }),
    heat: h("div", { class: "xc-ex-panel", id: "xc-ex-heat" }),
    cross: h("div", { class: "xc-ex-panel", id: "xc-ex-cross" }),
  };
  root.append(
    panels.summary,
    h("h4", { text: "Minimal sufficient explanations" }),
    panels.mse,
    h("h4", { text: "Sub-explanation trees" }),
    panels.trees,
    h("h4", { text: "Heatmap, insertion and deletion" }),
    panels.heat,
    h("h4", { text: "Cross-testing: every model on this heatmap's masked images" }),
    h("div", { class: "xc-ex-controls" }, [h("label", {}, ["step ", stepIn]), stepLabel]),
    panels.cross,
  );

  const entry = (part, model, image) =>
    X[part] && X[part].entries[model] ? X[part].entries[model][image] : undefined;

  // ---- panels ---------------------------------------------------------------------------------
  function summary(model, image) {
    const im = loaded[image].info;
    const pred = X.predictions && X.predictions[model] && X.predictions[model][image];
    const parts = [`Image ${im.id}`];
    if (im.label !== undefined && im.label !== null) parts.push(`label ${className(im.label)}`);
    if (pred) parts.push(`${model} predicts ${className(pred.pred)} with p = ${fmt(pred.p, 3)}`);
    const row = D.table1[model];
    const k = row && row.image_ids ? row.image_ids.indexOf(image) : -1;
    if (k >= 0) {
      const size = row.mse_size[k];
      parts.push(
        `${row.mse_count[k]} MSEs, mean size ${size === null ? "n/a" : fmt(size, 1)}`,
        "sub-explanations (tree counts) " +
          D.thresholds.filter((t) => row.tree[t]).map((t) => `r ≥ ${t}: ${row.tree[t][k]}`)
            .join(", "),
      );
    }
    panels.summary.textContent = parts.join("; ") + ".";
  }

  function mse(model, image) {
    panels.mse.replaceChildren();
    const e = entry("mse", model, image);
    panels.mse.title = "revealed patches outlined in yellow; the rest shows the baseline, dimmed";
    if (!e) {
      panels.mse.append(h("p", { class: "xc-note", text: "No MSE search for this image." }));
      return;
    }
    if (!e.mses.length) {
      panels.mse.append(h("p", {
        class: "xc-note",
        text: e.baselineSuffices
          ? "Baseline suffices: the blurred image alone reaches r > Ph, so there is nothing to " +
            "search (docs/METHODS.md §1)."
          : "The search found no MSE: no patch set reached r > Ph within its limits.",
      }));
    }
    const g = X.mse.grid;
    e.mses.forEach((m, i) => {
      const c = patchTile(loaded[image], g, new Set(m.patches), TILE + 20);
      panels.mse.append(h("figure", { class: "xc-ex-tile" }, [
        c,
        h("figcaption", { text: `MSE ${i + 1}: ${m.patches.length} patches, r = ${fmt(m.r, 3)}` }),
      ]));
    });
  }

  /** One tree as an SVG: tiles, parent-child edges, the removed patch outlined in red. */
  function treeSvg(tree, pair, g) {
    const gap = 14, vgap = 46, label = 16;
    const leaves = (
      n,
    ) => (n.children && n.children.length ? n.children.map(leaves).reduce((a, b) => a + b, 0) : 1);
    const depth = (n) =>
      1 + (n.children && n.children.length ? Math.max(...n.children.map(depth)) : 0);
    const width = leaves(tree) * (TILE + gap);
    const height = depth(tree) * (TILE + label + vgap) - vgap;
    const svg = s("svg", {
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      class: "xc-ex-tree",
      role: "img",
    });
    const edges = s("g", { class: "xc-ex-edges" });
    const nodes = s("g", { class: "xc-ex-nodes" });
    svg.append(edges, nodes);
    const w = pair.info.width, hgt = pair.info.height;
    const place = (n, x0, level) => {
      const span = leaves(n) * (TILE + gap);
      const x = x0 + span / 2 - TILE / 2;
      const y = level * (TILE + label + vgap);
      const set = new Set(n.patches);
      const img = composite(pair, g, (p) => set.has(p), true).toDataURL();
      const node = s("g", { class: "xc-ex-node", "data-r": n.r, "data-patches": n.patches.length });
      node.append(
        s("image", { href: img, x, y, width: TILE, height: TILE, preserveAspectRatio: "none" }),
        s("rect", {
          x,
          y,
          width: TILE,
          height: TILE,
          fill: "none",
          stroke: n.r >= 0.5 ? "#333" : "#bbb",
          "stroke-dasharray": n.r >= 0.5 ? "" : "3 2",
        }),
      );
      if (n.removed !== undefined) {
        const r = cell(n.removed, g, w, hgt);
        node.append(s("rect", {
          class: "xc-ex-removed",
          x: x + (r.x / w) * TILE,
          y: y + (r.y / hgt) * TILE,
          width: (r.w / w) * TILE,
          height: (r.h / hgt) * TILE,
          fill: "none",
          stroke: "#e00000",
          "stroke-width": 2,
        }));
      }
      const what = level === 0 ? `MSE, r = ${fmt(n.r, 2)}` : `r = ${fmt(n.r, 2)}`;
      node.append(s("text", {
        x: x + TILE / 2,
        y: y + TILE + 12,
        "text-anchor": "middle",
        "font-size": 11,
        fill: n.r >= 0.5 ? "#111" : "#888",
        text: what,
      }));
      nodes.append(node);
      let cx = x0;
      for (const ch of n.children || []) {
        const c = place(ch, cx, level + 1);
        cx += leaves(ch) * (TILE + gap);
        edges.append(s("line", {
          x1: x + TILE / 2,
          y1: y + TILE + label,
          x2: c.x + TILE / 2,
          y2: c.y,
          stroke: "#666",
          "stroke-width": 1.2,
        }));
      }
      return { x, y };
    };
    place(tree, gap / 2, 0);
    return svg;
  }

  function trees(model, image) {
    panels.trees.replaceChildren();
    const e = entry("mse", model, image);
    if (!e || !e.trees.length) {
      panels.trees.append(h("p", {
        class: "xc-note",
        text: e ? "No tree: the image has no MSE." : "No sub-explanation count for this image.",
      }));
      return;
    }
    for (const t of e.trees) panels.trees.append(treeSvg(t, loaded[image], X.mse.grid));
  }

  let curveView = null;
  function heat(model, image, step) {
    panels.heat.replaceChildren();
    const e = entry("heatmaps", model, image);
    if (!e) {
      panels.heat.append(h("p", { class: "xc-note", text: "No heatmap for this image." }));
      return Promise.resolve();
    }
    const pair = loaded[image];
    const w = pair.info.width, hgt = pair.info.height, g = X.heatmaps.size;
    const v = bytes(e.values);
    const c = h("canvas", { width: w, height: hgt, class: "xc-px", id: "xc-ex-heatmap" });
    const ctx = c.getContext("2d");
    ctx.filter = "grayscale(1)";
    ctx.drawImage(pair.image, 0, 0);
    ctx.filter = "none";
    ctx.globalAlpha = 0.6;
    for (let p = 0; p < g * g; p++) {
      const r = cell(p, g, w, hgt);
      ctx.fillStyle = LUT[v[p]];
      ctx.fillRect(r.x, r.y, r.w, r.h);
    }
    ctx.globalAlpha = 1;
    c.style.width = c.style.height = `${MAIN}px`;
    const bar = h("canvas", { width: 128, height: 10, class: "xc-ex-bar" });
    const bctx = bar.getContext("2d");
    for (let i = 0; i < 128; i++) {
      bctx.fillStyle = LUT[Math.round((i / 127) * 255)];
      bctx.fillRect(i, 0, 1, 10);
    }
    panels.heat.append(h("figure", { class: "xc-ex-tile" }, [
      c,
      h("figcaption", {}, [
        `${X.heatmaps.method} saliency of ${model}, scaled per map: `,
        h("span", { text: "low " }),
        bar,
        h("span", { text: " high" }),
      ]),
    ]));
    const chart = h("div", { class: "xc-ex-curves", id: "xc-ex-curves" });
    panels.heat.append(chart);
    const cross = entry("cross", model, image);
    const j = cross ? cross.tested.indexOf(model) : -1;
    if (j < 0) {
      chart.append(h("p", { class: "xc-note", text: "No insertion curve for this image." }));
      return Promise.resolve();
    }
    const curves = words(cross.curves);
    const values = [];
    X.cross.fractions.forEach((f, k) => {
      values.push({ fraction: f, p: curves[j * 2 * points + k] / 65535, curve: "insertion" });
      if (cross.deletion) {
        values.push({
          fraction: f,
          p: curves[j * 2 * points + points + k] / 65535,
          curve: "deletion",
        });
      }
    });
    const auc = `insertion AUC ${fmt(cross.insertion_auc[j], 3)}` +
      (cross.deletion ? `, deletion AUC ${fmt(cross.deletion_auc[j], 3)}` : "");
    const spec = {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: { text: `${model} on its own heatmap`, subtitle: auc },
      width: 300,
      height: 170,
      layer: [
        {
          data: { values },
          mark: { type: "line" },
          encoding: {
            x: {
              field: "fraction",
              type: "quantitative",
              title: "fraction of cells revealed (insertion) or hidden (deletion)",
              scale: { domain: [0, 1] },
            },
            y: {
              field: "p",
              type: "quantitative",
              title: `p of class ${className(cross.cls[j])}`,
              scale: { domain: [0, 1] },
            },
            color: {
              field: "curve",
              type: "nominal",
              title: null,
              scale: { domain: ["insertion", "deletion"], range: ["#1f77b4", "#d62728"] },
            },
            strokeDash: {
              field: "curve",
              type: "nominal",
              legend: null,
              scale: { domain: ["insertion", "deletion"], range: [[1, 0], [5, 3]] },
            },
          },
        },
        {
          data: { values: [{ fraction: X.cross.fractions[step] }] },
          mark: { type: "rule", color: "#888", strokeDash: [2, 2] },
          encoding: { x: { field: "fraction", type: "quantitative" } },
        },
      ],
      config: { font: "DejaVu Sans, Liberation Sans, Arial, sans-serif" },
    };
    if (curveView) curveView.finalize();
    return vegaEmbed(chart, spec, { renderer: "svg", actions: false }).then((r) => {
      curveView = r;
    });
  }

  function crossPanel(model, image, step) {
    panels.cross.replaceChildren();
    const e = entry("cross", model, image);
    const hm = entry("heatmaps", model, image);
    if (!e || !hm) {
      stepLabel.textContent = "";
      panels.cross.append(h("p", { class: "xc-note", text: "No cross-testing for this image." }));
      return;
    }
    const f = X.cross.fractions[step];
    const order = words(hm.order);
    const cells = order.length;
    const k = Math.round(f * cells);
    const rank = new Uint16Array(cells);
    order.forEach((p, i) => (rank[p] = i));
    stepLabel.textContent = `${k} of ${cells} cells (${fmt(100 * f, 1)}%)`;
    const pair = loaded[image], g = X.heatmaps.size;
    const ins = composite(pair, g, (p) => rank[p] < k, false);
    const del = composite(pair, g, (p) => rank[p] >= k, false);
    ins.id = "xc-ex-masked-insertion";
    del.id = "xc-ex-masked-deletion";
    for (const c of [ins, del]) c.style.width = c.style.height = `${MAIN}px`;
    panels.cross.append(h("div", { class: "xc-ex-row" }, [
      h("figure", { class: "xc-ex-tile" }, [
        ins,
        h("figcaption", {
          text: `insertion: the ${k} most salient cells of ${model}'s heatmap shown, B elsewhere`,
        }),
      ]),
      h("figure", { class: "xc-ex-tile" }, [
        del,
        h("figcaption", { text: `deletion: the same ${k} cells replaced by B` }),
      ]),
    ]));
    const curves = words(e.curves);
    const head = [
      "model",
      "group",
      "prediction on the full image",
      "class read",
      "p (insertion)",
      "p (deletion)",
      "insertion AUC",
      "deletion AUC",
    ];
    const table = h("table", { class: "xc-table", id: "xc-ex-cross-table" }, [
      h("thead", {}, [h("tr", {}, head.map((t) => h("th", { text: t })))]),
    ]);
    const body = h("tbody");
    const byId = new Map(e.tested.map((b, j) => [b, j]));
    const bar = (p) =>
      h("td", { class: "r" }, [
        h("span", { class: "xc-ex-bar-bg" }, [
          h("span", { class: "xc-ex-bar-fg", style: `width: ${(100 * p).toFixed(1)}%` }),
        ]),
        ` ${fmt(p, 3)}`,
      ]);
    for (const m of D.models) {
      const j = byId.get(m.id);
      if (j === undefined) continue;
      const pred = X.predictions && X.predictions[m.id] && X.predictions[m.id][image];
      const pIns = curves[j * 2 * points + step] / 65535;
      const pDel = curves[j * 2 * points + points + step] / 65535;
      const tr = h("tr", m.id === model ? { class: "xc-ex-self" } : {}, [
        h("td", { text: m.id }),
        h("td", { text: groupOf[m.id] || "" }),
        h("td", { text: pred ? `${className(pred.pred)}, p = ${fmt(pred.p, 3)}` : "n/a" }),
        h("td", { text: className(e.cls[j]) }),
        bar(pIns),
        e.deletion ? bar(pDel) : h("td", { class: "r", text: "n/a" }),
        h("td", { class: "r", text: fmt(e.insertion_auc[j], 3) }),
        h("td", { class: "r", text: fmt(e.deletion_auc[j], 3) }),
      ]);
      body.append(tr);
    }
    table.append(body);
    panels.cross.append(h("div", { class: "xc-table-wrap" }, [table]));
  }

  // ---- wiring ---------------------------------------------------------------------------------
  let renders = 0;
  async function render() {
    const model = modelSel.value, image = imageSel.value, step = Number(stepIn.value);
    root.removeAttribute("data-state");
    summary(model, image);
    mse(model, image);
    trees(model, image);
    crossPanel(model, image, step);
    await heat(model, image, step);
    renders++;
    root.setAttribute("data-renders", String(renders));
    root.setAttribute("data-state", `${model}|${image}|${step}`);
  }
  let queue = Promise.resolve();
  const rerender = () => {
    queue = queue.then(render).catch((err) => {
      root.setAttribute("data-error", String(err && err.message));
      console.error(err);
    });
  };
  modelSel.addEventListener("change", rerender);
  imageSel.addEventListener("change", rerender);
  stepIn.addEventListener("input", rerender);
  queue = ready.then(render).catch((err) => {
    root.setAttribute("data-error", String(err && err.message));
    console.error(err);
  });
})();
