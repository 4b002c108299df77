/**
 * Headless figure rendering: Vega-Lite spec → Vega → SVG (no DOM, no canvas) → PNG with sharp. The
 * same spec is embedded live in report.html, so the static files and the page show the same chart.
 */
import * as vl from "vega-lite";
import * as vega from "vega";
import sharp from "sharp";
import type { TopLevelSpec } from "vega-lite";

export interface RenderOptions {
  /** PNG pixels per SVG pixel. */
  pngScale: number;
}

export const defaults: RenderOptions = { pngScale: 2 };

export interface RenderedFigure {
  /** The compiled Vega spec. */
  vega: vega.Spec;
  svg: string;
  png: Uint8Array;
}

/** Compiles a Vega-Lite spec; `name` is the figure named in errors. */
export function compileSpec(spec: TopLevelSpec, name: string): vega.Spec {
  const warnings: string[] = [];
  const logger = {
    level: () => logger,
    error: (...a: unknown[]) => {
      throw new Error(`figure ${name}: vega-lite: ${a.join(" ")}`);
    },
    warn: (...a: unknown[]) => {
      warnings.push(a.join(" "));
      return logger;
    },
    info: () => logger,
    debug: () => logger,
  };
  try {
    // deno-lint-ignore no-explicit-any
    return vl.compile(spec, { logger: logger as any }).spec;
  } catch (e) {
    throw new Error(`figure ${name}: vega-lite compile failed: ${(e as Error).message}`);
  }
}

/** Renders one spec to SVG and PNG. */
export async function renderFigure(
  spec: TopLevelSpec,
  name: string,
  options: Partial<RenderOptions> = {},
): Promise<RenderedFigure> {
  const o = { ...defaults, ...options };
  // Vega tags data objects it ingests; compile a copy so the caller's spec and input stay untouched.
  const vgSpec = compileSpec(structuredClone(spec), name);
  const view = new vega.View(vega.parse(vgSpec), { renderer: "none" });
  let svg: string;
  try {
    svg = await view.toSVG();
  } catch (e) {
    throw new Error(`figure ${name}: vega rendering failed: ${(e as Error).message}`);
  } finally {
    view.finalize();
  }
  const png = await sharp(new TextEncoder().encode(svg), { density: 72 * o.pngScale })
    .png()
    .toBuffer();
  return { vega: vgSpec, svg, png: new Uint8Array(png) };
}
