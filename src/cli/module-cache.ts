import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Compiled user modules (`--agents`, `--config` in TypeScript), kept in the
 * cache directory so a restart imports last start's output instead of
 * loading esbuild and compiling again (~60 ms of a start). An entry is used
 * only while every file that went into it still has the content it had.
 */
interface Entry {
  /** The compiled module, beside this entry. */
  out: string;
  /** Every file compiled into it (the user's own: installed packages are imported as they are), by sha256. */
  inputs: Record<string, string>;
}

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

export class ModuleCache {
  private readonly dir: string;

  /** `key` names what else the output depends on (this build of Burrow, the compile options). */
  constructor(cacheDir: string, private readonly key: string) {
    this.dir = join(cacheDir, "modules");
  }

  private entryFile(source: string): string {
    return join(this.dir, `${createHash("sha256").update(`${this.key}\0${source}`).digest("hex").slice(0, 24)}.json`);
  }

  /** The compiled module's path if the cached one is still what `source` compiles to, else undefined. */
  lookup(source: string): string | undefined {
    try {
      const entry = this.read(this.entryFile(source));
      if (!entry) return undefined;
      const out = join(this.dir, entry.out);
      if (!existsSync(out)) return undefined;
      for (const [file, hash] of Object.entries(entry.inputs)) if (!existsSync(file) || sha256(file) !== hash) return undefined;
      return out;
    } catch {
      return undefined; // none yet, or unreadable: compile
    }
  }

  /** Keep `code`, compiled from `inputs` (absolute paths), as `source`'s module; its path. */
  store(source: string, code: string, inputs: string[]): string {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const out = `${createHash("sha256").update(code).digest("hex").slice(0, 24)}.mjs`;
    const outPath = join(this.dir, out);
    const entry: Entry = { out, inputs: Object.fromEntries(inputs.map((f) => [f, sha256(f)])) };
    // Each write lands whole (a rename), so a start cut short leaves no half file that a later one would import.
    writeFileSync(`${outPath}.tmp`, code);
    renameSync(`${outPath}.tmp`, outPath);
    const entryFile = this.entryFile(source);
    const previous = this.read(entryFile);
    writeFileSync(`${entryFile}.tmp`, JSON.stringify(entry));
    renameSync(`${entryFile}.tmp`, entryFile);
    // The output this one replaces goes (were another source to compile to the very same code, its lookup finds the file gone and compiles again).
    if (previous && previous.out !== out && !previous.out.includes("/")) rmSync(join(this.dir, previous.out), { force: true });
    return outPath;
  }

  private read(entryFile: string): Entry | undefined {
    try {
      return JSON.parse(readFileSync(entryFile, "utf8")) as Entry;
    } catch {
      return undefined;
    }
  }
}
