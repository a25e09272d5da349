import { removeTree, SANDBOX_ID_OFFSET } from "../confine/index.js";
import type { Live } from "./live.js";
import type { DiskView } from "./manager-types.js";

/** A sandbox's disk for the snapshot domain; `save` writes the record after a rebase. */
export function diskViewOf(e: Live, paths: { upper: string; work: string }, save: () => void): DiskView {
  return {
    id: e.record.id,
    image: e.record.image,
    imageVersion: e.record.imageVersion,
    layers: [...e.record.layers],
    upper: paths.upper,
    uidBase: e.record.uidBase ?? SANDBOX_ID_OFFSET,
    running: !!e.container,
    rebase: async (layers, replaceUpper) => {
      if (e.container) throw new Error("rebase needs a stopped sandbox");
      await replaceUpper(paths.upper);
      await removeTree(paths.work);
      e.record.layers = layers;
      save();
    },
  };
}
