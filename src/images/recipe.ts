import { createHash } from "node:crypto";

/**
 * The default image as data: what it is built from. Its version is a hash of
 * this recipe, so changing the package list (or how the builder works) makes
 * a new version by itself, built beside the old one.
 */
export const DEFAULT_PACKAGES = [
  "ca-certificates", "git", "curl", "procps", "less", "nano", "python3", "python3-pip", "python3-venv",
  "python3-numpy", "python3-pandas", "python3-matplotlib", "python3-ipykernel", "build-essential",
  // JavaScript work (npm install, npm test, npm run dev) and Python's HTTP client.
  "nodejs", "npm", "python3-requests",
];

export const DEFAULT_SUITE = "bookworm";
export const DEFAULT_VARIANT = "minbase";
export const DEFAULT_MIRRORS = [
  "deb http://deb.debian.org/debian bookworm main",
  "deb http://deb.debian.org/debian bookworm-updates main",
  "deb http://deb.debian.org/debian-security bookworm-security main",
];
/** The source line images built this way carry in their meta.json (and did before versions existed). */
export const DEFAULT_SOURCE = `mmdebstrap ${DEFAULT_SUITE} ${DEFAULT_VARIANT}`;

/** Bump when the build itself changes (mmdebstrap flags, ownership shifting, the login-shell edits, the accounts made), so that makes a new version too. */
const BUILDER_REVISION = 3;

export interface Recipe {
  builder: number;
  suite: string;
  variant: string;
  mirrors: string[];
  packages: string[];
}

export function defaultRecipe(packages: readonly string[] = DEFAULT_PACKAGES): Recipe {
  return { builder: BUILDER_REVISION, suite: DEFAULT_SUITE, variant: DEFAULT_VARIANT, mirrors: DEFAULT_MIRRORS, packages: [...new Set(packages)].sort() };
}

/** The recipe's identity: 12 hex digits of the sha256 of its canonical JSON. */
export const recipeKey = (r: Recipe): string => createHash("sha256").update(JSON.stringify(r)).digest("hex").slice(0, 12);
