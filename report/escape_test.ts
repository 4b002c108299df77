import assert from "node:assert/strict";
import {
  encodePath,
  escapeHtml,
  escapeMarkdown,
  inlineScriptSource,
  jsonForScript,
} from "./escape.ts";

const HOSTILE = "<script>alert(1)</script>";

Deno.test("escapeHtml leaves no markup characters", () => {
  const s = escapeHtml(`${HOSTILE} "a" 'b' & \`c\``);
  assert.doesNotMatch(s, /[<>"'`]/);
  assert.equal(
    s,
    "&lt;script&gt;alert(1)&lt;/script&gt; &quot;a&quot; &#39;b&#39; &amp; &#96;c&#96;",
  );
});

Deno.test("jsonForScript cannot close the script element and round-trips", () => {
  const v = { label: `${HOSTILE}<!-- & \u2028\u2029`, n: [1, 2] };
  const s = jsonForScript(v);
  assert.doesNotMatch(s, /[<>&\u2028\u2029]/);
  assert.deepEqual(JSON.parse(s), v);
});

Deno.test("escapeMarkdown neutralises table and inline syntax", () => {
  const s = escapeMarkdown(`a|b ${HOSTILE} *x* _y_ [l](u) \`c\` #h\nnext`);
  assert.doesNotMatch(s, /<|>/);
  // Every markdown metacharacter is preceded by a backslash.
  for (const m of s.matchAll(/[|*_\[\]`#]/g)) assert.equal(s[m.index! - 1], "\\", s);
  assert.ok(!s.includes("\n"));
  assert.ok(s.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
});

Deno.test("encodePath keeps slashes and encodes the rest", () => {
  assert.equal(encodePath("figures/a b<c>.png"), "figures/a%20b%3Cc%3E.png");
});

Deno.test("inlineScriptSource rewrites </script and refuses <!--", () => {
  const src = 'var s = "</script><p>"; var r = /<\\/SCRIPT/;';
  const out = inlineScriptSource(src);
  assert.doesNotMatch(out, /<\/script/i);
  // Same string value after the rewrite.
  assert.equal(new Function(out + "; return s;")(), "</script><p>");
  assert.throws(() => inlineScriptSource("a<!--b", "lib.js"), /lib\.js/);
});
