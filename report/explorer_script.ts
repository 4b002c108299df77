/**
 * The explorer's browser script (report/explorer.js), read once to be inlined in report.html. A
 * plain JavaScript file so that it runs as written, linted with the rest.
 */
import { fileURLToPath } from "node:url";

export const EXPLORER_SCRIPT = new URL("./explorer.js", import.meta.url);

export async function readExplorerScript(): Promise<string> {
  const path = fileURLToPath(EXPLORER_SCRIPT);
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(`cannot read the explorer's script ${path}: ${(e as Error).message}`);
  }
}
