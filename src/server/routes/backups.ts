import { BackupId, CreateBackupBody, RestoreBackupBody } from "../../contract/index.js";
import { readJson, sendJson } from "../../lib/http-json.js";
import type { BackupService } from "../../backups/index.js";
import type { Ctx, Router } from "../router.js";
import { paramOf, sandboxIdOf } from "./common.js";

const backupIdOf = (ctx: Ctx) => paramOf(ctx, "bid", BackupId);

/** Archive a directory to the blob store, put it back (into any sandbox), list and delete. */
export function backupRoutes(r: Router, backups: BackupService): void {
  r.on("POST", "/v1/sandboxes/:id/backups", async (ctx) => {
    const id = sandboxIdOf(ctx);
    sendJson(ctx.res, 201, await backups.create(id, await readJson(ctx.req, CreateBackupBody)));
  });
  r.on("POST", "/v1/sandboxes/:id/backups/:bid/restore", async (ctx) => {
    const id = sandboxIdOf(ctx);
    const bid = backupIdOf(ctx);
    sendJson(ctx.res, 200, await backups.restore(id, bid, await readJson(ctx.req, RestoreBackupBody)));
  });
  r.on("GET", "/v1/backups", (ctx) => sendJson(ctx.res, 200, { backups: backups.list() }));
  r.on("GET", "/v1/backups/:bid", (ctx) => sendJson(ctx.res, 200, backups.get(backupIdOf(ctx))));
  r.on("DELETE", "/v1/backups/:bid", async (ctx) => {
    const bid = backupIdOf(ctx);
    await backups.delete(bid);
    sendJson(ctx.res, 200, { id: bid, deleted: true });
  });
}
