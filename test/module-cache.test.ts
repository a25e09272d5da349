import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importUserModule } from "../src/cli/load-module.js";
import { ModuleCache } from "../src/cli/module-cache.js";

describe("compiled user modules are cached while their files are unchanged", () => {
  const dir = mkdtempSync(join(tmpdir(), "burrow-module-cache-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("imports last compile's output until a file that went into it changes", async () => {
    const cacheDir = join(dir, "cache");
    const main = join(dir, "main.ts");
    const helper = join(dir, "helper.ts");
    writeFileSync(helper, "export const base: number = 40;\n");
    writeFileSync(main, 'import { base } from "./helper.js";\nexport const answer: number = base + 2;\n');
    assert.equal((await importUserModule(main, { cacheDir })).answer, 42);
    const modules = join(cacheDir, "modules");
    const outputs = () => readdirSync(modules).filter((f) => f.endsWith(".mjs"));
    assert.equal(outputs().length, 1);
    // Unchanged: the cache answers, nothing is compiled or written again (what a restart imports without esbuild).
    const written = () => readdirSync(modules).map((f) => `${f} ${statSync(join(modules, f)).mtimeMs}`).sort();
    const before = written();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal((await importUserModule(main, { cacheDir })).answer, 42);
    assert.deepEqual(written(), before);
    // An imported file changed: compiled again, the old output removed.
    writeFileSync(helper, "export const base: number = 50;\n");
    assert.equal((await importUserModule(main, { cacheDir })).answer, 52);
    assert.equal(outputs().length, 1);
    // A file gone or changed is never served from the cache; an untouched one is.
    const cache = new ModuleCache(cacheDir, "test");
    const stored = cache.store(main, "export const answer = 1;\n", [main, helper]);
    assert.equal(cache.lookup(main), stored);
    writeFileSync(helper, "export const base: number = 60;\n");
    assert.equal(cache.lookup(main), undefined);
    assert.ok(existsSync(stored));
  });
});
