import { assert } from "../tests/assert.ts";
import { loadPipeline } from "./app.ts";
import { wavesFor } from "./jobs.ts";

Deno.test("without the models, waves are sized from the stages' estimates: kpca and the report stay for the final job", async () => {
  const root = new URL("..", import.meta.url).pathname;
  const path = `${root}configs/paper.json`;
  const loaded = await loadPipeline(path);
  const original = console.error;
  console.error = () => {};
  let waves;
  try {
    waves = await wavesFor(loaded, path, 8);
  } finally {
    console.error = original;
  }
  const staged = waves.flatMap((w) => w.stages);
  assert(!staged.includes("kpca") && !staged.includes("report"), staged.join(", "));
  assert(waves.every((w) => w.tasks === 8), JSON.stringify(waves));
});
