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
  max-width: 1200px; padding: 0 1rem; color: #1a1a1a; }
h1 { font-size: 1.6rem; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2rem; }
.xc-table-wrap { overflow-x: auto; margin: 1rem 0 1.5rem; }
table.xc-table { border-collapse: collapse; font-size: 13px; }
table.xc-table caption { text-align: left; font-weight: bold; padding: .3rem 0; }
table.xc-table th, table.xc-table td { border: 1px solid #ddd; padding: .25rem .5rem;
  vertical-align: top; }
table.xc-table th { background: #f4f4f4; }
td.r, th.r { text-align: right; white-space: nowrap; }
.xc-note { color: #555; font-size: 12px; margin: .2rem 0; }
figure.xc-figure { margin: 1.5rem 0; }
figure.xc-figure figcaption { color: #444; font-size: 13px; }
.xc-vis { min-height: 40px; overflow-x: auto; }
.xc-error { color: #b00020; font-weight: bold; }
pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; font-size: 12px; }
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

export function htmlTable(t: Table): string {
  const cls = (i: number) => (t.align[i] === "right" ? ' class="r"' : "");
  const head = t.columns.map((c, i) => `<th${cls(i)}>${escapeHtml(c)}</th>`).join("");
  const body = t.rows
    .map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${escapeHtml(c)}</td>`).join("")}</tr>`)
    .join("\n");
  const note = t.caption ? `<p class="xc-note">${escapeHtml(t.caption)}</p>` : "";
  return `<div class="xc-table-wrap"><table class="xc-table" id="tbl-${escapeHtml(t.id)}">` +
    `<caption>${escapeHtml(t.title)}</caption><thead><tr>${head}</tr></thead>` +
    `<tbody>\n${body}\n</tbody></table>${note}</div>`;
}

export function renderHtml(doc: ReportDoc, vendor: VendorScript[]): string {
  const specs: Record<string, unknown> = {};
  const parts: string[] = [];
  for (const s of doc.sections) {
    parts.push(`<section id="sec-${escapeHtml(s.id)}"><h2>${escapeHtml(s.title)}</h2>`);
    for (const b of s.blocks) {
      if (b.kind === "text") parts.push(`<p>${escapeHtml(b.text)}</p>`);
      else if (b.kind === "table") parts.push(htmlTable(b.table));
      else if (b.kind === "code") {
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
</body>
</html>
`;
}
