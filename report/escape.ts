/**
 * Escaping for user-controlled strings (class names, model ids, file names) in every output format.
 * The report is a file people open in a browser: a label must never become markup or script.
 */

const HTML: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
  "`": "&#96;",
};

/** Escapes text for HTML element content and quoted attribute values alike. */
export function escapeHtml(s: string): string {
  return String(s).replace(/[&<>"'`]/g, (c) => HTML[c]);
}

/**
 * Serialises a value as JSON that is safe inside an inline `<script>` element: `<`, `>` and `&` become
 * `\u003c` etc. (so `</script>` and `<!--` cannot appear), and U+2028/2029 are escaped for old parsers.
 */
export function jsonForScript(v: unknown): string {
  return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => {
    return "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0");
  });
}

/**
 * Escapes text for a Markdown table cell: backslash-escapes Markdown punctuation and `|`, and turns
 * `<`/`>` into entities so inline HTML never renders. Newlines become spaces (a cell is one line).
 */
export function escapeMarkdown(s: string): string {
  return String(s)
    .replace(/\r?\n|\r/g, " ")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/[\\|`*_\[\]#]/g, (c) => "\\" + c);
}

/** Percent-encodes a relative path for a link target (Markdown or HTML), keeping the slashes. */
export function encodePath(p: string): string {
  return p.split("/").map(encodeURIComponent).join("/");
}

/**
 * Prepares a third-party script body for an inline `<script>`: `</script` would end the element, so it
 * becomes `<\/script` (same meaning in strings and regexes). `<!--` has no safe rewrite for every
 * literal kind, so it is refused with the script's name.
 */
export function inlineScriptSource(src: string, name = "script"): string {
  if (src.includes("<!--")) {
    throw new Error(`${name}: contains "<!--", which cannot be inlined safely in <script>`);
  }
  return src.replace(/<\/(script)/gi, "<\\/$1");
}
