// Run every test/*.test.ts with Node's test runner (Node 20 does not expand
// globs itself). Files run one at a time: they share the machine's runc.
// Extra arguments are passed on (e.g. --test-name-pattern=exec).
import { readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";

const root = new URL("..", import.meta.url).pathname;
const files = readdirSync(`${root}/test`).filter((f) => f.endsWith(".test.ts")).sort().map((f) => `test/${f}`);
const only = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const flags = process.argv.slice(2).filter((a) => a.startsWith("--"));
const chosen = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
const r = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=1", "--test-timeout=300000", ...flags, ...chosen], {
  cwd: root,
  stdio: "inherit",
});
process.exit(r.status ?? 1);
