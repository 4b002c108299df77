/**
 * The line above the verdicts: how the tested ones fell, on how many images, which could not be
 * tested and why, and what the intervals do not correct for, so that nobody reads ten 95%
 * intervals as one (docs/METHODS.md §7).
 */
import type { Verdict } from "./input.ts";
import { plural } from "./article.ts";
import { singleModelScope, untestedReason } from "./verdicts.ts";

/**
 * Below this many images a verdict's interval is said to reflect these images rather than the
 * dataset (METHODS §7, a decision: a round cut, not derived from the data).
 */
export const FEW_IMAGES = 100;

/** "n = 96 images" or "n = 30 to 96 images". */
function imageRange(ns: number[]): string {
  const lo = Math.min(...ns), hi = Math.max(...ns);
  return lo === hi ? `n = ${plural(lo, "image")}` : `n = ${lo} to ${hi} images`;
}

/** "a, b (90 images)" grouped by n, for naming the verdicts a caveat applies to. */
function named(vs: Verdict[]): string {
  const byN = new Map<number, string[]>();
  for (const v of vs) byN.set(v.n.images, [...(byN.get(v.n.images) ?? []), v.id]);
  return [...byN].map(([n, ids]) => `${ids.join(", ")} (${plural(n, "image")})`).join("; ");
}

export function verdictSummary(verdicts: Verdict[]): string {
  const tested = verdicts.filter((v) => untestedReason(v) === undefined);
  const untested = verdicts.filter((v) => untestedReason(v) !== undefined);
  const parts: string[] = [];
  if (tested.length) {
    const count = (o: Verdict["outcome"]) => tested.filter((v) => v.outcome === o).length;
    const k = tested.length;
    parts.push(
      `${plural(k, "finding")} tested on ${imageRange(tested.map((v) => v.n.images))}: ` +
        `${count("replicates")} replicate, ${count("opposite")} opposite, ` +
        `${count("no effect")} no effect, ${count("inconclusive")} inconclusive.`,
    );
  }
  if (untested.length) {
    const why = untested.map((v) => `${v.id}: ${untestedReason(v)}`).join("; ");
    const them = untested.length === 1 ? "it" : "them";
    parts.push(
      tested.length
        ? `${untested.length} could not be tested (the table shows ${them} as inconclusive; ` +
          `not counted above): ${why}.`
        : `No finding could be tested on this run: ${
          untested.length === 1 ? "the one" : `all ${untested.length}`
        } (the table shows ${them} as inconclusive) could not be tested: ${why}.`,
    );
  }
  if (!tested.length) return parts.join(" ");
  const k = tested.length;
  const anyFalse = 1 - 0.95 ** k;
  parts.push(
    `Each statistic and rule was declared before the data (docs/METHODS.md §7): group ` +
      `findings compare geometric means of 1 + count with a 95% interval from resampling ` +
      `images jointly across models. The intervals are not corrected for multiplicity: if no ` +
      `finding held, about ${Math.round(anyFalse * 100)}% of runs of ` +
      `${plural(k, "independent verdict")} would still show at least one decided outcome by ` +
      `chance.`,
  );
  const few = tested.filter((v) => v.n.images < FEW_IMAGES);
  if (few.length) {
    const which = few.length === k
      ? `${k === 1 ? "The verdict rests" : `All ${k} verdicts rest`} on fewer than ${FEW_IMAGES} ` +
        `images`
      : `${few.length === 1 ? "One verdict rests" : `${few.length} verdicts rest`} on fewer ` +
        `than ${FEW_IMAGES} images (${named(few)})`;
    parts.push(
      `${which}: with this few images an interval reflects these images, not the dataset.`,
    );
  }
  const single = tested.filter((v) => singleModelScope(v) !== undefined);
  if (single.length) {
    parts.push(
      `${single.length === 1 ? "One verdict has" : `${single.length} verdicts have`} a single ` +
        `model on a side (${single.map((v) => v.id).join(", ")}): the bootstrap resamples ` +
        `images, not models, so ${single.length === 1 ? "it speaks" : "they speak"} about ` +
        `these models, not their families.`,
    );
  }
  return parts.join(" ");
}
