import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ServerResponse } from "node:http";

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".map": "application/json",
};

/** Where the built page is: dist/web beside the server bundle (or its chunks folder). */
function webDist(): string {
  if (process.env.BURROW_WEB_DIST) return process.env.BURROW_WEB_DIST;
  const here = fileURLToPath(new URL(".", import.meta.url));
  return existsSync(join(here, "web")) ? join(here, "web") : join(here, "..", "web");
}

/**
 * The page's files, read once at start and served from memory. URLs carry a
 * content hash (`/assets/app.js?v=1a2b...`): a hashed URL is cached for a
 * year, since new bytes get a new URL; anything else must revalidate.
 */
export class Assets {
  private readonly files = new Map<string, { body: Buffer; hash: string; type: string }>();

  constructor(dir = webDist()) {
    for (const name of ["app.js", "app.css", "favicon.svg"]) {
      const file = join(dir, name);
      if (!existsSync(file)) continue;
      const body = readFileSync(file);
      this.files.set(name, { body, hash: createHash("sha256").update(body).digest("hex").slice(0, 16), type: TYPES[name.slice(name.lastIndexOf("."))]! });
    }
  }

  /** The URL to put in a page for a file. */
  url(name: string): string {
    const f = this.files.get(name);
    return f ? `/assets/${name}?v=${f.hash}` : `/assets/${name}`;
  }

  /** Answer `/assets/<name>`; false when there is no such file. */
  serve(name: string, version: string | null, res: ServerResponse): boolean {
    const f = this.files.get(name);
    if (!f) return false;
    res.writeHead(200, {
      "content-type": f.type,
      "content-length": f.body.length,
      "cache-control": version === f.hash ? "public, max-age=31536000, immutable" : "no-cache",
      etag: `"${f.hash}"`,
      "x-content-type-options": "nosniff",
    });
    res.end(f.body);
    return true;
  }
}
