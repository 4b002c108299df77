import assert from "node:assert/strict";
import {
  blurSpec,
  checkBlur,
  fractionalBlur,
  gaussianBlur,
  gaussianKernel,
  paperBlur,
  reflect101,
  relativeBlur,
} from "./blur.ts";

const close = (a: number, b: number, eps = 1e-6) =>
  assert.ok(Math.abs(a - b) <= eps, `expected ${b} within ${eps}, got ${a}`);
const assertEquals = (a: unknown, b: unknown) => assert.deepStrictEqual(a, b);
const throwsWith = (f: () => unknown, text: string) =>
  assert.throws(f, (e: Error) => e.message.includes(text));

Deno.test("gaussianKernel matches OpenCV's getGaussianKernel(3, 1) worked by hand", () => {
  // exp(-1/2) = 0.6065307; sum = 1 + 2 * 0.6065307 = 2.2130613.
  const k = gaussianKernel(3, 1);
  close(k[0], 0.6065307 / 2.2130613);
  close(k[1], 1 / 2.2130613);
  close(k[2], 0.6065307 / 2.2130613);
  close(k[0], 0.27406862);
  close(k[1], 0.45186276);
});

Deno.test("gaussianKernel: sigma <= 0 follows OpenCV (fixed tables up to 7, formula above)", () => {
  assertEquals(Array.from(gaussianKernel(3, 0)), [0.25, 0.5, 0.25]);
  assertEquals(Array.from(gaussianKernel(5, -1)), [0.0625, 0.25, 0.375, 0.25, 0.0625]);
  // size 9: sigma = 0.3 * (4 - 1) + 0.8 = 1.7
  const k = gaussianKernel(9, 0);
  const ref = gaussianKernel(9, 1.7);
  for (let i = 0; i < 9; i++) close(k[i], ref[i], 1e-12);
  throwsWith(() => gaussianKernel(4, 1), "odd");
  throwsWith(() => gaussianKernel(0, 1), "odd");
});

Deno.test("paper kernel (51, 50): symmetric, sums to 1, cut at radius 25", () => {
  const k = gaussianKernel(paperBlur.size, paperBlur.sigma);
  assertEquals(k.length, 51);
  let sum = 0;
  for (let i = 0; i < 51; i++) {
    sum += k[i];
    close(k[i], k[50 - i], 1e-15);
  }
  close(sum, 1, 1e-12);
  // Ratio centre/edge = exp(25^2 / (2 * 50^2)) = exp(0.125).
  close(k[25] / k[0], Math.exp(0.125), 1e-12);
});

Deno.test("reflect101 does not repeat the edge, also for kernels wider than the image", () => {
  assertEquals(reflect101(-1, 5), 1);
  assertEquals(reflect101(-2, 5), 2);
  assertEquals(reflect101(5, 5), 3);
  assertEquals(reflect101(6, 5), 2);
  // len 3 has period 4: 0 1 2 1 | 0 1 2 1 ...
  assertEquals([-5, -4, -3, 3, 4, 5, 6].map((p) => reflect101(p, 3)), [1, 0, 1, 1, 0, 1, 2]);
  assertEquals(reflect101(-7, 1), 0);
});

Deno.test("gaussianBlur on a 1x4 row, worked by hand", () => {
  const a = 0.27406862, b = 0.45186276;
  const out = gaussianBlur(Float32Array.of(1, 2, 3, 4), 1, 1, 4, 3, 1);
  close(out[0], b * 1 + 2 * a * 2, 1e-6); // reflect: x[-1] = x[1]
  close(out[1], a * 1 + b * 2 + a * 3, 1e-6); // = 2: a linear ramp is kept inside
  close(out[2], 3, 1e-6);
  close(out[3], b * 4 + 2 * a * 3, 1e-6); // x[4] = x[2]
});

Deno.test("gaussianBlur keeps a constant image constant (per channel)", () => {
  const h = 9, w = 13;
  const img = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++) img.fill([0.2, 0.5, 0.9][c], c * h * w, (c + 1) * h * w);
  const out = gaussianBlur(img, 3, h, w, 51, 50);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < h * w; i++) close(out[c * h * w + i], [0.2, 0.5, 0.9][c], 1e-6);
  }
});

