/**
 * Why `id` cannot name a run, or null. A run id names one folder under reports/: letters, digits,
 * `.`, `_` and `-`, starting with a letter or digit, no `..`, at most 128 characters, and not
 * `latest` or `latest.*` (the copy of the newest run, and its copies while it is replaced) or
 * `expected` (CI's baselines). So `""`, `.` or `../artifacts/x` never reach the disk.
 */
export function runIdProblem(id: string): string | null {
  if (id === "") return "is empty";
  if (id.length > 128) return "is longer than 128 characters";
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id)) {
    return "may hold only letters, digits, '.', '_' and '-', and must start with a letter or digit";
  }
  if (id.includes("..")) return "may not contain '..'";
  if (id === "latest" || id.startsWith("latest.")) {
    return "is reserved for the copy of the newest run and its temporary copies";
  }
  if (id === "expected") return "is reserved for the committed expected results (reports/expected)";
  return null;
}
