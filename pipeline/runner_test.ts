import { join } from "node:path";
import { assert, assertEquals, assertThrows } from "../tests/assert.ts";
import { calls, syntheticSpec, syntheticStages } from "../tests/fixtures/synthetic_stages.ts";
import { buildLock } from "./lockfile.ts";
import { orderStages } from "./dag.ts";
import { type RunOptions, runPipeline, type RunResult, shardOf } from "./runner.ts";
import type { AnyStage, UnitIO, UnitPlan } from "./stage.ts";
import { formatStatus, pipelineStatus } from "./status.ts";
import { Store, TIMINGS } from "./store.ts";
import { collectGarbage } from "./gc.ts";

const quiet: Partial<RunOptions> = { progress: { live: false, write: () => {} }, log: () => {} };
const spec = syntheticSpec;

function resetCalls() {
  for (const k of Object.keys(calls)) delete calls[k];
}

/** Every file of the store under `prefix` (a stage, say), but temporary and moved-aside ones. */
async function readTree(dir: string, prefix = ""): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of Deno.readDir(join(dir, prefix))) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.name.startsWith(".")) continue;
    if (e.isDirectory) Object.assign(out, await readTree(dir, rel));
    // Everything but the timings sidecar, manifests included: equal keys give equal bytes.
    else if (e.name !== TIMINGS) out[rel] = await Deno.readTextFile(join(dir, rel));
  }
  return out;
}

Deno.test("stages are ordered by dependencies; unknown upstream names are errors", () => {
  assertEquals(orderStages([...syntheticStages].reverse()).map((s) => s.name).indexOf("source"), 0);
  assertThrows(
    () => orderStages([{ ...syntheticStages[1], after: ["nope"] }]),
    /unknown upstream stage "nope"/,
  );
});

Deno.test("a second run reuses every unit; a param change reruns exactly that stage and its dependents", async () => {
  const root = await Deno.makeTempDir();
  resetCalls();
  const first = await runPipeline(spec(root, 5), quiet);
  assert(first.ok);
  assertEquals(calls, { source: 5, square: 5, total: 1, side: 1 });
  resetCalls();
  const again = await runPipeline(spec(root, 5), quiet);
  assertEquals(calls, {});
  assertEquals(again.summaries.map((s) => s.reused), [5, 5, 1, 1]);
  resetCalls();
  await runPipeline(spec(root, 5, { square: { scale: 3 } }), quiet);
  assertEquals(calls, { square: 5, total: 1 }, "only square and its dependent total rerun");
  resetCalls();
  await runPipeline(spec(root, 5, { side: { label: "y" } }), quiet);
  assertEquals(calls, { side: 1 }, "a leaf's param reruns only the leaf");
});

Deno.test("adding a unit computes only it (plus what depends on it)", async () => {
  const root = await Deno.makeTempDir();
  await runPipeline(spec(root, 4), quiet);
  resetCalls();
  await runPipeline(spec(root, 5), quiet);
  assertEquals(calls, { source: 1, square: 1, total: 1, side: 1 });
});

Deno.test("--verify catches a flipped byte and recomputes; a size-only check trusts sizes", async () => {
  const root = await Deno.makeTempDir();
  const r = await runPipeline(spec(root, 3), quiet);
  const rec = r.records.find((x) => x.stage === "square" && x.unit === "item001")!;
  const file = join(root, "square", rec.key!, "value.json");
  const bytes = await Deno.readFile(file);
  bytes[bytes.length - 3] ^= 1;
  await Deno.writeFile(file, bytes);
  resetCalls();
  await runPipeline(spec(root, 3), quiet);
  assertEquals(calls, {}, "same size: reused without --verify");
  const logs: string[] = [];
  await runPipeline(spec(root, 3), { ...quiet, verify: true, log: (l) => logs.push(l) });
  assertEquals(calls, { square: 1 });
  assert(
    logs.some((l) =>
      /--verify: square\/item001 \(entry \w+\) is corrupt \(value\.json does not match its sha256\)/
        .test(
          l,
        )
    ),
    logs.join("\n"),
  );
  const fixed = JSON.parse(await Deno.readTextFile(file));
  assert(typeof fixed.value === "number");
});

