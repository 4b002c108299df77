/** Reading infer-baselines' predictions back, by dataset position. */
import type { UnitIO, UnitRef } from "../../pipeline/stage.ts";

export interface StoredPrediction {
  pos: number;
  id: string;
  label: number | null;
  pred: number;
  pFull: number;
  top5: [number, number][];
  blurTop1: number;
  blurPred: number;
}

export interface StoredPredictions {
  model: string;
  items: StoredPrediction[];
  t: number;
  b: number;
  bPred: number;
  top1: number | null;
  top5: number | null;
  images: number;
}

export async function readPredictionsFile(io: UnitIO, ref: UnitRef): Promise<StoredPredictions> {
  return await io.readInputJson<StoredPredictions>(ref, "preds.json");
}

export async function readPredictions(
  io: UnitIO,
  ref: UnitRef,
): Promise<Map<number, StoredPrediction>> {
  const p = await readPredictionsFile(io, ref);
  return new Map(p.items.map((it) => [it.pos, it]));
}
