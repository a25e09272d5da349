import { z } from "zod";
import { Duration } from "./sandbox.js";

export const BackupId = z.string().regex(/^bak-[a-f0-9]{16}$/, { message: "a backup id looks like bak-0123456789abcdef" });

export const CreateBackupBody = z
  .object({
    dir: z.string().min(1).max(4096),
    name: z.string().min(1).max(200).optional(),
    /** How long the backup is kept (default 7 days). */
    ttl: Duration.optional(),
    /** Glob patterns (relative to dir) left out of the archive. */
    excludes: z.array(z.string().min(1).max(512)).max(256).optional(),
    /** Also leave out what the directory's .gitignore files ignore. */
    gitignore: z.boolean().optional(),
  })
  .strict();
export type CreateBackupBody = z.infer<typeof CreateBackupBody>;

export const RestoreBackupBody = z
  .object({ dir: z.string().min(1).max(4096).optional() })
  .strict();
export type RestoreBackupBody = z.infer<typeof RestoreBackupBody>;

export const BackupInfo = z.object({
  id: z.string(),
  sandboxId: z.string(),
  dir: z.string(),
  name: z.string().nullable(),
  sizeBytes: z.number(),
  files: z.number(),
  digest: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
});
export type BackupInfo = z.infer<typeof BackupInfo>;
