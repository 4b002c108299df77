import assert from "node:assert/strict";
import { buildFigures } from "./figures.ts";
import { reportInputWithMethod as withMethod } from "../tests/fixtures/report_input_with_method.ts";

Deno.test("Fig. 7 states the heatmap method's own parameters: occlusion has no iterations", async () => {
  const caption = async (method: string) =>
    (await buildFigures(withMethod(method))).find((f) => f.name === "fig7-cross-test")!.caption;
  const occ = await caption("occlusion");
  assert.match(occ, /occlusion heatmap \(28x28; a 4x4-cell window/);
  assert.doesNotMatch(occ, /iterations|integration steps/);
  assert.match(
    await caption("igos++"),
    /iGOS\+\+ heatmap \(28x28; 10 iterations of 10 integration steps\)/,
  );
  assert.match(await caption("rise"), /RISE heatmap \(28x28; 2000 random masks/);
});

Deno.test("Fig. 5's caption says the images once", async () => {
  const input = withMethod("igos++");
  const fig5 = (await buildFigures(input)).find((f) => f.name === "fig5-channels")!.caption;
  const n = input.accuracy!.models[0].images!;
  assert.match(fig5, new RegExp(`averaged over ${n} images, sorted`));
  assert.doesNotMatch(fig5, /images images/);
  delete input.accuracy;
  const none = (await buildFigures(input)).find((f) => f.name === "fig5-channels")!.caption;
  assert.match(none, /averaged over the images, sorted/);
});
