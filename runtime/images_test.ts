import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { encode as encodePng } from "fast-png";
import { loadImage, loadImages } from "./images.ts";
import { defaults, optionsFromCard, type PreprocessOptions } from "./preprocess_options.ts";
import { gaussianBlur } from "./blur.ts";
import { writeBadImages } from "../tests/fixtures/bad_images.ts";

const SHARED = new URL("../../shared/", import.meta.url).pathname;
const SAMPLE = join(SHARED, "data/imagenet-sample");
const CARD = join(SHARED, "models/mobilenetv2-12-int8.json");
const haveShared = (() => {
  try {
    return Deno.statSync(join(SAMPLE, "images")).isDirectory && Deno.statSync(CARD).isFile;
  } catch {
    return false;
  }
})();
if (!haveShared) console.warn(`images_test: ${SHARED} missing, skipping the real-image test`);

/** No resize, no crop: the decoded pixels as they are. */
const asIs: PreprocessOptions = { ...defaults, resize_short_side: null, center_crop: null };

/** A smooth mid-tone 48x32 RGB test picture (HWC, 8 bit). */
function picture(w = 48, h = 32): Uint8Array {
  const px = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      px[i] = 60 + Math.round(140 * x / (w - 1));
      px[i + 1] = 60 + Math.round(140 * y / (h - 1));
      px[i + 2] = 90 + ((x + y) % 7) * 10;
    }
  }
  return px;
}

/** HWC 8-bit → CHW in [0, 1]. */
function planes(px: Uint8Array, w: number, h: number, c = 3): Float32Array {
  const out = new Float32Array(px.length);
  for (let i = 0; i < w * h; i++) {
    for (let k = 0; k < c; k++) out[k * w * h + i] = px[i * c + k] / 255;
  }
  return out;
}

