import { assert, assertEquals } from "../tests/assert.ts";
import { main } from "./main.ts";

const CNN = new URL("../zoo/models/cnn-bn.onnx", import.meta.url).pathname;

/** Runs the CLI, returning its exit code, stdout and stderr lines. */
async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    return { code: await main(argv), out: out.join("\n"), err: err.join("\n") };
  } finally {
    Object.assign(console, { log, error });
  }
}

Deno.test("grad-check: JSON verdict, exit 0 within the threshold and 1 above it", async () => {
  const card = CNN.replace(/\.onnx$/, ".json"); // its own card: sha256 matches
  const ok = await run([
    "grad-check",
    "--model",
    CNN,
    "--card",
    card,
    "--target",
    "prob",
    "--directions",
    "2",
  ]);
  assertEquals(ok.code, 0, ok.err);
  const r = JSON.parse(ok.out);
  assertEquals([r.target, r.passed, r.threshold, r.perDirection.length], ["prob", true, 1e-3, 2]);
  assert(
    /grad-check passed: worst relative error .* <= 0\.001 \(prob; 0\/2 directions/.test(ok.err),
  );
  const strict = await run([
    "grad-check",
    "--model",
    CNN,
    "--directions",
    "1",
    "--threshold",
    "1e-12",
  ]);
  assertEquals(strict.code, 1);
  assertEquals(JSON.parse(strict.out).passed, false);
  assert(strict.err.includes("grad-check FAILED"), strict.err);
});

Deno.test("grad-check: bad --target, --threshold and --eps are usage errors", async () => {
  for (
    const [flag, value, message] of [
      ["--target", "probs", "--target: expected logit or prob"],
      [
        "--threshold",
        "0",
        '--threshold: expected one number above 0 (the worst relative error that passes, default 0.001), got "0"',
      ],
      ["--threshold", "1e-3,1e-2", "--threshold: expected one number above 0"],
      ["--eps", "0.1,x", "--eps: expected positive numbers"],
    ]
  ) {
    const r = await run(["grad-check", "--model", CNN, flag, value]);
    assertEquals(r.code, 2);
    assert(r.err.includes(message), r.err);
  }
  const help = await run(["grad-check", "--help"]);
  assert(
    help.out.includes("exit 1 when the worst relative error exceeds --threshold (default 1e-3)"),
  );
  assert(help.out.includes("2 when no check was made"), help.out);
});

Deno.test("grad-check: a model or card that cannot be read, or another model's card, exit 2", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const missing = await run(["grad-check", "--model", `${dir}/absent.onnx`]);
    assertEquals(missing.code, 2, missing.err);
    assert(missing.err.includes(`${dir}/absent.onnx: cannot read model`), missing.err);
    const notOnnx = `${dir}/not.onnx`;
    await Deno.writeTextFile(notOnnx, "not a model");
    assertEquals((await run(["grad-check", "--model", notOnnx])).code, 2);
    const badCard = `${dir}/card.json`;
    await Deno.writeTextFile(badCard, "{ nope");
    const bad = await run(["grad-check", "--model", CNN, "--card", badCard]);
    assertEquals(bad.code, 2);
    assert(bad.err.includes(`${badCard}: card is not valid JSON`), bad.err);
    const other = new URL("../zoo/models/vit-ln.json", import.meta.url).pathname;
    const wrong = await run(["grad-check", "--model", CNN, "--card", other]);
    assertEquals(wrong.code, 2, wrong.err);
    assert(
      /--card .*vit-ln\.json: the card is model "vit-ln"'s \(sha256 [0-9a-f]{12}…\), not cnn-bn\.onnx's/
        .test(wrong.err),
      wrong.err,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
