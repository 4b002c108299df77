import { assert, assertEquals, assertThrows } from "../tests/assert.ts";
import { UsageError } from "./args.ts";
import { applyOverrides, checkOverrides, parseOverrides } from "./overrides.ts";
import { int, obj, oneOf, optional } from "../lib/schema.ts";
import { stages as realStages } from "../stages/index.ts";

const stages = [
  {
    name: "mse-search",
    params: obj({
      beamWidth: optional(int({ min: 1 }), 5),
      candidates: optional(oneOf("all", "igos-topq"), "all"),
      igos: optional(obj({ steps: optional(int({ min: 1 }), 20) }), { steps: 20 }),
    }),
  },
  { name: "kpca", params: obj({ seed: optional(int({ min: 0 }), 0) }) },
];

Deno.test("--set values are JSON when they parse, else strings", () => {
  const o = parseOverrides([
    "mse-search.beamWidth=4",
    "mse-search.candidates=igos-topq",
    'kpca.seed="7"',
    "mse-search.igos.steps=10",
  ]);
  assertEquals(o.map((x) => x.value), [4, "igos-topq", "7", 10]);
  assertEquals(o[3].path, ["igos", "steps"]);
  assertEquals(o.map((x) => x.text), [
    "mse-search.beamWidth=4",
    'mse-search.candidates="igos-topq"',
    'kpca.seed="7"',
    "mse-search.igos.steps=10",
  ]);
  assertThrows(
    () => parseOverrides(["beamWidth=4"]),
    /--set beamWidth=4: expected STAGE.PARAM=VALUE/,
  );
  assertThrows(() => parseOverrides(["mse-search.beamWidth"]), /expected STAGE.PARAM=VALUE/);
});

Deno.test("--set is applied to a copy of the raw config's stage blocks", () => {
  const raw = { name: "x", stages: { "mse-search": { beamWidth: 2 } } };
  const out = applyOverrides(raw, parseOverrides(["mse-search.beamWidth=4", "kpca.seed=3"]));
  assertEquals(out, { name: "x", stages: { "mse-search": { beamWidth: 4 }, kpca: { seed: 3 } } });
  assertEquals(raw.stages["mse-search"].beamWidth, 2, "the original is untouched");
  assertThrows(
    () => applyOverrides(raw, parseOverrides(["mse-search.beamWidth.x=1"])),
    /--set mse-search.beamWidth.x=1: mse-search.beamWidth is 2, not an object/,
  );
});

Deno.test("--set errors name --set, the param and the nearest valid key or stage", () => {
  const check = (sets: string[], before: unknown = { stages: {} }) => {
    const o = parseOverrides(sets);
    checkOverrides(o, stages, before, applyOverrides(before, o), "c.json");
  };
  check(["mse-search.beamWidth=4", "mse-search.igos.steps=3"]);
  // Each is the command line's mistake: a UsageError, so the CLI exits 2.
  const usage = (sets: string[], message: RegExp) =>
    assert(assertThrows(() => check(sets), message) instanceof UsageError, sets.join(" "));
  usage(
    ["mse-search.beamWidht=4"],
    /^--set mse-search\.beamWidht: unknown key, did you mean "beamWidth"\?$/,
  );
  usage(
    ["mse-search.beamWidth=wide"],
    /^--set mse-search\.beamWidth: expected an integer in \[1, inf\], got string "wide"$/,
  );
  usage(
    ["mse-serch.beamWidth=4"],
    /^--set mse-serch\.beamWidth=4: unknown stage "mse-serch", did you mean "mse-search"\?$/,
  );
  // Names every object inherits are unknown params, not known ones nor the prototype.
  for (const key of ["constructor", "toString", "__proto__"]) {
    usage([`mse-search.${key}=1`], new RegExp(`^--set mse-search\\.${key}: unknown key`));
    usage(
      [`mse-search.igos.${key}=1`],
      new RegExp(`^--set mse-search\\.igos\\.${key}: unknown key`),
    );
  }
  usage(["mse-search.__proto__.polluted=1"], /^--set mse-search\.__proto__: unknown key/);
  assertEquals(({} as Record<string, unknown>).polluted, undefined, "Object.prototype untouched");
  // A fault in the file itself is reported against the file, not against --set.
  const fileFault = assertThrows(
    () => check(["mse-search.beamWidth=4"], { stages: { "mse-search": { candidates: "most" } } }),
    /c\.json: config\.stages\.mse-search\.candidates: expected one of/,
  );
  assert(!(fileFault instanceof UsageError), "a fault in the file is not a usage error");
});

Deno.test("report.bootstrap has an upper bound, and the error names the key", () => {
  const report = realStages.filter((s) => s.name === "report");
  const check = (value: number) => {
    const o = parseOverrides([`report.bootstrap=${value}`]);
    checkOverrides(o, report, { stages: {} }, applyOverrides({ stages: {} }, o), "c.json");
  };
  check(100_000);
  assertThrows(
    () => check(1e9),
    /^--set report\.bootstrap: expected an integer in \[100, 100000\], got 1000000000$/,
  );
});
