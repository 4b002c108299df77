/**
 * Cross-testing matrices (METHODS §5): heatmaps of model A scored by insertion/deletion on model
 * B. Scores are normalised per evaluated model so that models of different confidence compare;
 * the matrices are ordered pairs and are never symmetrised here (only KPCA symmetrises).
 */
import { normaliseScore } from "./insertion.ts";

/** One heatmap of `source` on one image, evaluated on `tested`. */
export interface CrossRecord {
  source: string;
  tested: string;
  image: string | number;
  insertionAuc: number;
  deletionAuc?: number;
}

/** Per evaluated model: t = mean top-1 confidence on the originals, b = on blurred images. */
export interface Calibration {
  top: number;
  blurred: number;
}

export interface CrossMatrixOptions {
  /** Model order of rows/columns; defaults to first appearance in the records. */
  models?: string[];
  /** Leave NaN where a pair has no records instead of failing. */
  allowMissing: boolean;
}

export const defaults: Readonly<CrossMatrixOptions> = Object.freeze({ allowMissing: false });

export interface CrossMatrix {
  models: string[];
  /** insertion[a][b] = mean over images of the normalised insertion AUC of a's heatmaps on b. */
  insertion: number[][];
  /** The same for deletion AUCs (lower is better); null when records carry none. */
  deletion: number[][] | null;
  /** Images per pair. */
  counts: number[][];
  /**
   * The normalised insertion AUCs behind `insertion`, per image: `insertion[a][b][i]` for image
   * `images[i]` (order of first appearance), NaN where the pair lacks that image. The verdicts
   * resample these images (METHODS §7).
   */
  perImage: { images: (string | number)[]; insertion: number[][][] };
}

/** S[A][B] (and its deletion analog) from per (A, B, image) AUCs. */
export function crossMatrix(
  records: readonly CrossRecord[],
  calibration: Readonly<Record<string, Calibration>>,
  options: Partial<CrossMatrixOptions> = {},
): CrossMatrix {
  const o = { ...defaults, ...options };
  const models = o.models ? [...o.models] : [];
  if (!o.models) {
    for (const r of records) {
      if (!models.includes(r.source)) models.push(r.source);
      if (!models.includes(r.tested)) models.push(r.tested);
    }
  }
  const index = new Map(models.map((m, i) => [m, i]));
  const n = models.length;
  const zeros = () => Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const ins = zeros(), del = zeros(), counts = zeros();
  const images: (string | number)[] = [];
  const imageIndex = new Map<string | number, number>();
  for (const r of records) {
    if (!imageIndex.has(r.image)) {
      imageIndex.set(r.image, images.length);
      images.push(r.image);
    }
  }
  const perImage = Array.from(
    { length: n },
    () => Array.from({ length: n }, () => new Array<number>(images.length).fill(NaN)),
  );
  const seen = new Set<string>();
  const hasDeletion = records.length > 0 && records.every((r) => r.deletionAuc !== undefined);
  records.forEach((r, k) => {
    const a = index.get(r.source), b = index.get(r.tested);
    if (a === undefined || b === undefined) {
      throw new Error(`cross_matrix: records[${k}] names a model not in options.models`);
    }
    const key = JSON.stringify([r.source, r.tested, r.image]);
    if (seen.has(key)) {
      throw new Error(
        `cross_matrix: duplicate record for ${r.source} on ${r.tested}, image ${r.image}`,
      );
    }
    seen.add(key);
    const cal = calibration[r.tested];
    if (!cal) throw new Error(`cross_matrix: no calibration (t, b) for tested model ${r.tested}`);
    const where = `tested model ${r.tested}`;
    const s = normaliseScore(r.insertionAuc, cal.top, cal.blurred, where);
    ins[a][b] += s;
    perImage[a][b][imageIndex.get(r.image)!] = s;
    if (hasDeletion) del[a][b] += normaliseScore(r.deletionAuc!, cal.top, cal.blurred, where);
    counts[a][b]++;
  });
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      const c = counts[a][b];
      if (c === 0 && !o.allowMissing) {
        throw new Error(`cross_matrix: no records for heatmaps of ${models[a]} on ${models[b]}`);
      }
      ins[a][b] = c ? ins[a][b] / c : NaN;
      del[a][b] = c ? del[a][b] / c : NaN;
    }
  }
  return {
    models,
    insertion: ins,
    deletion: hasDeletion ? del : null,
    counts,
    perImage: { images, insertion: perImage },
  };
}

export interface GroupMatrixOptions {
  /** Group order; defaults to first appearance along `models`. */
  groups?: string[];
  /** Leave out A = B pairs (a model tested on its own heatmaps). Default false: the mean of S. */
  excludeSelf: boolean;
}

export const groupDefaults: Readonly<GroupMatrixOptions> = Object.freeze({ excludeSelf: false });

export interface GroupMatrix {
  groups: string[];
  /** values[g][h]: mean of S[A][B] over A in g (heatmap source), B in h (tested). */
  values: number[][];
  /** Pairs averaged per cell. */
  counts: number[][];
}

/** Mean of a model matrix over model groups; rows = source group, columns = tested group. */
export function groupMatrix(
  matrix: readonly (readonly number[])[],
  models: readonly string[],
  groupOf: Readonly<Record<string, string>>,
  options: Partial<GroupMatrixOptions> = {},
): GroupMatrix {
  const o = { ...groupDefaults, ...options };
  if (matrix.length !== models.length || matrix.some((row) => row.length !== models.length)) {
    throw new Error(`cross_matrix.groupMatrix: matrix is not ${models.length}x${models.length}`);
  }
  const groups = o.groups ? [...o.groups] : [];
  for (const m of models) {
    const g = groupOf[m];
    if (g === undefined) throw new Error(`cross_matrix.groupMatrix: model ${m} has no group`);
    if (!o.groups && !groups.includes(g)) groups.push(g);
    if (!groups.includes(g)) {
      throw new Error(`cross_matrix.groupMatrix: group ${g} not in options.groups`);
    }
  }
  const k = groups.length;
  const sums = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const counts = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  models.forEach((a, i) => {
    models.forEach((b, j) => {
      if (o.excludeSelf && i === j) return;
      const v = matrix[i][j];
      if (Number.isNaN(v)) return;
      const g = groups.indexOf(groupOf[a]), h = groups.indexOf(groupOf[b]);
      sums[g][h] += v;
      counts[g][h]++;
    });
  });
  const values = sums.map((row, g) => row.map((s, h) => (counts[g][h] ? s / counts[g][h] : NaN)));
  return { groups, values, counts };
}
