import assert from "node:assert/strict";
import { ReportInputError, validateReportInput } from "./input.ts";

const FIXTURE = new URL("../tests/fixtures/report_input.json", import.meta.url);

Deno.test("the fixture is a valid ReportInput", async () => {
  const input = validateReportInput(JSON.parse(await Deno.readTextFile(FIXTURE)));
  assert.ok(input.table1!.length >= 4);
  assert.ok(input.table1!.every((r) => r.per_image?.tree["0.5"]?.length === r.images));
});

Deno.test("validation errors name the key at fault", () => {
  const run = { id: "r", config: "c", created: "t" };
  assert.throws(() => validateReportInput([]), /report input: \$: expected an object/);
  assert.throws(() => validateReportInput({ run: { id: "r" } }), /\$\.run\.config/);
  const iv = { mean: 1, lo: 0, hi: 2 };
  const row = { model: "m", images: 2, mse_count: iv, mse_size: iv, tree: { "0.5": iv } };
  assert.throws(
    () => validateReportInput({ run, table1: [row, { ...row, mse_size: { mean: 1 } }] }),
    (e: Error) => e instanceof ReportInputError && /\$\.table1\[1\]\.mse_size\.lo/.test(e.message),
  );
  const per = { mse_count: [1, 2], mse_size: [1, null], tree: { "0.5": [1] } };
  assert.throws(
    () => validateReportInput({ run, table1: [{ ...row, per_image: per }] }),
    /\$\.table1\[0\]\.per_image\.tree\.0\.5: length 1 differs/,
  );
  const ok = { ...per, tree: { "0.5": [1, 2] } };
  assert.doesNotThrow(() => validateReportInput({ run, table1: [{ ...row, per_image: ok }] }));
  assert.throws(
    () => validateReportInput({ run, provenance: { models: [{ id: "m" }] } }),
    /\$\.provenance\.models\[0\]\.group/,
  );
  const v = { id: "v", finding: "f", statement: "s", sentence: "x", rule: "r", outcome: "yes" };
  assert.throws(
    () => validateReportInput({ run, verdicts: [v] }),
    /\$\.verdicts\[0\]\.outcome: expected one of replicates, opposite, no effect, inconclusive/,
  );
});

Deno.test("warnings and the explorer's images are checked", () => {
  const run = { id: "r", config: "c", created: "t" };
  assert.throws(
    () => validateReportInput({ run, warnings: [{ source: "kpca/all" }] }),
    /\$\.warnings\[0\]\.message/,
  );
  const image = { id: "a", image: "data:image/png;base64,AA==", baseline: "x.png" };
  assert.throws(
    () => validateReportInput({ run, explorer: { images: [image] } }),
    /\$\.explorer\.images\[0\]\.baseline: expected a PNG data URI/,
  );
  assert.doesNotThrow(() =>
    validateReportInput({ run, explorer: { images: [{ ...image, baseline: image.image }] } })
  );
});
