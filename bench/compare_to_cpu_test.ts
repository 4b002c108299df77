import { assert, assertEquals } from "../tests/assert.ts";
import { compareResults, type Expectation } from "../report/compare.ts";
import { acrossProviders } from "./compare_to_cpu.ts";

const ROOT = new URL("..", import.meta.url).pathname;

Deno.test("a GPU run's results compare with the CPU's, runtime fields aside, numbers not", async () => {
  const expected: Expectation = JSON.parse(
    await Deno.readTextFile(`${ROOT}reports/expected/default.json`),
  );
  const gpu = structuredClone(expected.results) as {
    input: {
      provenance: { execution_provider: string; config: { runtime: Record<string, unknown> } };
      table1: { images: number }[];
    };
  };
  gpu.input.provenance.execution_provider = "cuda";
  gpu.input.provenance.config.runtime.requireProvider = "cuda";
  const tol = acrossProviders(expected.tolerances);
  assertEquals(compareResults(expected.results, gpu, tol), []);
  // The plain comparison sees the provider that changed (requireProvider, a key the expectation
  // lacks, is a note there, not a difference); a count that moved is a difference either way.
  const plain = compareResults(expected.results, gpu, expected.tolerances);
  assertEquals(plain.map((d) => d.path), ["$.input.provenance.execution_provider"]);
  gpu.input.table1[0].images += 1;
  const diffs = compareResults(expected.results, gpu, tol);
  assertEquals(diffs.length, 1);
  assert(/table1\[0\]\.images/.test(diffs[0].path), diffs[0].path);
});
