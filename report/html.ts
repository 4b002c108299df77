/**
 * Writes the report document as one self-contained HTML page: tables as HTML, figures live through
 * vega-embed with vega, vega-lite and vega-embed inlined, and a CSP that forbids any network access.
 */
import type { ReportDoc } from "./document.ts";
import { encodePath, escapeHtml, inlineScriptSource, jsonForScript } from "./escape.ts";
import type { Table } from "./tables.ts";
import type { VendorScript } from "./vendor.ts";

const CSP = [
  "default-src 'none'",
  // vega compiles its expressions with Function(), hence unsafe-eval.
  "script-src 'unsafe-inline' 'unsafe-eval'",
  "style-src 'unsafe-inline'",
  "img-src data: blob:",
  "font-src data:",
  "connect-src 'none'",
].join("; ");

const STYLE = `
body { font: 14px/1.45 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; margin: 2rem auto;
  max-width: 1280px; padding: 0 1rem; color: #1a1a1a; }
h1 { font-size: 1.6rem; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2rem; }
.xc-table-wrap { overflow-x: auto; margin: 1rem 0 1.5rem; }
table.xc-table { border-collapse: collapse; font-size: 13px; }
table.xc-table caption { text-align: left; font-weight: bold; padding: .3rem 0; }
table.xc-table th, table.xc-table td { border: 1px solid #ddd; padding: .25rem .5rem;
  vertical-align: top; }
table.xc-table th { background: #f4f4f4; }
td.r, th.r { text-align: right; white-space: nowrap; }
td .ci { display: block; color: #666; font-size: 11px; }
table.xc-table tbody th, table.xc-table td:first-child { position: sticky; left: 0;
  background: #fff; }
.xc-table-wrap { max-width: 100%; }
.xc-note { color: #555; font-size: 12px; margin: .2rem 0; }
figure.xc-figure { margin: 1.5rem 0; }
figure.xc-figure figcaption { color: #444; font-size: 13px; }
.xc-vis { min-height: 40px; overflow-x: auto; }
.xc-error { color: #b00020; font-weight: bold; }
pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; font-size: 12px; }
.xc-explorer h4 { margin: 1.2rem 0 .4rem; }
.xc-ex-controls { display: flex; gap: 1.2rem; align-items: center; flex-wrap: wrap;
  margin: .4rem 0; }
.xc-ex-controls select { font: inherit; max-width: 22rem; }
.xc-ex-panel, .xc-ex-row { display: flex; flex-wrap: wrap; gap: .8rem; align-items: flex-start; }
.xc-ex-tile { margin: 0; }
.xc-ex-tile figcaption { font-size: 12px; color: #444; max-width: 14rem; }
canvas.xc-px, .xc-ex-tree image { image-rendering: pixelated; }
.xc-ex-tree { border: 1px solid #eee; }
.xc-ex-bar { vertical-align: middle; }
.xc-ex-bar-bg { display: inline-block; width: 60px; height: 8px; background: #eee;
  vertical-align: middle; }
.xc-ex-bar-fg { display: block; height: 8px; background: #4c78a8; }
tr.xc-ex-self td { font-weight: bold; }
`;

const MAIN = `
(function () {
  var specs = JSON.parse(document.getElementById("xc-specs").textContent);
  var opts = { renderer: "svg", actions: { export: true, source: false, compiled: false,
    editor: false } };
  var boxes = Array.prototype.slice.call(document.querySelectorAll(".xc-vis"));
  var jobs = boxes.map(function (el) {
    var spec = specs[el.getAttribute("data-fig")];
    return vegaEmbed(el, spec, opts).catch(function (err) {
      el.textContent = "Figure failed to render: " + err.message;
      el.className += " xc-error";
      console.error(err);
    });
  });
  Promise.all(jobs).then(function () { document.body.setAttribute("data-figures", "done"); });
})();
`;

/** "1.23 [0.90, 1.50]": the interval goes on its own line, so wide tables stay narrow. */
const INTERVAL_CELL = /^(\S+) (\[[^\]]+\])$/;