function meanAbs(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

function maxAbs(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function withTemp(f: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "xcompare-images-" });
  try {
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const raw = (w: number, h: number, channels: 1 | 3 | 4 = 3) => ({
  raw: { width: w, height: h, channels },
});

Deno.test("bad inputs each fail with a clear error naming the file; the others still load", () =>
  withTemp(async (dir) => {
    const bad = await writeBadImages(dir);
    const good = join(dir, "good.png");
    await sharp(picture(), raw(48, 32)).png().toFile(good);
    const good2 = join(dir, "good2.jpg");
    await sharp(picture(), raw(48, 32)).jpeg().toFile(good2);
    const paths = [good, bad.truncated.path, bad.empty.path, bad.text.path, bad.tiny.path, good2];
    const res = await loadImages(paths, defaults, { concurrency: 3 });
    assert.deepEqual(res.ok.map((r) => [r.index, r.path]), [[0, good], [5, good2]]);
    for (const r of res.ok) assert.equal(r.image.length, 3 * 224 * 224);
    assert.equal(res.errors.length, 4);
    for (const b of [bad.truncated, bad.empty, bad.text, bad.tiny]) {
      const e = res.errors.find((x) => x.path === b.path);
      assert.ok(e, `no error for ${b.path}`);
      assert.ok(e.error.startsWith(`${b.path}: `), e.error);
      assert.ok(e.error.includes(b.reason), `"${e.error}" should mention "${b.reason}"`);
    }
    // The text file is said to be text, never quoted.
    const text = res.errors.find((x) => x.path === bad.text.path)!;
    assert.ok(!text.error.includes("not a photo"), `"${text.error}" quotes the file`);
    // Nor is a file that a symlinked "image" leads to.
    const secret = join(dir, "secret.txt");
    await Deno.writeTextFile(secret, "root:hunter2-secret:0:0\n");
    await Deno.symlink(secret, join(dir, "photo.png"));
    await assert.rejects(
      loadImage(join(dir, "photo.png")),
      (e: Error) =>
        e.message === `${join(dir, "photo.png")}: not a decodable image: the file is text, ` +
            "not image data",
    );
    // loadImage itself throws the same kind of message.
    await assert.rejects(loadImage(bad.tiny.path), (e: Error) => e.message.includes("8 px"));
    await assert.rejects(
      loadImage(join(dir, "missing.jpg")),
      (e: Error) => e.message === `${join(dir, "missing.jpg")}: file not found`,
    );
  }));

Deno.test("CMYK JPEG decodes to sRGB close to the RGB original", () =>
  withTemp(async (dir) => {
    const px = picture();
    const cmyk = join(dir, "cmyk.jpg");
    await sharp(px, raw(48, 32)).toColourspace("cmyk").jpeg({
      quality: 100,
      chromaSubsampling: "4:4:4",
    }).toFile(cmyk);
    assert.equal((await sharp(cmyk).metadata()).space, "cmyk");
    const r = await loadImage(cmyk, asIs);
    const want = planes(px, 48, 32);
    // The sRGB -> CMYK -> sRGB profile round trip is not exact (measured: mean 5.2, max 45 levels).
    const err = meanAbs(r.rgb01, want);
    assert.ok(err < 8 / 255, `mean error ${err * 255} levels`);
    // Reading the C, M, Y bands as if they were R, G, B would be far off.
    const naive = await sharp(cmyk).raw().toBuffer({ resolveWithObject: true });
    assert.equal(naive.info.channels, 3); // sharp converts on its own too; our result must match it
    assert.ok(maxAbs(r.rgb01, planes(new Uint8Array(naive.data), 48, 32)) < 1e-6);
  }));

Deno.test("16-bit PNG keeps its 16-bit precision and matches the 8-bit original", () =>
  withTemp(async (dir) => {
    const w = 48, h = 32, px = picture(w, h);
    // 16-bit values that are not multiples of 257, so 8-bit decoding would lose them.
    const v16 = Uint16Array.from(px, (v, i) => Math.min(65535, v * 257 + ((i * 13) % 200)));
    const p16 = join(dir, "deep.png");
    await Deno.writeFile(
      p16,
      encodePng({ width: w, height: h, data: v16, depth: 16, channels: 3 }),
    );
    const meta = await sharp(p16).metadata();
    assert.equal(meta.depth, "ushort");
    const r = await loadImage(p16, asIs);
    const want16 = new Float32Array(3 * w * h);
    for (let i = 0; i < w * h; i++) {
      for (let c = 0; c < 3; c++) want16[c * w * h + i] = v16[i * 3 + c] / 65535;
    }
    assert.ok(maxAbs(r.rgb01, want16) < 1e-6, "16-bit values read exactly");
    assert.ok(
      maxAbs(r.rgb01, planes(px, w, h)) < 1 / 255,
      "within one 8-bit level of the original",
    );
  }));

Deno.test("EXIF orientation 6: width and height swap, content turned 90° clockwise", () =>
  withTemp(async (dir) => {
    const w = 40, h = 24;
    const px = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        px.fill(x < w / 2 ? 20 : 230, (y * w + x) * 3, (y * w + x + 1) * 3);
      }
    }
    const p = join(dir, "rotated.jpg");
    await sharp(px, raw(w, h)).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toFile(p);
    assert.equal((await sharp(p).metadata()).orientation, 6);
    const r = await loadImage(p, asIs);
    assert.deepEqual([r.width, r.height, r.original.width, r.original.height], [h, w, h, w]);
    // Stored left half (dark) is displayed on top after a 90° clockwise turn.
    const at = (x: number, y: number) => r.rgb01[y * r.width + x] * 255;
    assert.ok(at(12, 5) < 60 && at(12, 34) > 190, `top ${at(12, 5)}, bottom ${at(12, 34)}`);
    // Through the default 256 / 224 pipeline the portrait shape survives too.
    const d = await loadImage(p);
    assert.deepEqual([d.width, d.height, d.original.width, d.original.height], [224, 224, h, w]);
    // auto_orient: false keeps the stored pixels, as PIL / torchvision do.
    const s = await loadImage(p, { ...asIs, auto_orient: false });
    assert.deepEqual([s.width, s.height], [w, h]);
    assert.ok(s.rgb01[5 * w + 3] * 255 < 60 && s.rgb01[5 * w + 36] * 255 > 190);
  }));

