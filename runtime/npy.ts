/**
 * NumPy .npy files, so that tensors, masks and heatmaps can be checked against Python tooling
 * byte for byte. Little-endian, C order; format v1.0 is written, v1.0 to v3.0 are read.
 */

export type NpyDType = "float32" | "float64" | "int32" | "int64" | "uint8" | "bool";

export type NpyData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

export interface NpyArray {
  dtype: NpyDType;
  shape: number[];
  /** `bool` arrays are Uint8Array of 0/1. */
  data: NpyData;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const DESCR: Record<NpyDType, string> = {
  float32: "<f4",
  float64: "<f8",
  int32: "<i4",
  int64: "<i8",
  uint8: "|u1",
  bool: "|b1",
};

const BYTES: Record<NpyDType, number> = {
  float32: 4,
  float64: 8,
  int32: 4,
  int64: 8,
  uint8: 1,
  bool: 1,
};

/** The dtype a typed array is written as, unless told otherwise (Uint8Array may be `bool`). */
export function dtypeOf(data: NpyData): NpyDType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof BigInt64Array) return "int64";
  if (data instanceof Uint8Array) return "uint8";
  throw new Error(`npy: unsupported array type ${(data as object).constructor?.name}`);
}

/** Encodes an array as .npy v1.0 bytes; the header is padded so the data starts 64-aligned. */
export function encodeNpy(
  data: NpyData,
  shape: readonly number[],
  dtype = dtypeOf(data),
): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new Error(
      `npy: shape [${shape.join(", ")}] holds ${count} values, array has ${data.length}`,
    );
  }
  const expected = dtype === "bool" ? "uint8" : dtype;
  if (dtypeOf(data) !== expected) {
    throw new Error(`npy: dtype ${dtype} needs a ${expected} array, got ${dtypeOf(data)}`);
  }
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = MAGIC.length + 2 + 2 + header.length + 1;
  header += " ".repeat((64 - (unpadded % 64)) % 64) + "\n";
  if (header.length > 0xffff) throw new Error("npy: header too long for format v1.0");
  const body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(MAGIC.length + 4 + header.length + body.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = header.length & 0xff;
  out[9] = header.length >> 8;
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(body, 10 + header.length);
  if (dtype === "bool") {
    for (let i = 10 + header.length; i < out.length; i++) out[i] = out[i] ? 1 : 0;
  }
  return out;
}

/** Decodes .npy bytes; `source` names the file in errors. The data is copied when misaligned. */
export function decodeNpy(bytes: Uint8Array, source = "<bytes>"): NpyArray {
  const fail = (why: string): never => {
    throw new Error(`${source}: not a readable .npy file (${why})`);
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail("bad magic");
  const major = bytes[6];
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = bytes[8] | (bytes[9] << 8);
    start = 10;
  } else if (major === 2 || major === 3) {
    headerLen = new DataView(bytes.buffer, bytes.byteOffset + 8, 4).getUint32(0, true);
    start = 12;
  } else {
    return fail(`format version ${major}.${bytes[7]}`);
  }
  if (start + headerLen > bytes.length) fail("truncated header");
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(
    bytes.subarray(start, start + headerLen),
  );
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1] ?? fail(`no descr in ${header}`);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1] ??
    fail(`no fortran_order in ${header}`);
  if (fortran === "True") fail("Fortran order is not supported");
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1] ?? fail(`no shape in ${header}`);
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s.length > 0).map(
    (s) => {
      const v = Number(s.replace(/L$/, ""));
      if (!Number.isInteger(v) || v < 0) fail(`bad shape (${shapeText})`);
      return v;
    },
  );
  const dtype =
    (Object.keys(DESCR) as NpyDType[]).find((k) =>
      DESCR[k] === descr || DESCR[k].replace("|", "<") === descr ||
      (BYTES[k] === 1 && DESCR[k].replace("|", "=") === descr)
    ) ?? fail(`unsupported dtype '${descr}' (want little-endian f4, f8, i4, i8, u1 or b1)`);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLen;
  const nbytes = count * BYTES[dtype];
  if (offset + nbytes > bytes.length) {
    fail(
      `data truncated: need ${nbytes} bytes for shape (${shape.join(", ")}), have ${
        bytes.length - offset
      }`,
    );
  }
  let raw = bytes.subarray(offset, offset + nbytes);
  if ((raw.byteOffset % BYTES[dtype]) !== 0) raw = raw.slice();
  const { buffer, byteOffset } = raw;
  let data: NpyData;
  switch (dtype) {
    case "float32":
      data = new Float32Array(buffer, byteOffset, count);
      break;
    case "float64":
      data = new Float64Array(buffer, byteOffset, count);
      break;
    case "int32":
      data = new Int32Array(buffer, byteOffset, count);
      break;
    case "int64":
      data = new BigInt64Array(buffer, byteOffset, count);
      break;
    default:
      data = new Uint8Array(buffer, byteOffset, count);
  }
  return { dtype, shape, data };
}

/** Reads a .npy file; errors name the file. */
export async function readNpy(path: string): Promise<NpyArray> {
  return decodeNpy(await Deno.readFile(path), path);
}

/** Writes a .npy file atomically: a temporary file beside it, then a rename. */
export async function writeNpy(
  path: string,
  data: NpyData,
  shape: readonly number[],
  dtype: NpyDType = dtypeOf(data),
): Promise<void> {
  const bytes = encodeNpy(data, shape, dtype);
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw new Error(`${path}: cannot write .npy (${(e as Error).message})`);
  }
}
