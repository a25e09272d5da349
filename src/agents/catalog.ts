import { createHash } from "node:crypto";
import { readdir, stat } from "node:fs/promises";
import { callableOptions } from "./callable.js";
import type { AgentClass } from "./instance.js";

/** A method clients may call over RPC, as a page lists it. */
export interface CallableInfo {
  name: string;
  /** The parameters as the source declares them (a streaming method's stream left out); best effort, for people. */
  params: string;
  streaming: boolean;
  description?: string;
}

/** The text between a function's first "(" and its matching ")". */
function paramsOf(fn: Function): string {
  const src = Function.prototype.toString.call(fn);
  const start = src.indexOf("(");
  if (start < 0) return "";
  let depth = 0;
  for (let i = start; i < src.length; i++) {
    if (src[i] === "(") depth++;
    else if (src[i] === ")" && --depth === 0) return src.slice(start + 1, i).replace(/\s+/g, " ").trim();
  }
  return "";
}

/** The `@callable()` methods of a class, its own and inherited ones (an override keeps its own entry). */
export function callableMethods(cls: AgentClass): CallableInfo[] {
  const out = new Map<string, CallableInfo>();
  for (let p = cls.prototype as object | null; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const key of Object.getOwnPropertyNames(p)) {
      if (key === "constructor" || out.has(key)) continue;
      const fn = Object.getOwnPropertyDescriptor(p, key)?.value;
      const opts = callableOptions(fn);
      if (!opts) continue;
      let params = paramsOf(fn);
      if (opts.streaming) params = params.replace(/^[^,]*,?\s*/, ""); // the StreamingResponse is the page's, not the caller's
      out.set(key, { name: key, params, streaming: opts.streaming === true, ...(opts.description ? { description: opts.description } : {}) });
    }
  }
  return [...out.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The instance names an agent file's name gives back: files are
 * `<name made safe>-<sha256(name) prefix>.db`, so a name is known exactly when
 * its safe form hashes to the prefix (a name of letters, digits, `.`, `_` and
 * `-`, up to 80 long). Others are counted, not named.
 */
export function nameFromFile(file: string): string | undefined {
  const m = /^(.+)-([0-9a-f]{12})\.db$/.exec(file);
  if (!m) return undefined;
  return createHash("sha256").update(m[1]!).digest("hex").slice(0, 12) === m[2] ? m[1] : undefined;
}

export interface StoredInstance {
  name: string;
  /** When its file (or its write-ahead log) last changed. */
  lastWrite: number;
}

/** The instances that have a file in a class's directory, newest write first; `unnamed` counts files whose name cannot be read back. */
export async function storedInstances(dir: string, max = 5000): Promise<{ instances: StoredInstance[]; unnamed: number }> {
  let files: string[];
  try {
    files = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { instances: [], unnamed: 0 };
    throw err;
  }
  const present = new Set(files);
  const dbs = files.filter((f) => f.endsWith(".db"));
  let unnamed = 0;
  const named: { name: string; file: string }[] = [];
  for (const f of dbs) {
    const name = nameFromFile(f);
    if (name === undefined) unnamed++;
    else named.push({ name, file: f });
  }
  const mtime = async (f: string) => (present.has(f) ? (await stat(`${dir}/${f}`).catch(() => undefined))?.mtimeMs ?? 0 : 0);
  const instances = await Promise.all(named.slice(0, max).map(async ({ name, file }) => ({ name, lastWrite: Math.max(await mtime(file), await mtime(`${file}-wal`)) })));
  return { instances: instances.sort((a, b) => b.lastWrite - a.lastWrite), unnamed };
}
