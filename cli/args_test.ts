import { assertEquals, assertThrows } from "../tests/assert.ts";
import { intFlag, parse, shardFlag } from "./args.ts";

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
  ]);
  assertEquals(p.verb, "reproduce");
  assertEquals(p.values.config, "c.json");
  assertEquals(p.values.only, ["kpca", "report"]);
  assertEquals(p.values["dry-run"], true);
});

Deno.test("unknown verbs and flags are usage errors that say what is valid", () => {
  assertThrows(() => parse(["reproduc"]), /unknown verb "reproduc"/);
  assertThrows(() => parse(["status", "--bogus"]), /xcompare status: .*bogus/);
  assertThrows(() => parse(["gc", "extra"]), /unexpected argument "extra"/);
});

Deno.test("shard and integer flags are checked", () => {
  assertEquals(shardFlag("1/3"), { index: 1, count: 3 });
  assertThrows(() => shardFlag("3/3"), /0 <= i < n/);
  assertEquals(intFlag({ jobs: "4" }, "jobs", 1), 4);
  assertThrows(() => intFlag({ jobs: "x" }, "jobs", 1), /--jobs: expected a positive integer/);
});
