/**
 * The stage graph as a reader sees it (`xcompare dag`): every stage with the stages it reads and,
 * when known, how many of its units are fresh and stale; as a text table, a Mermaid flowchart or a
 * Graphviz DOT graph. Every `after` edge is drawn: the graph is the one the runner walks.
 */
import { orderStages, stageDepths, type StageNode } from "./dag.ts";

export interface DagStage extends StageNode {
  /** Units in the store under their current key, and units that must be computed; absent: unknown. */
  fresh?: number;
  stale?: number;
}

const counts = (s: DagStage) =>
  s.fresh === undefined || s.stale === undefined
    ? null
    : { fresh: s.fresh, stale: s.stale, total: s.fresh + s.stale };

/** One row per stage in dependency order: its depth, units, fresh and stale counts, what it reads. */
export function dagText(stages: readonly DagStage[]): string {
  const depth = stageDepths(stages);
  const rows = orderStages(stages).map((s) => {
    const c = counts(s);
    return [
      `${"  ".repeat(depth.get(s.name)!)}${s.name}`,
      c ? String(c.total) : "",
      c ? String(c.fresh) : "",
      c ? String(c.stale) : "",
      c ? (c.stale ? "STALE" : "fresh") : "",
      s.after.length ? s.after.join(", ") : "(inputs only)",
    ];
  });
  const head = ["stage", "units", "fresh", "stale", "", "reads"];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r.map((c, i) => i === 0 || i >= 4 ? c.padEnd(width[i]) : c.padStart(width[i])).join("  ")
      .trimEnd();
  return [line(head), ...rows.map(line)].join("\n");
}

const nodeId = (name: string) => name.replace(/[^A-Za-z0-9_]/g, "_");
const label = (s: DagStage) => {
  const c = counts(s);
  return c ? `${s.name}\n${c.fresh}/${c.total} fresh` : s.name;
};

/** A Mermaid flowchart, top to bottom; stale stages are drawn in a warning colour. */
export function dagMermaid(stages: readonly DagStage[]): string {
  const ordered = orderStages(stages);
  const lines = ["flowchart TD"];
  for (const s of ordered) {
    lines.push(
      `  ${nodeId(s.name)}["${label(s).replace(/\n/g, "<br/>").replace(/"/g, "#quot;")}"]`,
    );
  }
  for (const s of ordered) {
    for (const a of s.after) lines.push(`  ${nodeId(a)} --> ${nodeId(s.name)}`);
  }
  const stale = ordered.filter((s) => (counts(s)?.stale ?? 0) > 0).map((s) => nodeId(s.name));
  if (stale.length) {
    lines.push("  classDef stale fill:#fde2e1,stroke:#c0392b", `  class ${stale.join(",")} stale`);
  }
  return lines.join("\n");
}

/** A Graphviz DOT digraph; stale stages are filled in a warning colour. */
export function dagDot(stages: readonly DagStage[]): string {
  const ordered = orderStages(stages);
  const q = (s: string) => JSON.stringify(s);
  const lines = ["digraph xcompare {", "  rankdir=TB;", "  node [shape=box, style=rounded];"];
  for (const s of ordered) {
    const stale = (counts(s)?.stale ?? 0) > 0;
    lines.push(
      `  ${q(s.name)} [label=${q(label(s))}${
        stale ? ', style="rounded,filled", fillcolor="#fde2e1"' : ""
      }];`,
    );
  }
  for (const s of ordered) for (const a of s.after) lines.push(`  ${q(a)} -> ${q(s.name)};`);
  lines.push("}");
  return lines.join("\n");
}
