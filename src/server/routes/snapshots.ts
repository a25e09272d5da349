import { BurrowError, CreateSnapshotBody, ForkBody, SnapshotId } from "../../contract/index.js";
import { readJson, sendJson, startNdjson } from "../../lib/http-json.js";
import type { SnapshotService, SnapshotTransfer } from "../../snapshots/index.js";
import type { SnapshotInfo, TransferProgress } from "../../contract/index.js";
import type { SandboxManager } from "../../sandboxes/index.js";
import type { Ctx, Router } from "../router.js";
import { paramOf, sandboxIdOf } from "./common.js";

const snapshotIdOf = (ctx: Ctx) => paramOf(ctx, "sid", SnapshotId);

/** Freeze a sandbox's disk, list and delete snapshots, fork many sandboxes from one. */
/** Long transfers answer NDJSON progress lines then `{type:"done", snapshot}` when the client asks for it. */
async function transfer(ctx: Ctx, work: (progress: (p: TransferProgress) => void) => Promise<SnapshotInfo>): Promise<void> {
  if (!String(ctx.req.headers.accept ?? "").includes("application/x-ndjson")) return sendJson(ctx.res, 200, await work(() => {}));
  const send = startNdjson(ctx.res);
  try {
    send({ type: "done", snapshot: await work(send) });
  } catch (err) {
    const e = err instanceof BurrowError ? err : new BurrowError("INTERNAL", (err as Error).message);
    send({ type: "error", ...e.toJSON() });
  }
  ctx.res.end();
}

export function snapshotRoutes(r: Router, snapshots: SnapshotService, transfers: SnapshotTransfer, sandboxes: SandboxManager): void {
  r.on("POST", "/v1/snapshots/:sid/push", (ctx) => transfer(ctx, (p) => transfers.push(snapshotIdOf(ctx), p)));
  r.on("POST", "/v1/snapshots/:sid/pull", (ctx) => transfer(ctx, (p) => transfers.pull(snapshotIdOf(ctx), p)));
  r.on("POST", "/v1/sandboxes/:id/snapshots", async (ctx) => {
    const id = sandboxIdOf(ctx);
    await readJson(ctx.req, CreateSnapshotBody); // a malformed body is refused before anything is frozen
    // Like any operation, this creates an absent sandbox; a sleeping one is snapshotted without waking it.
    if (!sandboxes.has(id)) await sandboxes.ensure(id);
    sendJson(ctx.res, 201, await snapshots.create(id));
  });
  r.on("GET", "/v1/snapshots", (ctx) => sendJson(ctx.res, 200, { snapshots: snapshots.list() }));
  r.on("GET", "/v1/snapshots/:sid", (ctx) => sendJson(ctx.res, 200, snapshots.get(snapshotIdOf(ctx))));
  r.on("DELETE", "/v1/snapshots/:sid", async (ctx) => {
    const sid = snapshotIdOf(ctx);
    await snapshots.delete(sid);
    sendJson(ctx.res, 200, { id: sid, deleted: true });
  });
  r.on("POST", "/v1/snapshots/:sid/fork", async (ctx) => {
    const sid = snapshotIdOf(ctx);
    const body = await readJson(ctx.req, ForkBody);
    const snap = snapshots.get(sid);
    const prefix = body.prefix ?? `${snap.sandboxId}-fork`.slice(0, 56);
    const names = body.names ?? Array.from({ length: body.count! }, (_, i) => `${prefix}-${i + 1}`);
    sendJson(ctx.res, 201, { snapshot: sid, sandboxes: await snapshots.fork(sid, names) });
  });
}
