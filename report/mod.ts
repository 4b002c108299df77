/** The report renderer's public surface: renderReport and the ReportInput type it reads. */
export {
  defaults,
  renderReport,
  type RenderReportOptions,
  type RenderReportResult,
  RESULTS_SCHEMA,
} from "./render.ts";
export * from "./input.ts";
export type { PaperFacts } from "./paper.ts";