Deno.test("greyscale is replicated to 3 channels; RGB becomes grey like PIL's convert('L')", () =>
  withTemp(async (dir) => {
    const px = picture();
    const g = join(dir, "grey.png");
    await sharp(px, raw(48, 32)).toColourspace("b-w").png().toFile(g);
    assert.equal((await sharp(g).metadata()).channels, 1);
    const grey1 = await loadImage(g, { ...asIs, channels: 1, mean: [0.5], std: [0.5] });
    const grey3 = await loadImage(g, asIs);
    const n = 48 * 32;
    assert.equal(grey1.rgb01.length, n);
    assert.equal(grey3.rgb01.length, 3 * n);
    for (let c = 0; c < 3; c++) {
      assert.ok(maxAbs(grey3.rgb01.subarray(c * n, (c + 1) * n), grey1.rgb01) === 0);
    }
    const rgb = join(dir, "rgb.png");
    await sharp(px, raw(48, 32)).png().toFile(rgb);
    const asGrey = await loadImage(rgb, { ...asIs, channels: 1, mean: [0.5], std: [0.5] });
    const want = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      // PIL: (19595 R + 38470 G + 7471 B + 0x8000) >> 16, i.e. 0.299 / 0.587 / 0.114 rounded.
      const l = (19595 * px[3 * i] + 38470 * px[3 * i + 1] + 7471 * px[3 * i + 2] + 0x8000) >> 16;
      assert.ok(
        Math.abs(l - (0.299 * px[3 * i] + 0.587 * px[3 * i + 1] + 0.114 * px[3 * i + 2])) <= 0.5,
      );
      want[i] = l / 255;
    }
    assert.ok(maxAbs(asGrey.rgb01, want) < 1e-6);
    for (let i = 0; i < n; i++) assert.ok(Math.abs(asGrey.image[i] - (want[i] - 0.5) / 0.5) < 1e-5);
  }));

Deno.test("alpha is flattened on black", () =>
  withTemp(async (dir) => {
    const px = new Uint8Array(16 * 16 * 4);
    for (let i = 0; i < 256; i++) px.set([200, 150, 100, i < 128 ? 0 : 255], 4 * i);
    const p = join(dir, "alpha.png");
    await sharp(px, raw(16, 16, 4)).png().toFile(p);
    const r = await loadImage(p, asIs);
    const n = 256;
    assert.equal(r.rgb01.length, 3 * n);
    assert.equal(r.rgb01[0], 0); // transparent -> black
    assert.ok(
      Math.abs(r.rgb01[200] - 200 / 255) < 1e-6 && Math.abs(r.rgb01[n + 200] - 150 / 255) < 1e-6,
    );
  }));

Deno.test("loadImage resizes the short side then center-crops, as torchvision", () =>
  withTemp(async (dir) => {
    const p = join(dir, "wide.png");
    await sharp(picture(300, 200), raw(300, 200)).png().toFile(p);
    for (const interpolation of ["bilinear", "bicubic", "nearest"] as const) {
      const r = await loadImage(p, { ...defaults, interpolation });
      assert.deepEqual([r.width, r.height, r.channels], [224, 224, 3]);
      assert.equal(r.image.length, 3 * 224 * 224);
      assert.equal(r.baseline.length, 3 * 224 * 224);
      assert.deepEqual(r.original, { width: 300, height: 200 });
    }
    // No crop: the resized size.
    const nc = await loadImage(p, { ...defaults, center_crop: null });
    assert.deepEqual([nc.width, nc.height], [384, 256]);
    // A small image is enlarged and still cropped to 224 (the sample set has such images).
    const small = join(dir, "small.png");
    await sharp(picture(40, 60), raw(40, 60)).png().toFile(small);
    const s = await loadImage(small);
    assert.deepEqual([s.width, s.height], [224, 224]);
    assert.ok(s.rgb01.every((v) => v >= 0 && v <= 1));
  }));

