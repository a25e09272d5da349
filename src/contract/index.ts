/**
 * The public contract shared by the server, the in-sandbox runtime and the SDK:
 * zod schemas for every request body (types are derived from them) and the
 * error table. Nothing here may import Node-only modules, so the SDK can use it.
 */
export * from "./errors.js";
export * from "./sandbox.js";
export * from "./exec.js";
export * from "./files.js";
export * from "./processes.js";
export * from "./code.js";
export * from "./snapshots.js";
export * from "./backups.js";
export * from "./egress.js";
export * from "./egress-patch.js";
export * from "./usage.js";
export * from "./web.js";
