/**
 * Images: read-only root filesystems (the default Debian image, or imported
 * rootfs directories) and the Node kit + runtime that get mounted into every
 * sandbox. Everything lives in the machine-wide cache directory.
 */
export { ImageStore, DEFAULT_PACKAGES, type ImageMeta, type Progress } from "./image-store.js";
export { ensureNodeKit, ensureRuntimeDir } from "./node-kit.js";
