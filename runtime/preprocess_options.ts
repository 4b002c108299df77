/**
 * What a model wants done to an image before it sees it, as a model card's `preprocess` block (and
 * a config's per-model override of it) says, validated by one schema so that a card, a config and
 * options built in code fail alike, naming the path at fault and what was expected.
 */
import {
  arr,
  bool,
  ConfigError,
  int,
  maybe,
  nullable,
  num,
  obj,
  oneOf,
  type Schema,
  union,
} from "../lib/schema.ts";
import { type BlurChoice, checkBlur } from "./blur.ts";
import { type Interpolation, interpolations } from "./pil_resample.ts";

export interface PreprocessOptions {
  /** Channels the model takes: 3 (RGB) or 1 (grey). */
  channels: 1 | 3;
  /** Resize so the short side is this many pixels (aspect kept); null: no resize. */
  resize_short_side: number | null;
  /** Square center crop side in pixels; null: no crop. */
  center_crop: number | null;
  interpolation: Interpolation;
  /**
   * Multiplies 8-bit-equivalent pixel values (0..255; 16-bit inputs are mapped to that range
   * first) before `(v - mean) / std`. 1/255 for the usual [0, 1] models.
   */
  scale: number;
  /** Per channel, in the scaled units. */
  mean: number[];
  std: number[];
  /** `blur`: Gaussian blur of the cropped image, normalised; `zero`: zeros after normalisation. */
  baseline: "blur" | "zero";
  /**
   * The blur: `relative` = the paper's 51 x 51 / sigma 50 scaled to the crop (exactly 51 / 50 at
   * 224 px, see `relativeBlur`), fractions of the image side, or an explicit kernel size and sigma.
   */
  blur: BlurChoice;
  /**
   * Apply the EXIF orientation tag (what a person sees). PIL / torchvision do not, so `false`
   * reproduces their tensors exactly; 1 of the 300 ImageNet sample images carries a rotating tag.
   */
  auto_orient: boolean;
  /** Images whose short side (after orientation) is below this are rejected (**decision**: 8). */
  min_side: number;
}

/** ImageNet models with torchvision's standard evaluation transform and the paper's baseline. */
export const defaults: Readonly<PreprocessOptions> = Object.freeze({
  channels: 3,
  resize_short_side: 256,
  center_crop: 224,
  interpolation: "bilinear",
  scale: 1 / 255,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  baseline: "blur",
  blur: "relative",
  auto_orient: true,
  min_side: 8,
});

/** A finite number above zero (a scale, a standard deviation). */
const positive: Schema<number> = {
  describe: "a number > 0",
  parse(v, path) {
    if (typeof v !== "number" || !(Number.isFinite(v) && v > 0)) {
      const got = typeof v === "number" ? String(v) : JSON.stringify(v);
      throw new ConfigError(path, `expected a number > 0, got ${got}`);
    }
    return v;
  },
};

/** A card's scale: a number > 0, or a fraction such as "1/255". */
const scale: Schema<number> = {
  describe: 'a number > 0 or a fraction like "1/255"',
  parse(v, path) {
    if (typeof v === "number") return positive.parse(v, path);
    const m = typeof v === "string" ? /^\s*([\d.]+)\s*\/\s*([\d.]+)\s*$/.exec(v) : null;
    if (!m) throw new ConfigError(path, `expected ${scale.describe}, got ${JSON.stringify(v)}`);
    return positive.parse(Number(m[1]) / Number(m[2]), path);
  },
};

/** A card's `color` ("RGB (convert ...)", "grey", ...) as the channel count it means. */
const colour: Schema<1 | 3> = {
  describe: "a colour starting with RGB or grey",
  parse(v, path) {
    const c = String(v).trim().toLowerCase();
    if (/^s?rgb\b/.test(c)) return 3;
    if (/^(grey|gray|l\b|luminance)/.test(c)) return 1;
    throw new ConfigError(path, `expected ${colour.describe}, got ${JSON.stringify(v)}`);
  },
};

/** Complete options; `validateOptions` adds what one field cannot say of another. */
const optionsSchema = obj({
  channels: oneOf(1, 3),
  resize_short_side: nullable(int({ min: 1 })),
  center_crop: nullable(int({ min: 1 })),
  interpolation: oneOf(...interpolations),
  scale: positive,
  mean: arr(num()),
  std: arr(positive),
  baseline: oneOf("blur", "zero"),
  blur: union<BlurChoice>(
    oneOf("relative"),
    obj({ kernelFraction: num(), sigmaFraction: num() }),
    obj({ size: int(), sigma: num() }),
  ),
  auto_orient: bool(),
  min_side: int({ min: 1 }),
});

/**
 * A model card's `preprocess` block, and a config's per-model override of it: every key may be
 * absent (the card, then `defaults`, gives it); `color` is another way to say `channels`.
 */
export const preprocessBlockSchema = obj({
  channels: maybe(optionsSchema.shape.channels),
  color: maybe(colour),
  resize_short_side: maybe(optionsSchema.shape.resize_short_side),
  center_crop: maybe(optionsSchema.shape.center_crop),
  interpolation: maybe(optionsSchema.shape.interpolation),
  scale: maybe(scale),
  mean: maybe(optionsSchema.shape.mean),
  std: maybe(optionsSchema.shape.std),
  min_side: maybe(optionsSchema.shape.min_side),
  auto_orient: maybe(optionsSchema.shape.auto_orient),
});

/** Throws, naming `where` and the key, if the options cannot work. */
export function validateOptions(o: PreprocessOptions, where = "preprocess"): void {
  optionsSchema.parse(o, where);
  for (const key of ["mean", "std"] as const) {
    if (o[key].length !== o.channels) {
      throw new ConfigError(
        `${where}.${key}`,
        `expected ${
          o.channels === 1 ? "1 finite number" : `${o.channels} finite numbers`
        } (one per channel), got ${o[key].length}`,
      );
    }
  }
  try {
    checkBlur(o.blur);
  } catch (e) {
    throw new ConfigError(`${where}.blur`, (e as Error).message);
  }
}

/**
 * Reads a model card's `preprocess` block (as in ../shared/models/*.json: `color` or `channels`,
 * `resize_short_side`, `center_crop`, `interpolation`, `scale` as a number or "1/255", `mean`,
 * `std`) into options; the rest comes from `base`. Unknown keys are ignored.
 */
export function optionsFromCard(
  preprocess: unknown,
  where: string,
  base: Readonly<PreprocessOptions> = defaults,
): PreprocessOptions {
  const path = `${where}: preprocess`;
  const { color, ...block } = preprocessBlockSchema.parse(knownKeys(preprocess), path);
  const o: PreprocessOptions = { ...base, mean: [...base.mean], std: [...base.std] };
  for (const [key, value] of Object.entries(block)) {
    if (value !== undefined) Object.assign(o, { [key]: value });
  }
  if (block.channels === undefined && color !== undefined) o.channels = color;
  validateOptions(o, path);
  return o;
}

/** The block's keys that the schema knows (a card may carry others); non-objects as they are. */
function knownKeys(block: unknown): unknown {
  if (typeof block !== "object" || block === null || Array.isArray(block)) return block;
  return Object.fromEntries(
    Object.entries(block).filter(([key]) => key in preprocessBlockSchema.shape),
  );
}
