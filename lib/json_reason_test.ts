import assert from "node:assert/strict";
import { jsonSyntaxReason } from "./json_reason.ts";

const reason = (text: string) => {
  try {
    JSON.parse(text);
  } catch (e) {
    return jsonSyntaxReason(e);
  }
  throw new Error("parsed");
};

Deno.test("JSON syntax errors keep the reason and the position, never the text", () => {
  for (
    const text of [
      "root:x:0:0:root:/root:/bin/bash\nsecond line",
      '{"password": hunter2}',
      `{"a": "${"s".repeat(200)}" hunter2`,
      "hunter2",
      // V8 quotes these excerpts without escaping their quotes.
      '{"password_is_hunter2": x}',
      '["hunter2",]',
      '{"a":1,\n "token-hunter2": }',
    ]
  ) {
    const r = reason(text);
    assert.ok(!/root:x|hunter2|sss/.test(r), `"${r}" quotes the text`);
    assert.ok(r.length > 0);
  }
  assert.match(reason('{"a":1,}'), /position 7/);
  assert.equal(
    reason('{"a": 1'),
    "Expected ',' or '}' after property value in JSON at position 7 (line 1 column 8)",
  );
  // Not even the first character of the file is quoted.
  assert.equal(reason("root:x"), "Unexpected character");
});
