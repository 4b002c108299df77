/**
 * Finds the browser builds of vega, vega-lite and vega-embed inside the installed npm packages, so
 * report.html can inline them and work offline. Missing packages fail with the command that fixes it.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface VendorScript {
  pkg: string;
  version: string;
  /** Absolute path of the UMD/min build that was read. */
  path: string;
  source: string;
}

/** The three libraries in load order (vega-lite and vega-embed expect the globals before them). */
export const PACKAGES = ["vega", "vega-lite", "vega-embed"] as const;

/** Walks up from a resolved entry file to the directory holding the package's package.json. */
async function packageDir(entry: string, pkg: string): Promise<string> {
  let dir = dirname(entry);
  for (let i = 0; i < 6; i++) {
    try {
      const meta = JSON.parse(await Deno.readTextFile(join(dir, "package.json")));
      if (meta.name === pkg) return dir;
    } catch {
      // not this level
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error(`${pkg}: no package.json named "${pkg}" above ${entry}`);
}

function resolveEntry(pkg: string): string {
  let url: string;
  try {
    url = import.meta.resolve(pkg);
  } catch (e) {
    throw new Error(
      `${pkg}: cannot resolve (is it in deno.json "imports"?): ${(e as Error).message}`,
    );
  }
  if (!url.startsWith("file:")) {
    throw new Error(
      `${pkg}: resolved to ${url}, not a file in node_modules; run \`deno install\` ` +
        `(deno.json needs "nodeModulesDir": "auto")`,
    );
  }
  return fileURLToPath(url);
}

/**
 * Literal dynamic imports: they put the packages in Deno's module graph, so `nodeModulesDir: auto`
 * installs them; one is called only when a package cannot be located, to force its installation.
 */
const LOADERS: Record<string, () => Promise<unknown>> = {
  "vega": () => import("vega"),
  "vega-lite": () => import("vega-lite"),
  "vega-embed": () => import("vega-embed"),
};

/** Reads one package's browser build: the file its package.json names as `unpkg`/`jsdelivr`. */
export async function readVendorScript(pkg: string): Promise<VendorScript> {
  let dir: string;
  try {
    dir = await packageDir(resolveEntry(pkg), pkg);
  } catch (first) {
    if (!LOADERS[pkg]) throw first;
    await LOADERS[pkg]().catch(() => undefined);
    dir = await packageDir(resolveEntry(pkg), pkg);
  }
  const meta = JSON.parse(await Deno.readTextFile(join(dir, "package.json")));
  const rel: string | undefined = meta.unpkg ?? meta.jsdelivr;
  if (!rel) throw new Error(`${join(dir, "package.json")}: no "unpkg" or "jsdelivr" build named`);
  const path = join(dir, rel);
  let source: string;
  try {
    source = await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(`${pkg}: cannot read its browser build ${path}: ${(e as Error).message}`);
  }
  return { pkg, version: meta.version, path, source };
}

/** All three builds, in load order. */
export function readVendorScripts(): Promise<VendorScript[]> {
  return Promise.all(PACKAGES.map(readVendorScript));
}
