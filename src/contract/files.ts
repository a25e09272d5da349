import { z } from "zod";
import { AbsolutePath } from "./exec.js";

export const FileEntry = z.object({
  name: z.string(),
  path: z.string(),
  type: z.enum(["file", "directory", "symlink", "other"]),
  size: z.number(),
  mode: z.string(),
  modifiedAt: z.string(),
});
export type FileEntry = z.infer<typeof FileEntry>;

export const FileStat = FileEntry.extend({ mimeType: z.string().optional(), target: z.string().optional() });
export type FileStat = z.infer<typeof FileStat>;

export const PathQuery = z.object({ path: AbsolutePath });

export const ListQuery = z.object({
  path: AbsolutePath,
  recursive: z.enum(["true", "false", "1", "0"]).optional(),
  includeHidden: z.enum(["true", "false", "1", "0"]).optional(),
});

export const WriteQuery = z.object({
  path: AbsolutePath,
  mode: z.string().regex(/^[0-7]{3,4}$/, { message: "mode is octal, like 644 or 0755" }).optional(),
});

export const DeleteQuery = z.object({ path: AbsolutePath, recursive: z.enum(["true", "false", "1", "0"]).optional() });

export const MkdirBody = z.object({ path: AbsolutePath, recursive: z.boolean().optional() }).strict();
export const MoveBody = z.object({ from: AbsolutePath, to: AbsolutePath, overwrite: z.boolean().optional() }).strict();

export const WatchQuery = z.object({
  path: AbsolutePath,
  recursive: z.enum(["true", "false", "1", "0"]).optional(),
  include: z.string().max(4096).optional(),
  exclude: z.string().max(4096).optional(),
});

/** A change seen by `watch`. `from` is set for moves. */
export interface WatchEvent {
  type: "create" | "modify" | "delete" | "move";
  path: string;
  isDirectory: boolean;
  from?: string;
}

/** A path inside an archived directory: relative, no `..` step out of it. */
const ArchiveMember = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.startsWith("/") && !p.split("/").includes("..") && !p.includes("\0"), { message: "excludes are paths relative to the archived directory, without .. segments" });

/** `GET .../archive`: `exclude` may repeat. */
export const ArchiveQuery = z.object({ path: AbsolutePath, exclude: z.array(ArchiveMember).max(1000).default([]) });
export type ArchiveQuery = z.infer<typeof ArchiveQuery>;

const Count = z.string().regex(/^\d{1,15}$/, { message: "a whole number" }).optional();
/** `PUT .../archive`: optional limits on what the archive may unpack to. */
export const ArchiveWriteQuery = z.object({ path: AbsolutePath, maxMembers: Count, maxExtractedBytes: Count });
export type ArchiveWriteQuery = z.infer<typeof ArchiveWriteQuery>;

/** What `PUT .../archive` answers once the archive is in place. */
export const ArchiveWritten = z.object({ path: z.string(), members: z.number(), bytes: z.number() });
export type ArchiveWritten = z.infer<typeof ArchiveWritten>;
