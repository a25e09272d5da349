import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { isAgentClass } from "../agents/index.js";

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Load the agent classes a module exports. A TypeScript module is compiled
 * with esbuild first, with `burrow/agents` pointed at this server's own copy,
 * so its classes extend the very Agent class the host knows.
 */
export async function loadAgentClasses(modulePath: string): Promise<Function[]> {
  const file = resolve(modulePath);
  let url = pathToFileURL(file).href;
  let scratch: string | undefined;
  if (/\.(c|m)?tsx?$/.test(file)) {
    const { build } = await import("esbuild");
    const agentsModule = join(here, "agents.js");
    const out = await build({
      entryPoints: [file],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      write: false,
      plugins: [
        {
          name: "burrow-agents",
          setup(b) {
            b.onResolve({ filter: /^burrow\/agents$|\/src\/agents\/index(\.js|\.ts)?$/ }, () => ({ path: pathToFileURL(agentsModule).href, external: true }));
          },
        },
      ],
      banner: { js: `import { createRequire as __cr } from "node:module"; const require = __cr(${JSON.stringify(file)});` },
    });
    scratch = mkdtempSync(join(tmpdir(), "burrow-agents-"));
    const outFile = join(scratch, "agents.mjs");
    writeFileSync(outFile, out.outputFiles[0]!.text);
    url = pathToFileURL(outFile).href;
  }
  try {
    const mod = (await import(url)) as Record<string, unknown>;
    const classes = Object.values(mod).filter(isAgentClass);
    if (!classes.length) throw new Error(`${modulePath} exports no agent classes (classes that extend Agent from burrow/agents)`);
    return classes;
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}
