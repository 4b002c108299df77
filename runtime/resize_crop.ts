/**
 * torchvision's evaluation geometry, `Resize(short) + CenterCrop(crop)`: the short side becomes
 * `short`, the long side `floor(short * long / short_old)`; the crop offset is Python's
 * `round((size - crop) / 2)` (half to even); a crop larger than the image pads zeros.
 */

/** torchvision `Resize(short)`: the short side becomes `short`, the long side is truncated. */
export function resizedSize(width: number, height: number, short: number): [number, number] {
  if (width <= height) return [short, Math.floor(short * height / width)];
  return [Math.floor(short * width / height), short];
}

/** Python's round() on a multiple of 1/2: halves go to the even neighbour. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  if (v - f !== 0.5) return Math.round(v);
  return f % 2 === 0 ? f : f + 1;
}

/** torchvision `center_crop` offset along one axis (negative: zero padding of that many pixels). */
export function cropOffset(size: number, crop: number): number {
  return crop > size ? -Math.floor((crop - size) / 2) : roundHalfEven((size - crop) / 2);
}

/** Center-crops CHW planes to ch x cw like torchvision (zero padding where the crop is larger). */
export function centerCrop(
  planes: Float32Array,
  channels: number,
  height: number,
  width: number,
  ch: number,
  cw: number,
): Float32Array {
  const top = cropOffset(height, ch), left = cropOffset(width, cw);
  const out = new Float32Array(channels * ch * cw);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < ch; y++) {
      const sy = y + top;
      if (sy < 0 || sy >= height) continue;
      for (let x = 0; x < cw; x++) {
        const sx = x + left;
        if (sx < 0 || sx >= width) continue;
        out[(c * ch + y) * cw + x] = planes[(c * height + sy) * width + sx];
      }
    }
  }
  return out;
}
