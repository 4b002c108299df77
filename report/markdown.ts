/** Writes the report document as GitHub-flavoured Markdown; every user string is escaped. */
import type { ReportDoc } from "./document.ts";
import { encodePath, escapeMarkdown } from "./escape.ts";
import type { Table } from "./tables.ts";

export function markdownTable(t: Table): string {
  const head = `| ${t.columns.map(escapeMarkdown).join(" | ")} |`;
  const sep = `| ${t.align.map((a) => (a === "right" ? "---:" : ":---")).join(" | ")} |`;
  const rows = t.rows.map((r) => `| ${r.map(escapeMarkdown).join(" | ")} |`);
  const caption = t.caption ? `\n\n_${escapeMarkdown(t.caption)}_` : "";
  return `**${escapeMarkdown(t.title)}**${caption}\n\n${[head, sep, ...rows].join("\n")}`;
}

/** A fenced block whose fence is longer than any backtick run inside, so content cannot end it. */
export function codeFence(code: string, lang: string): string {
  const longest = Math.max(0, ...(code.match(/`+/g) ?? []).map((m) => m.length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return `${fence}${lang.replace(/[^a-z0-9]/gi, "")}\n${code}\n${fence}`;
}

export function renderMarkdown(doc: ReportDoc): string {
  const out: string[] = [`# ${escapeMarkdown(doc.title)}`];
  for (const s of doc.sections) {
    out.push(`## ${escapeMarkdown(s.title)}`);
    for (const b of s.blocks) {
      if (b.kind === "text") out.push(escapeMarkdown(b.text));
      else if (b.kind === "table") out.push(markdownTable(b.table));
      else if (b.kind === "code") out.push(codeFence(b.code, b.lang));
      else if (b.kind === "explorer") {
        out.push(
          `_Interactive: open report.html to explore ${b.data.explorer.images.length} images ` +
            `across ${b.data.models.length} models._`,
        );
      } else {
        const f = b.figure;
        const src = encodePath(`figures/${f.name}.png`);
        out.push(
          `### ${escapeMarkdown(f.title)}\n\n![${escapeMarkdown(f.title)}](${src})\n\n` +
            `${escapeMarkdown(f.caption)} ([spec](${encodePath(`figures/${f.name}.vl.json`)}), ` +
            `[SVG](${encodePath(`figures/${f.name}.svg`)}))`,
        );
      }
    }
  }
  return out.join("\n\n") + "\n";
}
