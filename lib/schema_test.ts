import { assert, assertEquals, assertThrows } from "../tests/assert.ts";
import {
  arr,
  editDistance,
  int,
  nullable,
  num,
  obj,
  oneOf,
  optional,
  record,
  str,
} from "./schema.ts";

const model = obj({
  id: str(),
  preprocess: optional(
    obj({ mean: arr(num(), { len: 3 }), crop: optional(int({ min: 1 }), 224) }),
    {
      mean: [0, 0, 0],
      crop: 224,
    },
  ),
  mode: optional(oneOf("bilinear", "nearest"), "bilinear"),
});
const config = obj({ models: arr(model) });

Deno.test("defaults fill omitted keys", () => {
  const c = config.parse({ models: [{ id: "a" }] }, "config");
  assertEquals(c.models[0], {
    id: "a",
    preprocess: { mean: [0, 0, 0], crop: 224 },
    mode: "bilinear",
  });
});

Deno.test("errors name the path", () => {
  const bad = { models: [{ id: "a" }, { id: "b" }, { id: "c", preprocess: { mean: [1, 2] } }] };
  assertThrows(
    () => config.parse(bad, "config"),
    /^config\.models\[2\]\.preprocess\.mean: expected 3 numbers/,
  );
  assertThrows(
    () => config.parse({ models: [{ id: 3 }] }, "config"),
    /config\.models\[0\]\.id: expected a string/,
  );
  assertThrows(
    () => config.parse({ models: [{ id: "a", preprocess: { mean: [0, 0, 0], crop: 0 } }] }, "c"),
    /c\.models\[0\]\.preprocess\.crop: expected an integer in \[1, inf\], got 0/,
  );
});

Deno.test("unknown keys suggest the nearest valid key", () => {
  assertThrows(
    () => config.parse({ models: [{ id: "a", preprocss: {} }] }, "config"),
    /config\.models\[0\]\.preprocss: unknown key, did you mean "preprocess"\?/,
  );
  assertThrows(
    () => config.parse({ models: [{ id: "a", mode: "bilnear" }] }, "config"),
    /did you mean "bilinear"/,
  );
});

Deno.test("keys every object inherits are unknown keys, not known ones", () => {
  for (const key of ["constructor", "toString", "hasOwnProperty", "__proto__"]) {
    // JSON.parse makes `__proto__` an own key, as a config file or --set does.
    const raw = JSON.parse(`{"models": [{"id": "a", "${key}": 1}]}`);
    assertThrows(
      () => config.parse(raw, "config"),
      new RegExp(`^config\\.models\\[0\\]\\.${key}: unknown key`),
    );
  }
  const parsed = record(int()).parse(JSON.parse('{"__proto__": 1, "a": 2}'), "r");
  assertEquals(Object.keys(parsed), ["__proto__", "a"]);
  assertEquals(Object.getPrototypeOf(parsed), Object.prototype, "the prototype is not replaced");
});

Deno.test("nullable takes null or the inner value, and says both when neither", () => {
  const crop = nullable(int({ min: 1 }));
  assertEquals(crop.parse(null, "crop"), null);
  assertEquals(crop.parse(224, "crop"), 224);
  assertThrows(
    () => crop.parse(0, "m.crop"),
    /^m\.crop: expected an integer in \[1, inf\] or null, got number 0$/,
  );
});

Deno.test("edit distance", () => {
  assertEquals(editDistance("kitten", "sitting"), 3);
  assertEquals(editDistance("", "abc"), 3);
});

Deno.test("errors describe a long string by its length and call enum choices values", () => {
  const long = "x".repeat(310);
  const e = assertThrows(() => obj({ chunk: int() }).parse({ chunk: long }, "config"));
  assert(!(e as Error).message.includes("xxxx"), (e as Error).message);
  assert((e as Error).message.endsWith("got a string of 310 characters"), (e as Error).message);
  const m = assertThrows(() => oneOf("distinct", "reference").parse("zzz", "config.beam"));
  assert(!(m as Error).message.includes("valid keys"), (m as Error).message);
  assert((m as Error).message.includes('expected one of "distinct", "reference"'));
});
