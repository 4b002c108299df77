/**
 * Extra attribution methods, cheaper than iGOS++, for cross-testing beyond the paper: plain
 * gradient saliency (one gradient per image), and RISE and occlusion, which need only the Scorer
 * (forward passes through the composition graph). Each returns a maskSize x maskSize heatmap,
 * high = salient, so it can go straight into insertion/deletion.
 */
import { deriveSeed, Rng } from "../lib/rng.ts";
import type { GradientModel, Scorer, ScoreRequest } from "./scorer.ts";

export interface SaliencyRequest {
  /** Image index known to the scorer. */
  image: number;
  cls: number;
}

export interface GradientSaliencyItem {
  /** Preprocessed image, normalised, [C, H, W]. */
  image: Float32Array;
  cls: number;
}

export interface GradientSaliencyOptions {
  maskSize: number;
  maxRowsPerCall: number;
}

export const gradientDefaults: Readonly<GradientSaliencyOptions> = Object.freeze({
  maskSize: 28,
  maxRowsPerCall: 64,
});

export interface RiseOptions {
  maskSize: number;
  /** Side of the random binary grid. */
  cells: number;
  /** Number of random masks. */
  masks: number;
  /** Probability that a grid cell is kept (revealed). */
  keep: number;
  /** The same masks serve every image: deriveSeed(seed, "rise"). */
  seed: number;
}

export const riseDefaults: Readonly<RiseOptions> = Object.freeze({
  maskSize: 28,
  cells: 7,
  masks: 2000,
  keep: 0.5,
  seed: 0,
});

export interface OcclusionOptions {
  maskSize: number;
  /** Side of the occluding square, in cells. */
  window: number;
  /** Step between windows, in cells (the last window always touches the far edge). */
  stride: number;
}

export const occlusionDefaults: Readonly<OcclusionOptions> = Object.freeze({
  maskSize: 28,
  window: 4,
  stride: 2,
});

function checkInt(where: string, key: string, v: number, min = 1) {
  if (!Number.isInteger(v) || v < min) {
    throw new Error(`${where} options: ${key} must be an integer >= ${min}, got ${v}`);
  }
}

/** Mean of a [h, w] map over the cells of a g x g grid (cell of pixel y: floor(y·g/h)). */
export function poolToGrid(map: ArrayLike<number>, h: number, w: number, g: number): Float32Array {
  const sum = new Float64Array(g * g), count = new Float64Array(g * g);
  for (let y = 0; y < h; y++) {
    const gy = Math.min(g - 1, Math.floor((y * g) / h));
    for (let x = 0; x < w; x++) {
      const cell = gy * g + Math.min(g - 1, Math.floor((x * g) / w));
      sum[cell] += map[y * w + x];
      count[cell]++;
    }
  }
  return Float32Array.from(sum, (s, i) => (count[i] ? s / count[i] : 0));
}

/** |∂p_c/∂x| summed over channels, pooled to the mask grid. */
export async function gradientSaliency(
  items: readonly GradientSaliencyItem[],
  model: GradientModel,
  options: Partial<GradientSaliencyOptions> = {},
): Promise<Float32Array[]> {
  const o = { ...gradientDefaults, ...options };
  checkInt("gradientSaliency", "maskSize", o.maskSize);
  checkInt("gradientSaliency", "maxRowsPerCall", o.maxRowsPerCall);
  const [c, h, w] = model.inputShape;
  const chw = c * h * w, hw = h * w;
  items.forEach((it, i) => {
    if (it.image.length !== chw) {
      throw new Error(
        `gradientSaliency: items[${i}].image has length ${it.image.length}, not ${chw}`,
      );
    }
  });
  const out: Float32Array[] = [];
  for (let start = 0; start < items.length; start += o.maxRowsPerCall) {
    const chunk = items.slice(start, start + o.maxRowsPerCall);
    const x = new Float32Array(chunk.length * chw);
    chunk.forEach((it, i) => x.set(it.image, i * chw));
    const cls = Int32Array.from(chunk, (it) => it.cls);
    const { grad } = await model.probsAndGrad(x, chunk.length, cls);
    chunk.forEach((_, i) => {
      const map = new Float64Array(hw);
      for (let ch = 0; ch < c; ch++) {
        const o0 = i * chw + ch * hw;
        for (let p = 0; p < hw; p++) map[p] += Math.abs(grad[o0 + p]);
      }
      out.push(poolToGrid(map, h, w, o.maskSize));
    });
  }
  return out;
}

/**
 * RISE masks at mask resolution: a random binary `cells` grid, bilinearly upsampled (half-pixel
 * centres, as skimage's resize in the reference) to (cells + 1)·ceil(maskSize/cells), then
 * cropped at a random shift.
 */
