/** Backups of directories inside sandboxes, kept in the blob store with a time to live. */
export { BackupService } from "./service.js";
export { BackupCatalog } from "./catalog.js";
