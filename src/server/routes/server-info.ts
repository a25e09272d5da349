import { sendJson } from "../../lib/http-json.js";
import { VERSION } from "../../lib/version.js";
import type { ImageStore } from "../../images/index.js";
import type { SandboxManager } from "../../sandboxes/index.js";
import type { Router } from "../router.js";

const STARTED = new Date();

/** The server itself, for a person looking at it: version, uptime, and the images sandboxes start from. */
export function serverInfoRoutes(r: Router, sandboxes: SandboxManager, images: () => ImageStore | undefined): void {
  r.on("GET", "/v1/server", (ctx) => {
    const all = sandboxes.list();
    const using = new Map<string, number>();
    for (const s of all) using.set(s.image, (using.get(s.image) ?? 0) + 1);
    const list = (images()?.list() ?? []).map((m) => ({
      name: m.name,
      version: m.version,
      source: m.source,
      createdAt: m.createdAt,
      sizeBytes: m.sizeBytes ?? null,
      packages: m.packages ?? [],
      sandboxes: using.get(m.name) ?? 0,
      pooled: sandboxes.pooled(m.name),
    }));
    sendJson(ctx.res, 200, { version: VERSION, node: process.version, startedAt: STARTED.toISOString(), uptimeSeconds: Math.round((Date.now() - STARTED.getTime()) / 1000), images: list });
  });
}
