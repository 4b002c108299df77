import { assert, assertEquals, assertThrows } from "../tests/assert.ts";
import { intFlag, parse, shardFlag, usage, UsageError, verbs } from "./args.ts";

Deno.test("reproduce flags parse, repeatable ones as lists", () => {
  const p = parse([
    "reproduce",
    "--config",
    "c.json",
    "--only",
    "kpca",
    "--only",
    "report",
    "--dry-run",
    "--set",
    "mse-search.beamWidth=4",
  ]);
  assertEquals(p.verb, "reproduce");
  assertEquals(p.values.config, "c.json");
  assertEquals(p.values.only, ["kpca", "report"]);
  assertEquals(p.values.set, ["mse-search.beamWidth=4"]);
  assertEquals(p.values["dry-run"], true);
});

Deno.test("a mistyped verb or flag gets a did-you-mean, not parseArgs' text", () => {
  assertThrows(() => parse(["reproduc"]), /unknown verb "reproduc", did you mean "reproduce"\?/);
  for (const inherited of ["constructor", "toString"]) {
    assertThrows(() => parse([inherited]), new RegExp(`unknown verb "${inherited}"`));
  }
  assertThrows(
    () => parse(["status", "--confg", "x"]),
    /unknown flag --confg, did you mean --config\?/,
  );
  assertThrows(() => parse(["gc", "--dry-rn"]), /unknown flag --dry-rn, did you mean --dry-run\?/);
  const far = assertThrows(() => parse(["status", "--bogus"]));
  assert(/xcompare status: unknown flag --bogus\n/.test((far as Error).message));
  assert(!/To specify a positional/.test((far as Error).message), "no raw parseArgs text");
  assertThrows(() => parse(["status", "--config"]), /--config needs a value \(<FILE>\)/);
  assertThrows(() => parse(["reproduce", "--dry-run=yes"]), /--dry-run takes no value/);
  assertThrows(() => parse(["gc", "extra"]), /unexpected argument "extra"/);
  assertThrows(
    () => parse(["diff", "a", "b", "c"]),
    /unexpected argument "c" \(diff takes A \[B\]\)/,
  );
});

Deno.test("diff takes up to two positional arguments", () => {
  assertEquals(parse(["diff", "run-a", "run-b", "--json"]).positionals, ["run-a", "run-b"]);
  assertEquals(parse(["diff", "configs/default.json", "--set", "kpca.x=1"]).positionals, [
    "configs/default.json",
  ]);
});

Deno.test("every verb's --help lists every flag with a description", () => {
  for (const [verb, spec] of Object.entries(verbs)) {
    const text = usage(verb as keyof typeof verbs);
    for (const [name, flag] of Object.entries(spec.flags)) {
      assert(flag.desc.length > 8, `${verb} --${name} has a description`);
      const line = text.split("\n").find((l) => l.includes(`--${name}`));
      assert(line && line.trimEnd().length > `--${name}`.length + 8, `${verb} --${name}: ${line}`);
    }
  }
  assert(/--jobs <N> +units of every stage computed at once/.test(usage("reproduce")));
});

Deno.test("shard and integer flags are checked", () => {
  assertEquals(shardFlag("1/3"), { index: 1, count: 3 });
  assertThrows(() => shardFlag("3/3"), /0 <= i < n/);
  assertEquals(intFlag({ jobs: "4" }, "jobs", 1), 4);
  assertThrows(() => intFlag({ jobs: "x" }, "jobs", 1), /--jobs: expected a positive integer/);
});

Deno.test("a negative value after a flag is explained, with the --flag=-1 form that passes it", () => {
  assertThrows(
    () => parse(["gc", "--reports", "-1"]),
    /^xcompare gc: --reports -1: a value starting with "-" reads as a flag; write --reports=-1\n/,
  );
  assertThrows(
    () => parse(["grad-check", "--threshold", "-.5"]),
    /--threshold -\.5: a value starting with "-" reads as a flag; write --threshold=-\.5/,
  );
  assertEquals(parse(["gc", "--reports=-1"]).values.reports, "-1", "reaches the verb's own check");
  assertThrows(() => parse(["gc", "--reports"]), /--reports needs a value \(<KEEP>\)/);
});

Deno.test("a single-value flag given twice is a usage error, a repeatable one is not", () => {
  const e = assertThrows(
    () => parse(["status", "-c", "a.json", "--config", "b.json"]),
    "--config given twice",
  );
  assert(e instanceof UsageError);
  assertEquals(parse(["reproduce", "--only", "kpca", "--only", "report"]).values.only, [
    "kpca",
    "report",
  ]);
});
