import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeTree } from "../src/confine/index.js";
import { ImageStore } from "../src/images/index.js";
import { report } from "./stats.js";

/**
 * How long the default image takes to build: a whole build of Burrow's
 * package list with mmdebstrap, into a scratch cache (the machine's shared
 * cache, and the versions sandboxes stand on, are not touched).
 */
export async function benchImages(): Promise<void> {
  console.log("\n## Images");
  const cache = mkdtempSync(join(tmpdir(), "burrow-bench-images-"));
  try {
    const store = new ImageStore(cache);
    const t = performance.now();
    const version = await store.ensureDefault();
    const s = (performance.now() - t) / 1000;
    const size = store.meta("default", version).sizeBytes ?? 0;
    report(`default image build (mmdebstrap, ${(size / 1e6).toFixed(0)} MB)`, `${s.toFixed(0)} s`, "<= 120 s", "", s <= 120);
    report("a new version with one package more", "a whole build", "<= 60 s if layered", "versions are not layered yet: a new list is a full build beside the old one");
  } finally {
    await removeTree(cache);
  }
}
