/**
 * Images: read-only root filesystems (the default Debian image, or imported
 * rootfs directories) and the Node kit + runtime that get mounted into every
 * sandbox. Everything lives in the machine-wide cache directory.
 */
export { ImageStore, LEGACY, type ImageMeta, type ImageVersion, type Progress } from "./image-store.js";
export { DEFAULT_PACKAGES, defaultRecipe, recipeKey } from "./recipe.js";
export { ImageUsage, readUsage, type UsageCount, type VersionUse } from "./usage.js";
export { ensureNodeKit, ensureRuntimeDir, runtimeDirName } from "./node-kit.js";
export { RUNTIME_NODE_FLAGS, RUNTIME_SNAPSHOT } from "./startup-files.js";
