/**
 * `xcompare dag [--config F] [--set ...] [--mermaid | --dot]`: the stage graph with each stage's
 * fresh and stale units against the store (pipeline/status.ts), drawn by pipeline/dag_format.ts.
 */
import { UsageError, type Values } from "./args.ts";
import { configPathOf, loadPipeline } from "./app.ts";
import { previousRun } from "./status.ts";
import { dagDot, dagMermaid, type DagStage, dagText } from "../pipeline/dag_format.ts";
import { pipelineStatus } from "../pipeline/status.ts";

export async function dagVerb(values: Values): Promise<number> {
  if (values.mermaid && values.dot) {
    throw new UsageError("xcompare dag: --mermaid or --dot, not both");
  }
  const configPath = configPathOf(values);
  const { spec, configHash } = await loadPipeline(configPath, { sets: values.set as string[] });
  let nodes: DagStage[] = spec.stages.map((s) => ({ name: s.name, after: s.after }));
  let note = "";
  try {
    const status = await pipelineStatus(spec, await previousRun(configPath, configHash));
    nodes = nodes.map((n) => {
      const s = status.find((x) => x.stage === n.name);
      return s ? { ...n, fresh: s.fresh, stale: s.stale } : n;
    });
  } catch (e) {
    note = `(units not counted: ${(e as Error).message})`;
  }
  const draw = values.mermaid ? dagMermaid : values.dot ? dagDot : dagText;
  if (!values.mermaid && !values.dot) console.log(`stages of ${configPath}:`);
  console.log(draw(nodes));
  if (note) console.error(note);
  return 0;
}
