import { BurrowError, type EnsureSandboxBody } from "../contract/index.js";
import type { SandboxRecord } from "./registry.js";

export interface ImageMove {
  image: string;
  imageVersion: string;
  warning: string;
}

/**
 * What a PUT asks of an existing sandbox's image. Naming the image it already
 * has changes nothing (the SDK sends its options on every first use); a move
 * is asked for by another image name or by `imageVersion` ("latest" or an
 * id), and only a sleeping sandbox moves: its upper layer then lies over the
 * new version's files.
 */
export function planImageMove(
  r: SandboxRecord,
  body: EnsureSandboxBody,
  running: boolean,
  images: { current: (image: string) => string; check: (image: string, version: string) => void },
): ImageMove | undefined {
  const image = body.image ?? r.image;
  if (image === r.image && body.imageVersion === undefined) return undefined;
  const version = body.imageVersion === undefined || body.imageVersion === "latest" ? images.current(image) : body.imageVersion;
  if (image === r.image && version === r.imageVersion) return undefined;
  images.check(image, version);
  if (running)
    throw new BurrowError("SANDBOX_RUNNING", `sandbox ${r.id} is running; put it to sleep (POST /v1/sandboxes/${r.id}/sleep), then move it to image ${image} version ${version}`, { id: r.id });
  return {
    image,
    imageVersion: version,
    warning: `sandbox ${r.id} moved from ${r.image} version ${r.imageVersion} to ${image} version ${version}: its own files are kept, but files it took from the old image and changed may now differ from the new image's`,
  };
}
