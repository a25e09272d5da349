import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const cache = new Map<string, string>();

/**
 * A browser script of an example agent's page, built by scripts/build.mjs into
 * dist/examples/<file> (beside the examples bundle, or one folder up from its
 * chunks); read once. Undefined when the build has not run.
 */
export function builtPageScript(file: string): string | undefined {
  const known = cache.get(file);
  if (known) return known;
  for (const rel of [`./examples/${file}`, `../examples/${file}`]) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (!existsSync(path)) continue;
    const text = readFileSync(path, "utf8");
    cache.set(file, text);
    return text;
  }
  return undefined;
}

/** The script as a response, or a 503 that says how to build it. */
export function pageScriptResponse(file: string): Response {
  const script = builtPageScript(file);
  if (!script) return new Response(`the page script ${file} is not built: run node scripts/build.mjs`, { status: 503 });
  return new Response(script, { headers: { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache" } });
}
