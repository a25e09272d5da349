import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

const ADDON = new URL("../dist/burrow-heap-trim.node", import.meta.url).pathname;

// A child fills glibc's heap with 16 KiB buffers (below the mmap threshold, so they come from the heap),
// pins the top with one more, frees the rest and collects them, then trims: the free pages between the
// pin and the start of the heap can only go back to the kernel through malloc_trim.
const CHILD = `
const { trim } = require(${JSON.stringify(ADDON)});
const rss = () => process.memoryUsage().rss / 2 ** 20;
let bufs = Array.from({ length: 6000 }, () => Buffer.alloc(16384, 1));
const pin = Buffer.alloc(16384, 2);
bufs = null;
gc(); gc();
const before = rss();
trim().then((released) => console.log(JSON.stringify({ released, before, after: rss(), pin: pin[0] })));
`;

describe("the heap-trim addon gives freed C heap back to the kernel", () => {
  it("is built beside the server", () => {
    assert.ok(existsSync(ADDON), `${ADDON} is missing: scripts/build.mjs builds it with gcc and Node's headers`);
  });

  it("drops the RSS of a process whose heap holds ~90 MB of freed buffers", () => {
    const out = JSON.parse(execFileSync(process.execPath, ["--expose-gc", "-e", CHILD], { encoding: "utf8" })) as { released: boolean; before: number; after: number };
    assert.equal(out.released, true);
    assert.ok(out.before - out.after > 50, `RSS went from ${out.before.toFixed(0)} to ${out.after.toFixed(0)} MB`);
  });

  it("resolves through the server's wrapper", async () => {
    const { releaseFreedHeap } = await import("../src/lib/heap-trim/index.js");
    assert.equal(typeof (await releaseFreedHeap()), "boolean");
  });
});
