/** Loads a JSON config and validates it; every error starts with the file name and the path. */
import { ConfigError, type Schema } from "../lib/schema.ts";
import { jsonSyntaxReason } from "../lib/json_reason.ts";

export async function loadConfig<T>(
  file: string,
  schema: Schema<T>,
): Promise<{ config: T; raw: unknown; text: string }> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new Error(
      `${file}: cannot read config (${
        e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message
      })`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message);
    let where = "";
    if (m) {
      const pos = Number(m[1]);
      const before = text.slice(0, pos);
      where = ` at line ${before.split("\n").length}, column ${pos - before.lastIndexOf("\n")}`;
    }
    throw new Error(`${file}: invalid JSON${where}: ${jsonSyntaxReason(e)}`);
  }
  try {
    return { config: schema.parse(raw, "config"), raw, text };
  } catch (e) {
    if (e instanceof ConfigError) throw new Error(`${file}: ${e.message}`);
    throw e;
  }
}
