import { assert, assertEquals, assertRejects, assertThrows } from "../tests/assert.ts";
import { decodeNpy, encodeNpy, type NpyData, type NpyDType, readNpy, writeNpy } from "./npy.ts";

/** The bytes numpy.save writes: magic, v1.0, little-endian header length, dict padded to 64. */
function numpyBytes(dict: string, body: Uint8Array): Uint8Array {
  let header = dict;
  const total = 10 + header.length + 1;
  header += " ".repeat((64 - (total % 64)) % 64) + "\n";
  const out = new Uint8Array(10 + header.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(body, 10 + header.length);
  return out;
}

Deno.test("reads a float32 file laid out exactly as numpy.save writes it, and writes the same bytes", () => {
  const values = Float32Array.from([0, 1.5, -2, 3.25, 1e-8, 6]);
  const bytes = numpyBytes(
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
    new Uint8Array(values.buffer),
  );
  assertEquals(bytes.length % 64, 24); // 64-byte header + 24 data bytes
  const a = decodeNpy(bytes);
  assertEquals(a.dtype, "float32");
  assertEquals(a.shape, [2, 3]);
  assertEquals(Array.from(a.data as Float32Array), Array.from(values));
  assertEquals(encodeNpy(values, [2, 3]), bytes);
});

Deno.test("numpy's 1-d and scalar shapes and v2.0 headers decode", () => {
  const v = BigInt64Array.from([1n, -2n, 3n]);
  const one = numpyBytes(
    "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
    new Uint8Array(v.buffer),
  );
  assertEquals(decodeNpy(one).shape, [3]);
  assertEquals(Array.from(decodeNpy(one).data as BigInt64Array), [1n, -2n, 3n]);
  const scalar = numpyBytes(
    "{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
    new Uint8Array(Float64Array.from([Math.PI]).buffer),
  );
  assertEquals(decodeNpy(scalar).shape, []);
  assertEquals((decodeNpy(scalar).data as Float64Array)[0], Math.PI);
  // v2.0: 4-byte header length.
  const h = "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }\n";
  const v2 = new Uint8Array(12 + h.length + 2);
  v2.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, h.length, 0, 0, 0]);
  for (let i = 0; i < h.length; i++) v2[12 + i] = h.charCodeAt(i);
  v2.set([7, 9], 12 + h.length);
  assertEquals(Array.from(decodeNpy(v2).data as Uint8Array), [7, 9]);
});

Deno.test("every dtype round-trips through a file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cases: [NpyDType, NpyData, number[]][] = [
      ["float32", Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), [2, 2, 2]],
      ["float64", Float64Array.from([0.1, 0.2, 0.3]), [3]],
      ["int32", Int32Array.from([-1, 2, -3, 4]), [1, 4]],
      ["int64", BigInt64Array.from([-(2n ** 40n), 5n]), [2, 1]],
      ["uint8", Uint8Array.from([0, 128, 255]), [3, 1, 1]],
      ["bool", Uint8Array.from([1, 0, 0, 1]), [2, 2]],
    ];
    for (const [dtype, data, shape] of cases) {
      const path = `${dir}/${dtype}.npy`;
      await writeNpy(path, data, shape, dtype);
      const back = await readNpy(path);
      assertEquals(back.dtype, dtype);
      assertEquals(back.shape, shape);
      assertEquals(
        Array.from(back.data as ArrayLike<unknown>),
        Array.from(data as ArrayLike<unknown>),
      );
      const bytes = await Deno.readFile(path);
      assert((bytes.length - back.data.byteLength) % 64 === 0, "data starts 64-aligned");
    }
    assertEquals([...Deno.readDirSync(dir)].length, cases.length, "no temporary files left");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("errors name the file and the problem", async () => {
  assertThrows(() => decodeNpy(new Uint8Array(20), "x.npy"), /x\.npy.*bad magic/);
  const big = numpyBytes(
    "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
    new Uint8Array(4),
  );
  assertThrows(() => decodeNpy(big, "be.npy"), /be\.npy.*unsupported dtype '>f4'/);
  const fortran = numpyBytes(
    "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }",
    new Uint8Array(4),
  );
  assertThrows(() => decodeNpy(fortran, "f.npy"), /f\.npy.*Fortran/);
  const short = numpyBytes(
    "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }",
    new Uint8Array(8),
  );
  assertThrows(() => decodeNpy(short, "s.npy"), /s\.npy.*truncated/);
  assertThrows(() => encodeNpy(new Float32Array(3), [2, 2]), /holds 4 values/);
  await assertRejects(() => readNpy("/nonexistent/a.npy"), /a\.npy|No such file/);
  await assertRejects(
    () => writeNpy("/nonexistent/dir/a.npy", new Float32Array(1), [1]),
    /nonexistent\/dir\/a\.npy/,
  );
});
