import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ModuleCache } from "./module-cache.js";

const here = dirname(fileURLToPath(import.meta.url));

/** Imports of Burrow's own entry points, pointed at this server's copies so classes and types are the very ones it knows. */
const OWN = [
  { filter: /^burrow\/agents$|\/src\/agents\/index(\.js|\.ts)?$/, file: "agents.js" },
  { filter: /^burrow\/egress$|\/src\/egress\/public(\.js|\.ts)?$/, file: "egress.js" },
];

const RESOLVING = Symbol("resolving");

/**
 * Installed packages are imported from where they are, by absolute URL, not
 * compiled into the module: so a package the module shares with Burrow's
 * external ones (@openai/agents, better-sqlite3) is one instance, not a second
 * copy, and a start does not spend half a second bundling megabytes of SDKs.
 */
const installedPackagesAsTheyAre = {
  name: "installed-packages",
  setup(b: import("esbuild").PluginBuild) {
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === RESOLVING) return undefined;
      const r = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: RESOLVING });
      if (r.errors.length) return { errors: r.errors };
      if (r.external) return { path: r.path, external: true };
      return r.path.includes("/node_modules/") ? { path: pathToFileURL(r.path).href, external: true } : { path: r.path };
    });
  },
};

/**
 * Import a user module (agents, server config). TypeScript is compiled with
 * esbuild first (the user's own files only; see installedPackagesAsTheyAre),
 * or taken from the cache directory when its files have not changed since
 * (module-cache.ts); JavaScript is imported as it is.
 */
export async function importUserModule(modulePath: string, opts: { cacheDir?: string } = {}): Promise<Record<string, unknown>> {
  const file = resolve(modulePath);
  if (!/\.(c|m)?tsx?$/.test(file)) return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  // What the output depends on besides its inputs: where this build of Burrow is (the URLs of its own entry points) and these options.
  const cache = opts.cacheDir ? new ModuleCache(opts.cacheDir, `v1 ${here}`) : undefined;
  const cached = cache?.lookup(file);
  if (cached) return (await import(pathToFileURL(cached).href)) as Record<string, unknown>;
  const { build } = await import("esbuild");
  const out = await build({
    entryPoints: [file],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    write: false,
    metafile: true,
    // Class names are API (agents are served under them): without this, a class that names itself in its body becomes `_Name`.
    keepNames: true,
    plugins: [
      {
        name: "burrow-own",
        setup(b) {
          for (const o of OWN) b.onResolve({ filter: o.filter }, () => ({ path: pathToFileURL(join(here, o.file)).href, external: true }));
        },
      },
      installedPackagesAsTheyAre,
    ],
    banner: { js: `import { createRequire as __cr } from "node:module"; const require = __cr(${JSON.stringify(file)});` },
  });
  const code = out.outputFiles[0]!.text;
  if (cache) {
    const inputs = Object.keys(out.metafile.inputs).map((f) => resolve(f));
    return (await import(pathToFileURL(cache.store(file, code, inputs)).href)) as Record<string, unknown>;
  }
  const scratch = mkdtempSync(join(tmpdir(), "burrow-module-"));
  try {
    const outFile = join(scratch, "module.mjs");
    writeFileSync(outFile, code);
    return (await import(pathToFileURL(outFile).href)) as Record<string, unknown>;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