Deno.test("baselines: blur of a constant image is the constant, zero is zeros", () =>
  withTemp(async (dir) => {
    const p = join(dir, "flat.png");
    await sharp({
      create: { width: 100, height: 80, channels: 3, background: { r: 30, g: 120, b: 240 } },
    })
      .png().toFile(p);
    const r = await loadImage(p, { ...defaults, resize_short_side: 64, center_crop: 56 });
    const n = 56 * 56;
    [30, 120, 240].forEach((v, c) => {
      const want = (v / 255 - defaults.mean[c]) / defaults.std[c];
      for (let i = c * n; i < (c + 1) * n; i++) {
        assert.ok(Math.abs(r.image[i] - want) < 1e-5);
        assert.ok(Math.abs(r.baseline[i] - want) < 1e-5);
      }
    });
    const z = await loadImage(p, { ...defaults, baseline: "zero" });
    assert.ok(z.baseline.every((v) => v === 0));
    // The blur baseline is the normalised blur of rgb01 (relative blur at 224 = 51 / 50).
    const q = join(dir, "picture.png");
    await sharp(picture(300, 260), raw(300, 260)).png().toFile(q);
    const b = await loadImage(q);
    const blurred = gaussianBlur(b.rgb01, 3, 224, 224, 51, 50);
    for (const i of [0, 1000, 224 * 224 + 5, 3 * 224 * 224 - 1]) {
      const c = Math.floor(i / (224 * 224));
      assert.ok(Math.abs(b.baseline[i] - (blurred[i] - defaults.mean[c]) / defaults.std[c]) < 1e-5);
      assert.ok(Math.abs(b.image[i] - (b.rgb01[i] - defaults.mean[c]) / defaults.std[c]) < 1e-5);
    }
    // scale = 1 with means in 0..255 units gives the same tensor.
    const b255 = await loadImage(q, {
      ...defaults,
      scale: 1,
      mean: defaults.mean.map((m) => m * 255),
      std: defaults.std.map((s) => s * 255),
    });
    assert.ok(maxAbs(b255.image, b.image) < 1e-4);
  }));

Deno.test("options are validated before any file is read", async () => {
  await assert.rejects(
    loadImage("x.png", { ...defaults, mean: [0.5] }),
    (e: Error) => e.message.includes("mean") && e.message.includes("3 finite numbers"),
  );
});

Deno.test({
  name: "imagenet-sample: first 5 images load at 3x224x224 with the MobileNetV2 card preprocessing",
  ignore: !haveShared,
  fn: async () => {
    const card = JSON.parse(await Deno.readTextFile(CARD));
    const o = optionsFromCard(card.preprocess, CARD);
    const dir = join(SAMPLE, "images");
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    const paths = names.slice(0, 5).map((n) => join(dir, n));
    const res = await loadImages(paths, o, { concurrency: 2 });
    assert.deepEqual(res.errors, []);
    assert.equal(res.ok.length, 5);
    for (const r of res.ok) {
      assert.deepEqual([r.channels, r.height, r.width], [3, 224, 224]);
      assert.equal(r.image.length, 3 * 224 * 224);
      assert.ok(r.image.every(Number.isFinite) && r.baseline.every(Number.isFinite));
      assert.ok(r.rgb01.every((v) => v >= 0 && v <= 1));
      // Normalised ImageNet pixels lie in [(0 - 0.485) / 0.229, (1 - 0.406) / 0.225].
      assert.ok(r.image.every((v) => v >= -2.2 && v <= 2.7));
    }
  },
});