/** Flips one bit of `file` in place, keeping its size. */
async function flipBit(file: string, at = -3) {
  const bytes = await Deno.readFile(file);
  bytes[(bytes.length + at) % bytes.length] ^= 1;
  await Deno.writeFile(file, bytes);
}

Deno.test("a checked read finds a corrupt input: it and its readers are recomputed in a second pass", async () => {
  const clean = await Deno.makeTempDir();
  await runPipeline(spec(clean, 3, { square: { scale: 3 } }), quiet);
  const root = await Deno.makeTempDir();
  const r = await runPipeline(spec(root, 3), quiet);
  const src = r.records.find((x) => x.stage === "source" && x.unit === "item001")!;
  await flipBit(join(root, "source", src.key!, "value.json"));
  const logs: string[] = [];
  // A new scale makes square read its inputs again; a plain rerun reuses and reads nothing.
  const again = await runPipeline(spec(root, 3, { square: { scale: 3 } }), {
    ...quiet,
    log: (l) => logs.push(l),
  });
  assert(again.ok, logs.join("\n"));
  assertEquals(again.passes, 2);
  assertEquals(again.quarantined.map((q) => [q.stage, q.unit, q.found, q.detail]), [
    ["source", "item001", "read", "value.json does not match its sha256"],
  ]);
  assert(
    logs.some((l) =>
      l.startsWith("square/item001: input source/item001 (entry ") &&
      l.includes("value.json does not match its sha256; moved to ")
    ),
    logs.join("\n"),
  );
  const by = Object.fromEntries(again.summaries.map((s) => [s.stage, [s.computed, s.reused]]));
  assertEquals(by, { source: [1, 2], square: [3, 0], total: [1, 0], side: [0, 1] });
  assert(again.records.every((x) => x.outcome === "computed" || x.outcome === "reused"));
  assert(again.readChecks.files >= 6, `${again.readChecks.files} reads checked`);
  const cleanRun = await runPipeline(spec(clean, 3, { square: { scale: 3 } }), quiet);
  assertEquals(outputsOf(again), outputsOf(cleanRun));
  const verified = await runPipeline(spec(root, 3, { square: { scale: 3 } }), {
    ...quiet,
    verify: true,
  });
  assertEquals(verified.quarantined, [], "the repaired store verifies");
});

/** `stage/unit` → output hash of every unit a run used: equal maps mean byte-identical outputs. */
const outputsOf = (r: RunResult) =>
  Object.fromEntries(r.records.map((x) => [`${x.stage}/${x.unit}`, x.outputHash]));

Deno.test("a unit whose stage swallows a failed read check is not committed", async () => {
  const tolerant = {
    ...syntheticStages[1],
    name: "tolerant",
    async run(unit: UnitPlan, io: UnitIO) {
      let value = -1;
      try {
        value = (await io.readInputJson<{ value: number }>(unit.inputs[0], "value.json")).value;
      } catch { /* a stage that falls back on any error */ }
      await io.writeJson("value.json", { value });
    },
  } as AnyStage;
  const root = await Deno.makeTempDir();
  const s = { ...spec(root, 2), stages: [syntheticStages[0], tolerant] };
  const first = await runPipeline(s, quiet);
  const src = first.records.find((x) => x.stage === "source" && x.unit === "item000")!;
  await flipBit(join(root, "source", src.key!, "value.json"));
  await Deno.remove(join(root, "tolerant"), { recursive: true });
  const r = await runPipeline(s, quiet);
  assert(r.ok);
  assertEquals(r.passes, 2);
  for (const [path, text] of Object.entries(await readTree(root, "tolerant"))) {
    if (path.endsWith("value.json")) assert(JSON.parse(text).value >= 0, `${path}: the fallback`);
  }
  assertEquals(outputsOf(r), outputsOf(first));
});