export function riseMasks(options: Partial<RiseOptions> = {}): Float32Array[] {
  const o = { ...riseDefaults, ...options };
  checkInt("rise", "maskSize", o.maskSize);
  checkInt("rise", "cells", o.cells);
  checkInt("rise", "masks", o.masks);
  if (!(o.keep > 0 && o.keep <= 1)) throw new Error(`rise options: keep must be in (0, 1]`);
  const rng = new Rng(deriveSeed(o.seed, "rise"));
  const g = o.maskSize, s = o.cells;
  const cell = Math.ceil(g / s);
  const up = (s + 1) * cell;
  // Bilinear source coordinates of the upsampled axis (half-pixel convention, clamped).
  const i0 = new Int32Array(up), i1 = new Int32Array(up), f = new Float64Array(up);
  for (let y = 0; y < up; y++) {
    const src = Math.min(s - 1, Math.max(0, ((y + 0.5) * s) / up - 0.5));
    i0[y] = Math.floor(src);
    i1[y] = Math.min(s - 1, i0[y] + 1);
    f[y] = src - i0[y];
  }
  const masks: Float32Array[] = [];
  const grid = new Float64Array(s * s);
  for (let n = 0; n < o.masks; n++) {
    for (let k = 0; k < grid.length; k++) grid[k] = rng.next() < o.keep ? 1 : 0;
    const dy = rng.int(cell), dx = rng.int(cell);
    const m = new Float32Array(g * g);
    for (let y = 0; y < g; y++) {
      const Y = y + dy;
      for (let x = 0; x < g; x++) {
        const X = x + dx;
        const top = grid[i0[Y] * s + i0[X]] * (1 - f[X]) + grid[i0[Y] * s + i1[X]] * f[X];
        const bot = grid[i1[Y] * s + i0[X]] * (1 - f[X]) + grid[i1[Y] * s + i1[X]] * f[X];
        m[y * g + x] = top * (1 - f[Y]) + bot * f[Y];
      }
    }
    masks.push(m);
  }
  return masks;
}

/** RISE: saliency = Σ_i p(x(M_i)) · M_i / (N · keep); one scorer call for all images. */
export async function rise(
  requests: readonly SaliencyRequest[],
  scorer: Scorer,
  options: Partial<RiseOptions> = {},
): Promise<Float32Array[]> {
  const o = { ...riseDefaults, ...options };
  const masks = riseMasks(o);
  const batch: ScoreRequest[] = [];
  for (const r of requests) {
    for (const mask of masks) batch.push({ image: r.image, cls: r.cls, mask });
  }
  const p = batch.length ? await scorer.score(batch) : new Float32Array(0);
  if (p.length !== batch.length) {
    throw new Error(`rise: scorer returned ${p.length} scores for ${batch.length} masks`);
  }
  const g2 = o.maskSize * o.maskSize;
  return requests.map((_, r) => {
    const acc = new Float64Array(g2);
    masks.forEach((m, i) => {
      const w = p[r * masks.length + i];
      for (let k = 0; k < g2; k++) acc[k] += w * m[k];
    });
    return Float32Array.from(acc, (v) => v / (masks.length * o.keep));
  });
}

/** Window origins 0, stride, ... and always g − window. */
function origins(g: number, window: number, stride: number): number[] {
  const out: number[] = [];
  for (let y = 0; y + window <= g; y += stride) out.push(y);
  if (out[out.length - 1] !== g - window) out.push(g - window);
  return out;
}

/**
 * Occlusion: each cell's saliency is the mean drop p(I) − p(window shows B) over the windows
 * that cover it. One scorer call for all images.
 */
export async function occlusion(
  requests: readonly SaliencyRequest[],
  scorer: Scorer,
  options: Partial<OcclusionOptions> = {},
): Promise<Float32Array[]> {
  const o = { ...occlusionDefaults, ...options };
  checkInt("occlusion", "maskSize", o.maskSize);
  checkInt("occlusion", "window", o.window);
  checkInt("occlusion", "stride", o.stride);
  const g = o.maskSize;
  if (o.window > g) throw new Error(`occlusion options: window ${o.window} exceeds maskSize ${g}`);
  const pos = origins(g, o.window, o.stride);
  const windows: Float32Array[] = [];
  for (const y0 of pos) {
    for (const x0 of pos) {
      const m = new Float32Array(g * g).fill(1);
      for (let y = y0; y < y0 + o.window; y++) m.fill(0, y * g + x0, y * g + x0 + o.window);
      windows.push(m);
    }
  }
  const full = new Float32Array(g * g).fill(1);
  const per = windows.length + 1;
  const batch: ScoreRequest[] = [];
  for (const r of requests) {
    batch.push({ image: r.image, cls: r.cls, mask: full });
    for (const mask of windows) batch.push({ image: r.image, cls: r.cls, mask });
  }
  const p = batch.length ? await scorer.score(batch) : new Float32Array(0);
  if (p.length !== batch.length) {
    throw new Error(`occlusion: scorer returned ${p.length} scores for ${batch.length} masks`);
  }
  return requests.map((_, r) => {
    const base = p[r * per];
    const sum = new Float64Array(g * g), count = new Float64Array(g * g);
    windows.forEach((m, i) => {
      const drop = base - p[r * per + 1 + i];
      for (let k = 0; k < m.length; k++) {
        if (m[k] === 0) (sum[k] += drop), count[k]++;
      }
    });
    return Float32Array.from(sum, (s, k) => (count[k] ? s / count[k] : 0));
  });
}
