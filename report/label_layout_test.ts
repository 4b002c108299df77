import { assert, assertEquals } from "../tests/assert.ts";
import { defaults, layoutLabels } from "./label_layout.ts";

const EXPECTED = new URL("../reports/expected/default.json", import.meta.url);

/** Every label's box in pixels, recomputed from its centre in data units. */
function boxes(
  layout: ReturnType<typeof layoutLabels>,
  width: number,
  height: number,
) {
  const px = (x: number) =>
    ((x - layout.xDomain[0]) / (layout.xDomain[1] - layout.xDomain[0])) * width;
  const py = (y: number) =>
    height - ((y - layout.yDomain[0]) / (layout.yDomain[1] - layout.yDomain[0])) * height;
  return layout.labels.map((l) => {
    const w = l.text.length * defaults.charWidth + 2, h = defaults.fontSize + 2;
    return {
      x0: px(l.lx) - w / 2,
      x1: px(l.lx) + w / 2,
      y0: py(l.ly) - h / 2,
      y1: py(l.ly) + h / 2,
    };
  });
}

const overlap = (a: { x0: number; x1: number; y0: number; y1: number }, b: typeof a) =>
  Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0) > 0.5 &&
  Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0) > 0.5;

Deno.test("the default's landscape labels overlap no other label and no point", async () => {
  const points = JSON.parse(await Deno.readTextFile(EXPECTED)).results.input.figures.landscape
    .points as { model: string; x: number; y: number }[];
  const [width, height] = [420, 280];
  const layout = layoutLabels(points.map((p) => ({ x: p.x, y: p.y, text: p.model })), {
    width,
    height,
  });
  assertEquals(layout.overlaps, 0);
  const b = boxes(layout, width, height);
  for (let i = 0; i < b.length; i++) {
    for (let j = i + 1; j < b.length; j++) {
      assert(!overlap(b[i], b[j]), `${points[i].model} and ${points[j].model} overlap`);
    }
    assert(b[i].x0 >= -0.5 && b[i].x1 <= width + 0.5, `${points[i].model} leaves the chart`);
  }
});

Deno.test("coincident points get labels apart, the farther ones with leader lines", () => {
  const names = ["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta", "iota", "kappa"];
  const pts = names.map((text) => ({ x: 1, y: 1, text }));
  const layout = layoutLabels([...pts, { x: 0, y: 0, text: "far" }, { x: 2, y: 2, text: "x" }]);
  assertEquals(layout.overlaps, 0);
  const b = boxes(layout, defaults.width, defaults.height);
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) assert(!overlap(b[i], b[j]), `${i}, ${j} overlap`);
  }
  assert(layout.labels.some((l) => l.leader), "a label moved away has a leader line");
  assert(!layout.labels[10].leader, "a lone point keeps its label beside it");
});