Deno.test("gaussianBlur of an interior delta is the outer product of the 1-D kernel", () => {
  const h = 15, w = 17, size = 7, sigma = 1.5, r = 3;
  const img = new Float32Array(h * w);
  const cy = 7, cx = 8;
  img[cy * w + cx] = 1;
  const out = gaussianBlur(img, 1, h, w, size, sigma);
  const k = gaussianKernel(size, sigma);
  let sum = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dy = y - cy, dx = x - cx;
      const want = Math.abs(dy) <= r && Math.abs(dx) <= r ? k[dy + r] * k[dx + r] : 0;
      close(out[y * w + x], want, 1e-7);
      sum += out[y * w + x];
    }
  }
  close(sum, 1, 1e-6);
});

Deno.test("gaussianBlur equals a direct 2-D reflect-101 convolution (kernel > image)", () => {
  const c = 2, h = 11, w = 8, size = 51, sigma = 50, r = 25;
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const img = Float32Array.from({ length: c * h * w }, rand);
  const out = gaussianBlur(img, c, h, w, size, sigma);
  const k = gaussianKernel(size, sigma);
  // Independent reflection: fold into one period of length 2(len-1).
  const fold = (p: number, len: number) => {
    const period = 2 * (len - 1);
    const m = ((p % period) + period) % period;
    return m >= len ? period - m : m;
  };
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let acc = 0;
        for (let i = -r; i <= r; i++) {
          for (let j = -r; j <= r; j++) {
            acc += k[i + r] * k[j + r] * img[ch * h * w + fold(y + i, h) * w + fold(x + j, w)];
          }
        }
        close(out[ch * h * w + y * w + x], acc, 1e-5);
      }
    }
  }
});

Deno.test("gaussianBlur rejects a wrong-sized buffer", () => {
  throwsWith(() => gaussianBlur(new Float32Array(10), 3, 2, 2, 3, 1), "3x2x2");
});

Deno.test("relativeBlur scales the paper's blur with the crop", () => {
  assertEquals(relativeBlur(224), { size: 51, sigma: 50 });
  const z = relativeBlur(32); // 51 * 32 / 224 = 7.29 -> 7
  assertEquals(z.size, 7);
  close(z.sigma, 50 * 32 / 224, 1e-12);
  assertEquals(relativeBlur(28).size, 7); // 6.375: 7 is nearer than 5
  assertEquals(relativeBlur(384).size, 87); // 87.43
  assertEquals(relativeBlur(8).size, 3); // 1.82, floored at 3
  throwsWith(() => relativeBlur(0), "positive");
});

Deno.test("fractionalBlur takes kernel and sigma as fractions of the side", () => {
  // 0.5 * 28 = 14 -> the nearest odd size (ties up): 15; sigma 0.25 * 28 = 7.
  assertEquals(fractionalBlur(28, { kernelFraction: 0.5, sigmaFraction: 0.25 }), {
    size: 15,
    sigma: 7,
  });
  // A kernel wider than the image is allowed (the border reflects).
  assertEquals(fractionalBlur(28, { kernelFraction: 2, sigmaFraction: 1 }).size, 57);
  assertEquals(fractionalBlur(28, { kernelFraction: 0.01, sigmaFraction: 0.1 }).size, 3);
  throwsWith(() => fractionalBlur(28, { kernelFraction: 0, sigmaFraction: 1 }), "kernelFraction");
  throwsWith(() => fractionalBlur(28, { kernelFraction: 1, sigmaFraction: NaN }), "sigmaFraction");
});

Deno.test("blurSpec resolves each way of giving a blur; checkBlur says what is wrong", () => {
  assertEquals(blurSpec("relative", 224), { size: 51, sigma: 50 });
  assertEquals(blurSpec("relative", 28), relativeBlur(28));
  assertEquals(blurSpec({ kernelFraction: 1, sigmaFraction: 0.5 }, 28), { size: 29, sigma: 14 });
  assertEquals(blurSpec({ size: 5, sigma: 2 }, 28), { size: 5, sigma: 2 });
  checkBlur("relative");
  checkBlur({ kernelFraction: 1, sigmaFraction: 0.5 });
  throwsWith(() => checkBlur({ size: 4, sigma: 1 }), "odd");
  throwsWith(() => checkBlur({ kernelFraction: -1, sigmaFraction: 0.5 }), "kernelFraction");
  throwsWith(() => checkBlur("wide" as "relative"), "must be");
});
