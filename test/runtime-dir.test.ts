import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RUNTIME_NODE_FLAGS, runtimeDirName } from "../src/images/index.js";

// The runtime's cache directory holds a code cache and a startup snapshot that V8 accepts only from the same
// Node with the same flags: its name must change with anything they were made from, and with nothing else.
describe("the runtime directory's name in the cache", () => {
  it("changes with the runtime's files and with its Node flags, not with source maps or caches", () => {
    const dist = mkdtempSync(join(tmpdir(), "burrow-rtdir-"));
    try {
      writeFileSync(join(dist, "main.js"), "one");
      const base = runtimeDirName(dist);
      assert.match(base, /^[0-9a-f]{16}$/);
      assert.equal(runtimeDirName(dist), base, "the name is not stable");
      assert.equal(runtimeDirName(dist, RUNTIME_NODE_FLAGS), base);
      assert.notEqual(runtimeDirName(dist, [...RUNTIME_NODE_FLAGS, "--max-semi-space-size=4"]), base, "other flags must make another directory");
      writeFileSync(join(dist, "main.js.map"), "{}");
      writeFileSync(join(dist, "main.js.cache"), "x");
      assert.equal(runtimeDirName(dist), base, "source maps and code caches are not inputs");
      writeFileSync(join(dist, "main.js"), "two");
      assert.notEqual(runtimeDirName(dist), base, "a changed bundle must make another directory");
    } finally {
      rmSync(dist, { recursive: true, force: true });
    }
  });
});
