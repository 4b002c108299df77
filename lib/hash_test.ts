import { assert, assertEquals, assertNotEquals, assertThrows } from "../tests/assert.ts";
import {
  canonicalJson,
  codeClosure,
  hashJson,
  localImports,
  locatedFiles,
  sha256,
} from "./hash.ts";

Deno.test("canonical JSON ignores key order at every depth but not array order", () => {
  assertEquals(
    canonicalJson({ b: 1, a: { d: [1, 2], c: null } }),
    '{"a":{"c":null,"d":[1,2]},"b":1}',
  );
  assertEquals(hashJson({ x: 1, y: { p: 2, q: 3 } }), hashJson({ y: { q: 3, p: 2 }, x: 1 }));
  assertNotEquals(hashJson([1, 2]), hashJson([2, 1]));
  assertNotEquals(hashJson({ a: 1 }), hashJson({ a: "1" }));
  assertEquals(hashJson({ a: 1, b: undefined }), hashJson({ a: 1 }));
});

Deno.test("canonical JSON refuses values it cannot represent, naming the path", () => {
  assertThrows(() => canonicalJson({ a: [1, NaN] }), /\$\.a\[1\]/);
  assertThrows(() => canonicalJson({ f: () => 1 }), /\$\.f/);
});

Deno.test("sha256 matches a known digest", () => {
  assertEquals(sha256("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
});

Deno.test("localImports finds static, re-export and dynamic relative imports only", () => {
  const src = `import { a } from "./a.ts";\nimport * as ort from "onnxruntime-node";\n` +
    `export { b } from '../b.ts';\nconst c = await import("./c.ts");\nimport "./side.ts";`;
  assertEquals(localImports(src).sort(), ["../b.ts", "./a.ts", "./c.ts", "./side.ts"]);
});

Deno.test("type-only imports are left out of a code closure, a mixed import is not", async () => {
  const src = `import type { A } from "./types.ts";\nexport type { B } from "./more_types.ts";\n` +
    `import { type C, d } from "./mixed.ts";\n;import type D from "./default_type.ts";`;
  assertEquals(localImports(src).sort(), [
    "./default_type.ts",
    "./mixed.ts",
    "./more_types.ts",
    "./types.ts",
  ]);
  assertEquals(localImports(src, { types: false }), ["./mixed.ts"]);
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/types.ts`, "export interface A { a: number }\n");
  await Deno.writeTextFile(`${dir}/run.ts`, "export const r = 1;\n");
  await Deno.writeTextFile(
    `${dir}/top.ts`,
    'import type { A } from "./types.ts";\nimport { r } from "./run.ts";\n',
  );
  const files = Object.keys((await codeClosure(`${dir}/top.ts`)).files).map((f) =>
    f.split("/").at(-1)
  );
  assertEquals(files.sort(), ["run.ts", "top.ts"]);
});

Deno.test("locatedFiles finds files located relative to the module: workers, data files", () => {
  const src = `new Worker(new URL("./worker_main.ts", import.meta.url).href);\n` +
    `const facts = new URL( '../report/facts.json' , import.meta.url);\n` +
    `const elsewhere = new URL("./x.json", base);\nconst abs = new URL("https://e.org/y.ts", import.meta.url);`;
  assertEquals(locatedFiles(src).sort(), ["../report/facts.json", "./worker_main.ts"]);
  assertEquals(localImports(src), []);
});

Deno.test("code closure covers a worker's entry and a located data file", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/helper.ts`, "export const h = 1;\n");
  await Deno.writeTextFile(`${dir}/worker_main.ts`, 'import { h } from "./helper.ts";\n');
  await Deno.writeTextFile(`${dir}/facts.json`, '{"a": 1}\n');
  await Deno.writeTextFile(
    `${dir}/top.ts`,
    'new Worker(new URL("./worker_main.ts", import.meta.url).href);\n' +
      'Deno.readTextFile(new URL("./facts.json", import.meta.url));\n' +
      '// new URL("./not_here.json", import.meta.url) is only a comment\n',
  );
  const a = await codeClosure(`${dir}/top.ts`);
  assertEquals(
    Object.keys(a.files).map((f) => f.split("/").at(-1)).sort(),
    ["facts.json", "helper.ts", "top.ts", "worker_main.ts"],
  );
  const dir2 = await Deno.makeTempDir();
  for (const f of ["helper.ts", "worker_main.ts", "top.ts"]) {
    await Deno.copyFile(`${dir}/${f}`, `${dir2}/${f}`);
  }
  await Deno.writeTextFile(`${dir2}/facts.json`, '{"a": 2}\n');
  assert((await codeClosure(`${dir2}/top.ts`)).hash !== a.hash, "editing facts.json must re-key");
});

Deno.test("code closure changes when a transitively imported module changes", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/leaf.ts`, "export const x = 1;\n");
  await Deno.writeTextFile(`${dir}/mid.ts`, 'export { x } from "./leaf.ts";\n');
  await Deno.writeTextFile(`${dir}/top.ts`, 'import { x } from "./mid.ts";\nconsole.log(x);\n');
  await Deno.writeTextFile(`${dir}/other.ts`, "export const y = 2;\n");
  const a = await codeClosure(`${dir}/top.ts`);
  assertEquals(Object.keys(a.files).length, 3);
  const dir2 = await Deno.makeTempDir();
  for (const f of ["leaf", "mid", "top"]) await Deno.copyFile(`${dir}/${f}.ts`, `${dir2}/${f}.ts`);
  await Deno.writeTextFile(`${dir2}/leaf.ts`, "export const x = 2;\n");
  const b = await codeClosure(`${dir2}/top.ts`);
  assert(a.hash !== b.hash, "editing leaf.ts must change the closure hash");
});
