/**
 * One look per model across every figure: models grouped by family (their display group, in the
 * order the families first appear), a hue per family, a shade and a dash per member, a point shape
 * per family. Sixteen models stay apart where ten categorical colours repeat, and legends list
 * them family by family (METHODS §11).
 */
import type { ModelInfo } from "./input.ts";

/** Dark to light, ColorBrewer sequential ramps: one per family, reused past eight families. */
const RAMPS = [
  ["#08306b", "#08519c", "#2171b5", "#4292c6", "#6baed6", "#9ecae1"], // blues
  ["#7f2704", "#a63603", "#d94801", "#f16913", "#fd8d3c", "#fdae6b"], // oranges
  ["#00441b", "#006d2c", "#238b45", "#41ab5d", "#74c476", "#a1d99b"], // greens
  ["#3f007d", "#54278f", "#6a51a3", "#807dba", "#9e9ac8", "#bcbddc"], // purples
  ["#67000d", "#a50f15", "#cb181d", "#ef3b2c", "#fb6a4a", "#fc9272"], // reds
  ["#014636", "#016c59", "#02818a", "#3690c0", "#67a9cf", "#a6bddb"], // teals
  ["#662506", "#993404", "#cc4c02", "#ec7014", "#fe9929", "#fec44f"], // browns
  ["#000000", "#252525", "#525252", "#737373", "#969696", "#bdbdbd"], // greys
];

/** Stroke dashes by member within a family ([] = solid). */
const DASHES: number[][] = [[], [6, 3], [2, 2], [8, 3, 2, 3], [1, 3], [12, 4]];

const SHAPES = [
  "circle",
  "square",
  "triangle-up",
  "diamond",
  "cross",
  "triangle-down",
  "triangle-left",
  "triangle-right",
];

export interface ModelStyle {
  id: string;
  family: string;
  color: string;
  /** Vega-Lite strokeDash; [1, 0] is solid (an empty array is not a valid range entry). */
  dash: number[];
  shape: string;
  /** The family's own colour (its middle shade), for marks coloured by family. */
  familyColor: string;
}

/** Families in order of first appearance; members in the given order. */
export function familyOrder(models: readonly Pick<ModelInfo, "id" | "group">[]): string[] {
  const families: string[] = [];
  for (const m of models) if (!families.includes(m.group)) families.push(m.group);
  return families;
}

/**
 * Styles for `models`, sorted family by family (the legend order). Ids not among `models` (a
 * figure that names a model provenance lacks) are appended as a family of their own.
 */
export function modelStyles(
  models: readonly Pick<ModelInfo, "id" | "group">[],
  extraIds: readonly string[] = [],
): ModelStyle[] {
  const known = new Set(models.map((m) => m.id));
  const all = [
    ...models,
    ...[...new Set(extraIds)].filter((id) => !known.has(id)).map((id) => ({ id, group: "n/a" })),
  ];
  const families = familyOrder(all);
  const out: ModelStyle[] = [];
  families.forEach((family, fi) => {
    const ramp = RAMPS[fi % RAMPS.length];
    const members = all.filter((m) => m.group === family);
    const k = members.length;
    members.forEach((m, i) => {
      // Shades spread over the ramp: one member takes the middle, several span dark to light.
      const shade = k === 1 ? 2 : Math.round((i * (ramp.length - 1)) / (k - 1));
      const dash = DASHES[i % DASHES.length];
      out.push({
        id: m.id,
        family,
        color: ramp[shade],
        dash: dash.length ? dash : [1, 0],
        shape: SHAPES[fi % SHAPES.length],
        familyColor: ramp[2],
      });
    });
  });
  return out;
}

/** Vega-Lite scales that give each model its style, listed in family order. */
export function modelScales(styles: readonly ModelStyle[]) {
  const domain = styles.map((s) => s.id);
  return {
    color: { domain, range: styles.map((s) => s.color) },
    strokeDash: { domain, range: styles.map((s) => s.dash) },
    shape: { domain, range: styles.map((s) => s.shape) },
  };
}

/** Vega-Lite scales by family: a colour and a shape per family, in family order. */
export function familyScales(styles: readonly ModelStyle[]) {
  const families = [...new Set(styles.map((s) => s.family))];
  const first = (f: string) => styles.find((s) => s.family === f)!;
  return {
    color: { domain: families, range: families.map((f) => first(f).familyColor) },
    shape: { domain: families, range: families.map((f) => first(f).shape) },
  };
}
