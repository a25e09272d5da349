/**
 * Sandboxes: the registry, the runc driver, the overlay disk and the
 * lifecycle manager. Other domains use only what is exported here.
 */
export { SandboxManager, type DiskView, type SnapshotHooks } from "./manager.js";
export { RESERVED_PORTS, SandboxPorts } from "./ports.js";
export { Registry, type ExposedPort } from "./registry.js";
export { Runc } from "./runc.js";
export { mountNosuid } from "./nosuid.js";
export { mountViews } from "./views.js";
export { readAll, RuntimeClient, runtimeError } from "./runtime-client.js";
export type { ContainerDeps } from "./container.js";
export { DEFAULT_DISK_MB, DiskQuota, type DiskLimitsStatus } from "./disk-quota.js";
export { SNAPSHOT_POOL_PREFIX } from "./pool.js";
