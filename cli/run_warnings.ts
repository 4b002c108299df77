/**
 * The run's warnings for the report: every line a unit logged (kept in its manifest, so a reused
 * unit's warning still shows), failed units, and execution providers that could not be used.
 */
import type { RunResult } from "../pipeline/runner.ts";
import type { RunWarning } from "../report/input.ts";
import { unavailableProviders } from "../runtime/session.ts";

export function runWarnings(result: RunResult, provider?: string): RunWarning[] {
  const out: RunWarning[] = [];
  for (const r of result.records) {
    const source = `${r.stage}/${r.unit}`;
    if (r.outcome === "failed") out.push({ source, message: `failed: ${r.detail ?? "?"}` });
    const log = r.manifest?.provenance?.log;
    if (!Array.isArray(log)) continue;
    for (const line of log) {
      const text = String(line);
      out.push({
        source,
        message: text.startsWith(`${source}: `) ? text.slice(source.length + 2) : text,
      });
    }
  }
  const missing = unavailableProviders();
  if (missing.length) {
    out.push({
      source: "run",
      message: `execution provider(s) ${missing.join(", ")} could not be used; ran on ${
        provider ?? "another provider"
      }`,
    });
  }
  return out;
}
