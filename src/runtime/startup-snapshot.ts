/**
 * What the runtime's V8 startup snapshot (runtime.blob) is built from, by the
 * Node kit's Node in a root holding only /.burrow (src/images/startup-files.ts):
 * `node --snapshot-blob runtime.blob --build-snapshot startup-snapshot.js`. It loads the Node modules the runtime needs at
 * start into the heap the snapshot captures, so a sandbox's Node starts with
 * them already evaluated instead of compiling and running each (~20-30 ms of a
 * start here). Only modules Node verifies for user snapshots are loaded here:
 * `http`, `child_process` and the rest load at start as before. Nothing of the
 * runtime itself is in the snapshot (no host state can leak into a sandbox
 * through it): the main function loads runtime.js from the path it is given,
 * `node --snapshot-blob runtime.blob /.burrow/runtime/runtime.js`.
 *
 * This file may import only Node's own modules (a snapshot builder has no
 * module loader), and every one of them runs where the snapshot is built.
 */
import { startupSnapshot } from "node:v8";

declare const require: NodeJS.Require;

/** What the runtime loads at start that Node supports in a user snapshot (building one with any other prints a warning). */
const SNAPSHOT_MODULES = [
  "node:stream", "node:stream/promises", "node:net", "node:fs/promises", "node:zlib", "node:string_decoder",
  "node:diagnostics_channel", "node:dns", "node:querystring", "node:url", "node:os",
];

for (const name of SNAPSHOT_MODULES) require(name);

startupSnapshot.setDeserializeMainFunction(() => {
  const entry = process.argv[1];
  if (!entry) {
    console.error("runtime: started from its snapshot without the path of runtime.js");
    process.exit(70);
  }
  // Loaded now, not in the builder: `module` is not among the modules Node verifies for snapshots.
  const { createRequire } = require("node:module") as typeof import("node:module");
  createRequire(entry)(entry);
});
