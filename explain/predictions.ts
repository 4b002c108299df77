/**
 * Summaries of plain predictions: per image top-k, ĉ and p_full; per model t (mean top-1
 * confidence on originals), b (mean top-1 confidence on fully blurred images), bPred (mean
 * confidence in ĉ on the blurred images: the better-conditioned b where a baseline keeps most of
 * the class evidence, as on 28x28 Fashion-MNIST) and accuracy;
 * ensembles as the mean of softmax outputs; the sorted activation curve of Fig. 5.
 */

export interface ImagePrediction {
  /** ĉ, the class predicted on the full image. */
  pred: number;
  /** p_ĉ on the full image. */
  pFull: number;
  top5: [number, number][];
  /** Top-1 confidence on the fully blurred image. */
  blurTop1: number;
  /** p_ĉ on the fully blurred image. */
  blurPred: number;
}

export interface PredictionSummary {
  perImage: ImagePrediction[];
  t: number;
  b: number;
  bPred: number;
  /** Percent over labelled images; null when no image has a label. */
  top1: number | null;
  top5: number | null;
}

/** Class indices sorted by probability, highest first, ties by index. */
export function topK(probs: Float32Array, offset: number, classes: number, k: number): number[] {
  const idx: number[] = [];
  for (let c = 0; c < classes; c++) {
    const v = probs[offset + c];
    let i = idx.length;
    if (i === k && v <= probs[offset + idx[k - 1]]) continue;
    while (i > 0 && probs[offset + idx[i - 1]] < v) i--;
    idx.splice(i, 0, c);
    if (idx.length > k) idx.pop();
  }
  return idx;
}

export function summarisePredictions(
  full: Float32Array,
  blurred: Float32Array,
  classes: number,
  labels: (number | null)[],
  k = 5,
): PredictionSummary {
  const n = labels.length;
  let t = 0, b = 0, bPred = 0, hit1 = 0, hit5 = 0, labelled = 0;
  const perImage: ImagePrediction[] = [];
  for (let i = 0; i < n; i++) {
    const top = topK(full, i * classes, classes, k);
    const pred = top[0];
    const pFull = full[i * classes + pred];
    let blurTop1 = 0;
    for (let c = 0; c < classes; c++) blurTop1 = Math.max(blurTop1, blurred[i * classes + c]);
    const blurPred = blurred[i * classes + pred];
    t += pFull;
    b += blurTop1;
    bPred += blurPred;
    const label = labels[i];
    if (label !== null && label !== undefined) {
      labelled++;
      if (pred === label) hit1++;
      if (top.includes(label)) hit5++;
    }
    perImage.push({
      pred,
      pFull,
      top5: top.map((c) => [c, full[i * classes + c]]),
      blurTop1,
      blurPred,
    });
  }
  return {
    perImage,
    t: n ? t / n : NaN,
    b: n ? b / n : NaN,
    bPred: n ? bPred / n : NaN,
    top1: labelled ? (100 * hit1) / labelled : null,
    top5: labelled ? (100 * hit5) / labelled : null,
  };
}

/** Top-1 accuracy (percent) of the mean of several models' softmax outputs. */
export function ensembleAccuracy(
  members: Float32Array[],
  classes: number,
  labels: (number | null)[],
): number | null {
  let hit = 0, labelled = 0;
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (label === null) continue;
    labelled++;
    let best = -1, bestP = -Infinity;
    for (let c = 0; c < classes; c++) {
      let p = 0;
      for (const m of members) p += m[i * classes + c];
      if (p > bestP) [best, bestP] = [c, p];
    }
    if (best === label) hit++;
  }
  return labelled ? (100 * hit) / labelled : null;
}

/** Fig. 5: each channel's maximal activation per image, averaged over images, sorted descending. */
export function activationCurve(channelMax: Float32Array, images: number): number[] {
  const channels = channelMax.length / images;
  const mean = new Array<number>(channels).fill(0);
  for (let i = 0; i < images; i++) {
    for (let c = 0; c < channels; c++) mean[c] += channelMax[i * channels + c] / images;
  }
  return mean.sort((a, b) => b - a);
}
