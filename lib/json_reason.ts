/**
 * Why a text is not JSON, without quoting it. V8's messages carry an excerpt of the text
 * (`Unexpected token 'r', "root:x:0:0:"... is not valid JSON`), and a path given by mistake may
 * name a file whose contents must never reach a terminal or a log: errors name the file and the
 * reason only.
 */
export function jsonSyntaxReason(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  // V8 quotes the text around the offending character without escaping its quotes, so no pattern
  // can cut the excerpt out reliably: a message of that form is replaced whole.
  if (/is not valid JSON\s*$/.test(message)) return "Unexpected character";
  return message.trim() || "not valid JSON";
}
