/** The models a report is about, whichever sections the input has. */
import type { ModelInfo, ReportInput } from "./input.ts";

/** The models named in provenance, else those seen in Table 1 or accuracy (group unknown). */
export function modelsOf(input: ReportInput): ModelInfo[] {
  if (input.provenance) return input.provenance.models;
  const ids = [
    ...(input.table1 ?? []).map((r) => r.model),
    ...(input.accuracy?.models ?? []).map((a) => a.model),
  ];
  return [...new Set(ids)].map((id) => ({ id, group: "n/a" }));
}