function htmlCell(text: string, right: boolean): string {
  const m = right ? INTERVAL_CELL.exec(text) : null;
  if (!m) return escapeHtml(text);
  return `${escapeHtml(m[1])} <span class="ci">${escapeHtml(m[2])}</span>`;
}

export function htmlTable(t: Table): string {
  const right = (i: number) => t.align[i] === "right";
  const cls = (i: number) => (right(i) ? ' class="r"' : "");
  const head = t.columns.map((c, i) => `<th${cls(i)}>${escapeHtml(c)}</th>`).join("");
  const body = t.rows
    .map((r) =>
      `<tr>${r.map((c, i) => `<td${cls(i)}>${htmlCell(c, right(i))}</td>`).join("")}</tr>`
    )
    .join("\n");
  const note = t.caption ? `<p class="xc-note">${escapeHtml(t.caption)}</p>` : "";
  return `<div class="xc-table-wrap"><table class="xc-table" id="tbl-${escapeHtml(t.id)}">` +
    `<caption>${escapeHtml(t.title)}</caption><thead><tr>${head}</tr></thead>` +
    `<tbody>\n${body}\n</tbody></table>${note}</div>`;
}

/**
 * The page. `explorerScript` (report/explorer.js) is inlined when the document has an explorer
 * block; its data goes in a JSON script element beside the figures' specs.
 */
export function renderHtml(
  doc: ReportDoc,
  vendor: VendorScript[],
  explorerScript?: string,
): string {
  const specs: Record<string, unknown> = {};
  const parts: string[] = [];
  let explorer: unknown;
  for (const s of doc.sections) {
    parts.push(`<section id="sec-${escapeHtml(s.id)}"><h2>${escapeHtml(s.title)}</h2>`);
    for (const b of s.blocks) {
      if (b.kind === "text") parts.push(`<p>${escapeHtml(b.text)}</p>`);
      else if (b.kind === "table") parts.push(htmlTable(b.table));
      else if (b.kind === "explorer") {
        if (explorerScript === undefined) {
          parts.push(`<p class="xc-note">The explorer's script was not provided.</p>`);
        } else {
          explorer = b.data;
          parts.push(`<div id="xc-explorer" class="xc-explorer"></div>`);
        }
      } else if (b.kind === "code") {
        parts.push(
          `<details><summary>config (${escapeHtml(b.lang)})</summary>` +
            `<pre><code>${escapeHtml(b.code)}</code></pre></details>`,
        );
      } else {
        const f = b.figure;
        specs[f.name] = f.spec;
        const png = escapeHtml(encodePath(`figures/${f.name}.png`));
        parts.push(
          `<figure class="xc-figure" id="fig-${escapeHtml(f.name)}">` +
            `<h3>${escapeHtml(f.title)}</h3>` +
            `<div class="xc-vis" data-fig="${escapeHtml(f.name)}"></div>` +
            `<noscript><a href="${png}">${escapeHtml(f.title)} (PNG)</a></noscript>` +
            `<figcaption>${escapeHtml(f.caption)}</figcaption></figure>`,
        );
      }
    }
    parts.push("</section>");
  }
  const libs = vendor
    .map((v) =>
      `<script data-lib="${escapeHtml(v.pkg)}@${escapeHtml(v.version)}">\n` +
      `${inlineScriptSource(v.source, v.path)}\n</script>`
    )
    .join("\n");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(CSP)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(doc.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(doc.title)}</h1>
${parts.join("\n")}
<script type="application/json" id="xc-specs">${jsonForScript(specs)}</script>
${libs}
<script>${MAIN}</script>
${
    explorer === undefined
      ? ""
      : `<script type="application/json" id="xc-explorer-data">${
        jsonForScript(explorer)
      }</script>\n<script data-part="explorer">${
        inlineScriptSource(explorerScript!, "report/explorer.js")
      }</script>`
  }
</body>
</html>
`;
}
