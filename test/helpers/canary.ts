import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";

/**
 * Host files outside any data directory that an attack tries to reach: a
 * directory with a file and a subdirectory, and a file beside it. `intact`
 * asserts nothing in it changed, was added or went away.
 */
export function hostCanary(): { dir: string; file: string; intact(): void; remove(): void } {
  const root = mkdtempSync(join(tmpdir(), "burrow-canary-"));
  const dir = join(root, "dir");
  mkdirSync(join(dir, "subdir"), { recursive: true });
  writeFileSync(join(dir, "victim"), "canary\n");
  writeFileSync(join(dir, "subdir", "x"), "canary\n");
  const file = join(root, "file");
  writeFileSync(file, "canary\n");
  const snapshot = () =>
    readdirSync(root, { recursive: true, encoding: "utf8" })
      .sort()
      .map((p) => {
        const st = statSync(join(root, p));
        return `${p} ${st.mode.toString(8)} ${st.uid} ${st.isFile() ? readFileSync(join(root, p), "utf8") : ""}`;
      });
  const before = snapshot();
  return {
    dir,
    file,
    intact: () => assert.deepEqual(snapshot(), before, "the host canary changed"),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}
