import { BurrowError, durationSeconds, type EnsureSandboxBody } from "../contract/index.js";
import type { ContainerDeps } from "./container.js";
import { DEFAULT_LIMITS, DEFAULT_SLEEP_AFTER_S } from "./defaults.js";
import { planImageMove } from "./image-move.js";
import type { SandboxRecord } from "./registry.js";

/** What a new sandbox stands on when it is made from a snapshot. */
export interface SnapshotBase {
  layers: string[];
  image: string;
  imageVersion?: string;
}

type Images = Pick<ContainerDeps, "imageVersion" | "imageRootfs" | "disk">;

/** The registry row of a sandbox a PUT creates; an unknown image is refused before anything is written. */
export function newRecord(id: string, body: EnsureSandboxBody, base: SnapshotBase | undefined, defaultImage: string, deps: Images): SandboxRecord {
  if (base && body.image && body.image !== base.image)
    throw new BurrowError("BAD_REQUEST", `snapshot ${body.fromSnapshot} was taken on image ${base.image}; leave image out or pass that one`);
  const image = base?.image ?? body.image ?? defaultImage;
  const now = new Date().toISOString();
  const record: SandboxRecord = {
    id,
    image,
    // A fork stands on its snapshot's version; anything new on the image's current one.
    imageVersion: body.imageVersion && body.imageVersion !== "latest" && !base ? body.imageVersion : deps.imageVersion(image, base?.imageVersion),
    env: body.env ?? {},
    sleepAfter: body.sleepAfter !== undefined ? durationSeconds(body.sleepAfter) : DEFAULT_SLEEP_AFTER_S,
    keepAlive: body.keepAlive ?? false,
    limits: { ...DEFAULT_LIMITS, ...deps.disk?.defaults(), ...(body.limits ?? {}) } as SandboxRecord["limits"],
    labels: body.labels ?? {},
    createdAt: now,
    lastActiveAt: now,
    layers: base?.layers ?? [],
    persist: body.persist ?? "disk",
    egress: {},
  };
  deps.imageRootfs(record.image, record.imageVersion);
  return record;
}

/**
 * What a PUT changes on a sandbox that exists: the fields given, and its image
 * (only while it sleeps). Returns the warning an image move carries.
 */
export function applyToRecord(r: SandboxRecord, body: EnsureSandboxBody, running: boolean, deps: Images): string | undefined {
  if (body.fromSnapshot)
    throw new BurrowError("SANDBOX_EXISTS", `sandbox ${r.id} already exists; restore snapshot ${body.fromSnapshot} under a new name, or destroy ${r.id} first`, { id: r.id });
  const move = planImageMove(r, body, running, {
    current: (image) => deps.imageVersion(image),
    check: (image, version) => void deps.imageRootfs(image, version),
  });
  if (body.persist) r.persist = body.persist;
  if (move) [r.image, r.imageVersion] = [move.image, move.imageVersion];
  if (body.sleepAfter !== undefined) r.sleepAfter = durationSeconds(body.sleepAfter);
  if (body.keepAlive !== undefined) r.keepAlive = body.keepAlive;
  if (body.labels) r.labels = body.labels;
  if (body.env) r.env = { ...r.env, ...body.env };
  if (body.limits) r.limits = { ...r.limits, ...body.limits } as SandboxRecord["limits"];
  return move?.warning;
}
