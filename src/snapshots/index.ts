/**
 * Snapshots: a sandbox's disk frozen into an immutable overlay layer, which
 * new sandboxes stand on (restore, fork), and archives of those layers in
 * the blob store. Other domains use only what is exported here.
 */
export { SnapshotService } from "./service.js";
export { SnapshotCatalog } from "./catalog.js";
export { LayerStore } from "./layer-store.js";
export { SnapshotTransfer } from "./transfer.js";
