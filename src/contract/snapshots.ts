import { z } from "zod";
import { SandboxId } from "./sandbox.js";

export const SnapshotId = z.string().regex(/^snap-[a-f0-9]{12}$/, { message: "a snapshot id looks like snap-0123456789ab" });

/** A frozen sandbox disk: an immutable layer stacked on its parents and the image. */
export const SnapshotInfo = z.object({
  id: z.string(),
  /** The sandbox whose disk it froze. */
  sandboxId: z.string(),
  image: z.string(),
  /** The image version under its layers; null when it came from a server that did not record one. */
  imageVersion: z.string().nullable(),
  /** `user`: taken on request; `sleep`: taken as a sandbox slept with persist "snapshot". */
  kind: z.enum(["user", "sleep"]),
  /** The snapshot this one holds changes on top of, or null when it holds everything since the image. */
  parent: z.string().nullable(),
  /** Layers from this one down to the image (1 = no parent). */
  depth: z.number(),
  sizeBytes: z.number(),
  createdAt: z.string(),
  /** Where its archive is in the blob store, once pushed. */
  archive: z.object({ digest: z.string(), sizeBytes: z.number(), pushedAt: z.string() }).nullable(),
});
export type SnapshotInfo = z.infer<typeof SnapshotInfo>;

/** `POST /v1/sandboxes/:id/snapshots` takes no options yet: an empty body or `{}`. */
export const CreateSnapshotBody = z.object({}).strict();

export const ForkBody = z
  .object({
    names: z.array(SandboxId).min(1).max(64).optional(),
    count: z.number().int().min(1).max(64).optional(),
    /** Names for `count` forks: `<prefix>-1`, `<prefix>-2`, ... (default: the snapshot's sandbox + "-fork"). */
    prefix: SandboxId.optional(),
  })
  .strict()
  .refine((b) => (b.names ? 1 : 0) + (b.count ? 1 : 0) === 1, { message: "give either names or count" });
export type ForkBody = z.infer<typeof ForkBody>;

export const SleepBody = z
  .object({ persist: z.enum(["disk", "snapshot"]).optional() })
  .strict();
export type SleepBody = z.infer<typeof SleepBody>;

/** Progress of a long blob transfer, streamed as NDJSON when asked. */
export interface TransferProgress {
  type: "progress";
  phase: "archive" | "upload" | "download" | "verify" | "extract";
  bytes: number;
  totalBytes?: number;
}