Deno.test("status names the param that changed and propagates staleness downstream only", async () => {
  const root = await Deno.makeTempDir();
  const r = await runPipeline(spec(root, 3), quiet);
  const lock = buildLock("r1", "syn", "h", r.records);
  const fresh = await pipelineStatus(spec(root, 3), lock);
  assert(fresh.every((s) => s.stale === 0));
  const st = await pipelineStatus(spec(root, 3, { square: { scale: 2 } }), lock);
  const text = formatStatus(st);
  assert(/source: fresh/.test(text) && /side: fresh/.test(text), text);
  assert(
    /square: STALE \(0\/3 units fresh\)\n {2}item000, item001, item002: param scale changed: 1 → 2/
      .test(text),
    text,
  );
  assert(/total: STALE[^\n]*\n {2}all: .*input square\/item000 is stale/.test(text), text);
});

Deno.test("status groups many units with their own stale inputs by the stage those come from", async () => {
  const root = await Deno.makeTempDir();
  const r = await runPipeline(spec(root, 12), quiet);
  const lock = buildLock("r1", "syn", "h", r.records);
  const text = formatStatus(await pipelineStatus(spec(root, 12, { source: { salt: "t" } }), lock));
  assert(
    /square: STALE \(0\/12 units fresh\)\n {2}item000, item001, item002, item003 and 8 more: inputs from source are stale\n/
      .test(text),
    text,
  );
});

Deno.test("shards split units exactly and a final plain run completes the DAG", async () => {
  const root = await Deno.makeTempDir();
  const computed = new Map<string, number>();
  for (let i = 0; i < 3; i++) {
    const r = await runPipeline(spec(root, 12), { ...quiet, shard: { index: i, count: 3 } });
    for (const x of r.records.filter((x) => x.outcome === "computed")) {
      const k = `${x.stage}/${x.unit}`;
      computed.set(k, (computed.get(k) ?? 0) + 1);
      assertEquals(shardOf(x.stage, x.unit, 3), i);
    }
  }
  assert([...computed.values()].every((v) => v === 1), "no unit twice");
  resetCalls();
  const final = await runPipeline(spec(root, 12), quiet);
  assert(final.ok);
  const sourceSquare = [...computed.keys()].filter((k) => /^(source|square)\//.test(k)).length;
  assertEquals(
    (calls.source ?? 0) + (calls.square ?? 0),
    24 - sourceSquare,
    "final run computes only what no shard did",
  );
});

Deno.test("gc removes entries no lockfile names", async () => {
  const root = await Deno.makeTempDir();
  const a = await runPipeline(spec(root, 2), quiet);
  await runPipeline(spec(root, 2, { square: { scale: 5 } }), quiet);
  const lock = buildLock("r1", "syn", "h", a.records);
  const g = await collectGarbage(new Store(root), [lock]);
  assertEquals(g.removed.length, 3, "2 square units + 1 total of the second run");
  assert(g.removed.every((x) => /^(square|total)\//.test(x)));
  resetCalls();
  await runPipeline(spec(root, 2), quiet);
  assertEquals(calls, {});
});

function runChild(root: string, n: number, env: Record<string, string> = {}) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tests/fixtures/synthetic_run.ts", root, String(n)],
    env,
    stdout: "piped",
    stderr: "piped",
  });
}

Deno.test("kill -9 mid-stage then rerun gives results byte-identical to an uninterrupted run", async () => {
  const clean = await Deno.makeTempDir();
  await runChild(clean, 8).output();
  const killed = await Deno.makeTempDir();
  const child = runChild(killed, 8, { SYN_DELAY_MS: "150" }).spawn();
  // Wait until some units of the first stage are committed, then kill.
  for (let i = 0; i < 200; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const n = await Array.fromAsync(Deno.readDir(join(killed, "source"))).catch(() => []);
    if (n.filter((e) => !e.name.startsWith(".")).length >= 3) break;
  }
  child.kill("SIGKILL");
  await child.status;
  const partial = (await Array.fromAsync(Deno.readDir(join(killed, "source")))).filter((e) =>
    !e.name.startsWith(".")
  );
  assert(
    partial.length >= 3 && partial.length < 8,
    `killed mid-stage: ${partial.length} of 8 done`,
  );
  const rerun = await runChild(killed, 8).output();
  assert(rerun.success, new TextDecoder().decode(rerun.stderr));
  const summary = JSON.parse(new TextDecoder().decode(rerun.stdout));
  assertEquals(summary[0][0], "source");
  assertEquals(summary[0][2], partial.length, "the rerun reuses every committed unit");
  assertEquals(await readTree(killed), await readTree(clean));
});

