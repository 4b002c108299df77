/**
 * Point labels that do not overlap (the landscape, Fig. 6): Vega-Lite places text at a fixed offset,
 * so close models' names pile up. Greedy placement in pixel space: the most crowded points first,
 * each label at the free candidate position nearest its point, moving out in rings; a label set
 * away from its point gets a leader line.
 */

export interface LabelPoint {
  x: number;
  y: number;
  text: string;
}

export interface LabelOptions {
  width: number;
  height: number;
  /** Text height and mean character width in pixels (10 px DejaVu Sans ≈ 6 px a character). */
  fontSize: number;
  charWidth: number;
  /** Radius kept clear around every point. */
  pointRadius: number;
  /** Padding of the data domain, as a fraction of its range on each side. */
  padding: number;
}

export const defaults: LabelOptions = {
  width: 420,
  height: 280,
  fontSize: 10,
  charWidth: 6,
  pointRadius: 5,
  padding: 0.12,
};

export interface PlacedLabel {
  text: string;
  /** The label's centre, in data units. */
  lx: number;
  ly: number;
  /** Whether the label sits away from its point (draw a leader line). */
  leader: boolean;
}

export interface LabelLayout {
  xDomain: [number, number];
  yDomain: [number, number];
  labels: PlacedLabel[];
  /** Labels that overlap another label or point even at the best position found. */
  overlaps: number;
}

interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

const area = (a: Box, b: Box) =>
  Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0)) *
  Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0));

function domain(values: number[], padding: number): [number, number] {
  let lo = Math.min(...values), hi = Math.max(...values);
  if (!(hi > lo)) [lo, hi] = [lo - 1, hi + 1];
  const pad = (hi - lo) * padding;
  return [lo - pad, hi + pad];
}

/** Label positions for `points` on a chart of the given size, with the domains they assume. */
export function layoutLabels(
  points: readonly LabelPoint[],
  options: Partial<LabelOptions> = {},
): LabelLayout {
  const o = { ...defaults, ...options };
  if (!points.length) return { xDomain: [0, 1], yDomain: [0, 1], labels: [], overlaps: 0 };
  const xDomain = domain(points.map((p) => p.x), o.padding);
  const yDomain = domain(points.map((p) => p.y), o.padding);
  const px = (x: number) => ((x - xDomain[0]) / (xDomain[1] - xDomain[0])) * o.width;
  const py = (y: number) => o.height - ((y - yDomain[0]) / (yDomain[1] - yDomain[0])) * o.height;
  const dx = (p: number) => xDomain[0] + (p / o.width) * (xDomain[1] - xDomain[0]);
  const dy = (p: number) => yDomain[0] + ((o.height - p) / o.height) * (yDomain[1] - yDomain[0]);
  const pts = points.map((p) => ({ ...p, px: px(p.x), py: py(p.y) }));
  const r = o.pointRadius;
  const pointBoxes: Box[] = pts.map((p) => ({
    x0: p.px - r,
    y0: p.py - r,
    x1: p.px + r,
    y1: p.py + r,
  }));
  // Most crowded first: they have the fewest good places left.
  const crowd = pts.map((p) => pts.filter((q) => Math.hypot(q.px - p.px, q.py - p.py) < 60).length);
  const order = pts.map((_, i) => i).sort((a, b) => crowd[b] - crowd[a] || a - b);
  const placed: Box[] = [];
  const labels: PlacedLabel[] = new Array(pts.length);
  let overlaps = 0;
  const directions = [
    [1, 0],
    [-1, 0],
    [0, -1],
    [0, 1],
    [1, -1],
    [-1, -1],
    [1, 1],
    [-1, 1],
  ];
  for (const i of order) {
    const p = pts[i];
    const w = p.text.length * o.charWidth + 2, h = o.fontSize + 2;
    let best: { box: Box; cost: number; ring: number } | null = null;
    for (let ring = 0; ring < 6 && !(best && best.cost === 0); ring++) {
      const gap = r + 2 + ring * 9;
      for (const [ux, uy] of directions) {
        // The label's near edge sits `gap` from the point in direction (ux, uy).
        const cx = p.px + ux * (gap + w / 2);
        const cy = p.py + uy * (gap + h / 2);
        const box = { x0: cx - w / 2, y0: cy - h / 2, x1: cx + w / 2, y1: cy + h / 2 };
        let cost = 0;
        for (const b of placed) cost += area(box, b);
        for (const b of pointBoxes) cost += area(box, b);
        const out = area(box, { x0: 0, y0: 0, x1: o.width, y1: o.height });
        cost += (w * h - out) * 4;
        if (!best || cost < best.cost) best = { box, cost, ring };
        if (cost === 0) break;
      }
    }
    const b = best!;
    if (b.cost > 0) overlaps++;
    placed.push(b.box);
    labels[i] = {
      text: p.text,
      lx: dx((b.box.x0 + b.box.x1) / 2),
      ly: dy((b.box.y0 + b.box.y1) / 2),
      leader: b.ring > 0,
    };
  }
  return { xDomain, yDomain, labels, overlaps };
}
