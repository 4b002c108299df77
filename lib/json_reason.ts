/**
 * Why a text is not JSON, without quoting it. V8's messages carry an excerpt of the text
 * (`Unexpected token 'r', "root:x:0:0:"... is not valid JSON`), and a path given by mistake may
 * name a file whose contents must never reach a terminal or a log: errors name the file and the
 * reason only.
 */
export function jsonSyntaxReason(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.replace(/,?\s*"(?:[^"\\]|\\.)*"(?:\.\.\.)?\s*is not valid JSON/s, "")
    // The offending character is the file's too.
    .replace(/Unexpected token '(?:[^'\\]|\\.)*'/, "Unexpected character")
    .trim() || "not valid JSON";
}