Deno.test("two concurrent runs on one store do not corrupt it", async () => {
  const root = await Deno.makeTempDir();
  const [a, b] = await Promise.all([
    runChild(root, 6, { SYN_DELAY_MS: "20" }).output(),
    runChild(root, 6, { SYN_DELAY_MS: "20" }).output(),
  ]);
  assert(a.success && b.success);
  const errs = new TextDecoder().decode(a.stderr) + new TextDecoder().decode(b.stderr);
  assert(/waiting for it to finish/.test(errs), "the second run waits for the first");
  const clean = await Deno.makeTempDir();
  await runChild(clean, 6).output();
  assertEquals(await readTree(root), await readTree(clean));
  const r = await runPipeline(spec(root, 6), { ...quiet, verify: true });
  assert(r.summaries.every((s) => s.computed === 0), "every entry verifies");
});

Deno.test("--force, --from, --only and --dry-run select exactly what they say", async () => {
  const root = await Deno.makeTempDir();
  await runPipeline(spec(root, 3), quiet);
  resetCalls();
  await runPipeline(spec(root, 3), { ...quiet, force: ["square"] });
  assertEquals(
    calls,
    { square: 3 },
    "--force square recomputes square; equal outputs keep total cached",
  );
  resetCalls();
  await runPipeline(spec(root, 3), { ...quiet, from: "square" });
  assertEquals(
    calls,
    { square: 3, total: 1 },
    "--from square recomputes square and what follows it",
  );
  resetCalls();
  const dry = await runPipeline(spec(root, 4), { ...quiet, dryRun: true });
  assertEquals(calls, {}, "a dry run computes nothing");
  assertEquals(
    dry.records.filter((r) => r.outcome === "planned").map((r) => `${r.stage}/${r.unit}`),
    [
      "source/item003",
      "square/item003",
      "total/all",
      "side/all",
    ],
  );
  resetCalls();
  const only = await runPipeline(spec(root, 4, { side: { label: "z" } }), {
    ...quiet,
    only: ["side"],
  });
  assertEquals(calls, {}, "side's new input item003 is not in the store, so side waits");
  assert(only.records.some((r) => r.stage === "source" && r.outcome === "blocked"));
  await runPipeline(spec(root, 4), quiet);
  resetCalls();
  await runPipeline(spec(root, 4, { side: { label: "z" } }), { ...quiet, only: ["side"] });
  assertEquals(calls, { side: 1 });
});

Deno.test("a stage's streams set how many of its units run at once; --jobs overrides it", async () => {
  let inFlight = 0, most = 0;
  const streamed = {
    name: "streamed",
    after: [],
    module: import.meta.url,
    params: { parse: () => ({}) },
    streams: 3,
    plan: ({ config }: { config: { items: string[] } }) =>
      config.items.map((it) => ({ id: it, params: { it }, inputs: [] })),
    async run(_unit: unknown, io: { writeJson(f: string, v: unknown): Promise<void> }) {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      await io.writeJson("done.json", {});
    },
  } as unknown as AnyStage;
  const runWith = async (jobs?: number) => {
    most = 0;
    const r = await runPipeline({
      ...spec(await Deno.makeTempDir(), 7),
      stages: [streamed],
    }, { ...quiet, jobs });
    assert(r.ok);
    return most;
  };
  assertEquals(await runWith(), 3);
  assertEquals(await runWith(1), 1);
  assertEquals(await runWith(5), 5);
});
