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
  const ok = await run(["grad-check", "--model", CNN, "--target", "prob", "--directions", "2"]);
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
      ["--threshold", "0", "--threshold: expected positive numbers"],
      ["--threshold", "1e-3,1e-2", "--threshold: expected one number"],
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
});
