import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { SnapshotId } from "../contract/index.js";
import { SandboxId } from "../contract/sandbox.js";

/**
 * What the blob store keeps beside an archive. Anyone who can write the store
 * can write a manifest, so a pulled one is parsed strictly (ids against the id
 * pattern, known kinds, bounded sizes) and then authenticated before anything
 * in it is used: see `trustOf`.
 */
export const Manifest = z
  .object({
    id: SnapshotId,
    sandboxId: SandboxId,
    image: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/),
    /** Provenance: a machine that has this version stands restores on it, others on the image's current one. */
    imageVersion: z.string().regex(/^(?:legacy|[a-f0-9]{12})$/).optional(),
    kind: z.enum(["user", "sleep"]),
    parents: z.array(SnapshotId).max(64),
    sizeBytes: z.number().int().min(0).max(2 ** 50),
    createdAt: z.string().max(40),
    archive: z.object({
      digest: z.string().regex(/^[a-f0-9]{64}$/),
      sizeBytes: z.number().int().min(0).max(2 ** 50),
      pushedAt: z.string().max(40),
    }),
  })
  .strict();
export type Manifest = z.infer<typeof Manifest>;

/** The stored form: the manifest, plus an HMAC over it when the server has a signing key. */
export const SignedManifest = Manifest.extend({ signature: z.string().regex(/^[a-f0-9]{64}$/).optional() }).strict();

/** One canonical text per manifest: keys in schema order, nothing else. */
export const canonical = (m: Manifest): string => JSON.stringify(Manifest.parse(m));
export const manifestDigest = (m: Manifest): string => createHash("sha256").update(canonical(m)).digest("hex");
export const sign = (m: Manifest, key: Buffer): string => createHmac("sha256", key).update(canonical(m)).digest("hex");

/**
 * Why a pulled manifest may be used: this server pushed exactly it (its
 * digest is in this server's own database), or it carries a valid signature
 * made with the operator's key. Otherwise it is not to be trusted.
 */
export function trustOf(m: Manifest & { signature?: string }, pushedDigest: string | undefined, key: Buffer | undefined): "pushed-here" | "signed" | undefined {
  const { signature, ...plain } = m;
  if (pushedDigest && pushedDigest === manifestDigest(plain)) return "pushed-here";
  if (key && signature) {
    const want = Buffer.from(sign(plain, key), "hex");
    const got = Buffer.from(signature, "hex");
    if (got.length === want.length && timingSafeEqual(got, want)) return "signed";
  }
  return undefined;
}
