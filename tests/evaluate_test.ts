/** The preprocessing is right: MobileNetV2 int8 reaches its expected accuracy on the real sample. */
import { assert } from "./assert.ts";
import { evaluate } from "../runtime/evaluate.ts";

const shared = "../shared";
const present = (() => {
  try {
    Deno.statSync(`${shared}/models/mobilenetv2-12-int8.onnx`);
    return true;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "evaluate: MobileNetV2 int8 on ../shared/data/imagenet-sample reaches top-1 >= 70%",
  ignore: !present,
  async fn() {
    const r = await evaluate(
      `${shared}/models/mobilenetv2-12-int8.onnx`,
      `${shared}/data/imagenet-sample/images`,
      `${shared}/data/imagenet-sample/labels.tsv`,
    );
    console.log(`top-1 ${r.top1.toFixed(1)}%, top-5 ${r.top5.toFixed(1)}% on ${r.labelled} images`);
    assert(r.labelled === 300, `labelled ${r.labelled}`);
    assert(r.top1 >= 70, `top-1 ${r.top1}`);
    assert(r.top5 >= 85, `top-5 ${r.top5}`);
  },
});
if (!present) {
  console.log("evaluate_test: ../shared is missing; skipping the MobileNetV2 accuracy test");
}
