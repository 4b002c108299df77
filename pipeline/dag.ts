/**
 * The stage graph, walked once: the runner, `status`, `plan` and the cluster waves all take their
 * order from here, so an unknown upstream name or a cycle fails everywhere with the same message.
 */

/** What the graph needs of a stage: its name and the stages it reads. */
export interface StageNode {
  name: string;
  after: readonly string[];
}

/** Stages in dependency order (otherwise in list order); unknown or cyclic `after` names are errors. */
export function orderStages<S extends StageNode>(stages: readonly S[]): S[] {
  const byName = new Map(stages.map((s) => [s.name, s]));
  const out: S[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (s: S, trail: string[]) => {
    const st = state.get(s.name);
    if (st === "done") return;
    if (st === "visiting") throw new Error(`stage cycle: ${[...trail, s.name].join(" → ")}`);
    state.set(s.name, "visiting");
    for (const a of s.after) {
      const up = byName.get(a);
      if (!up) throw new Error(`stage ${s.name}: unknown upstream stage "${a}"`);
      visit(up, [...trail, s.name]);
    }
    state.set(s.name, "done");
    out.push(s);
  };
  for (const s of stages) visit(s, []);
  return out;
}

/** All stages downstream of `name`, itself included. */
export function downstreamOf(stages: readonly StageNode[], name: string): Set<string> {
  const out = new Set([name]);
  for (const s of orderStages(stages)) if (s.after.some((a) => out.has(a))) out.add(s.name);
  return out;
}

/** Each stage's depth: 0 without upstream, else one more than its deepest upstream stage. */
export function stageDepths(stages: readonly StageNode[]): Map<string, number> {
  const depth = new Map<string, number>();
  for (const s of orderStages(stages)) {
    depth.set(s.name, s.after.length ? 1 + Math.max(...s.after.map((a) => depth.get(a)!)) : 0);
  }
  return depth;
}
