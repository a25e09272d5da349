import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const FILE = "burrow-heap-trim.node";

let addon: { trim(): Promise<boolean> } | null | undefined;

function load(): { trim(): Promise<boolean> } | null {
  const here = dirname(fileURLToPath(import.meta.url));
  // Beside the server bundle in dist/ (or one level up from dist/chunks/), or dist/ from a source checkout.
  for (const c of [join(here, FILE), join(here, "..", FILE), join(here, "..", "..", "..", "dist", FILE)])
    if (existsSync(c)) return createRequire(import.meta.url)(c) as { trim(): Promise<boolean> };
  return null; // built without Node's headers (see scripts/build.mjs): memory is still freed, only not given back
}

/**
 * Give the heap's free pages back to the kernel, after work that freed a lot
 * of native memory at once (an eviction sweep). Runs on the thread pool.
 * Resolves to whether anything was released; false as well where the addon
 * was not built.
 */
export async function releaseFreedHeap(): Promise<boolean> {
  if (addon === undefined) addon = load();
  return addon ? addon.trim() : false;
}
