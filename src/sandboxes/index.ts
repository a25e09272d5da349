/**
 * Sandboxes: the registry, the runc driver, the overlay disk and the
 * lifecycle manager. Other domains use only what is exported here.
 */
export { SandboxManager, RESERVED_PORTS, type DiskView, type SnapshotHooks } from "./manager.js";
export { Registry, type ExposedPort } from "./registry.js";
export { Runc } from "./runc.js";
export { RuntimeClient } from "./runtime-client.js";
export type { ContainerDeps } from "./container.js";
