import { ImageStore, readUsage } from "../images/index.js";
import { defaultCacheDir } from "../server/index.js";
import { progressLine } from "./progress.js";

const mb = (bytes?: number) => (bytes === undefined ? "?" : `${(bytes / 1e6).toFixed(0)} MB`);

/** Make the default image match Burrow's package list: a no-op when it does, a new version beside the old ones when not. */
export async function ensureDefaultImage(opts: { rebuild?: boolean } = {}): Promise<void> {
  const images = new ImageStore(defaultCacheDir());
  // The status line appears only when there is something to build or wait for.
  let p: ReturnType<typeof progressLine> | undefined;
  const label = `building the default image (Debian bookworm via mmdebstrap${opts.rebuild ? ", a fresh version" : ", once per package list"}):`;
  const version = await images.ensureDefault((line) => (p ??= progressLine(label)).update(line), opts);
  p?.done(`ready: version ${version}`);
}

/** `burrow image ls | ensure-default | rebuild default | import NAME FROM | prune [NAME]`. */
export async function image(args: string[]): Promise<void> {
  const cacheDir = defaultCacheDir();
  const images = new ImageStore(cacheDir);
  const [sub, ...rest] = args;
  if (sub === "ensure-default" || sub === "build") return ensureDefaultImage();
  if (sub === "rebuild") {
    if (rest[0] !== "default") throw new Error("usage: burrow image rebuild default (an imported image gets a new version by importing again)");
    return ensureDefaultImage({ rebuild: true });
  }
  if (sub === "import") {
    const [name, dir] = rest;
    if (!name || !dir) throw new Error("usage: burrow image import <name> <rootfs-dir | docker-save.tar | oci-layout>");
    const p = progressLine(`importing ${dir} as image ${name}:`);
    const version = await images.import(name, dir, (l) => p.update(l));
    return p.done(`ready: version ${version}`);
  }
  if (sub === "prune") {
    const gone = await images.prune(new Set(readUsage(cacheDir).keys()), rest[0]);
    for (const v of gone) console.log(`removed ${v.name} ${v.version} (${mb(v.sizeBytes)})`);
    if (!gone.length) console.log("nothing to prune: every version is current or in use");
    return;
  }
  if (sub === "ls" || sub === undefined) {
    const usage = readUsage(cacheDir);
    console.log(`${"NAME".padEnd(16)} ${"VERSION".padEnd(13)} ${"SIZE".padEnd(8)} ${"SANDBOXES".padEnd(9)} ${"SNAPSHOTS".padEnd(9)} CREATED                  SOURCE`);
    for (const v of images.versions()) {
      const u = usage.get(`${v.name}/${v.version}`);
      console.log(
        `${v.name.padEnd(16)} ${(v.version + (v.current ? "*" : "")).padEnd(13)} ${mb(v.sizeBytes).padEnd(8)} ${String(u?.sandboxes ?? 0).padEnd(9)} ${String(u?.snapshots ?? 0).padEnd(9)} ${v.createdAt.padEnd(24)} ${v.source}`,
      );
    }
    console.log("* the version new sandboxes get");
    return;
  }
  throw new Error(`unknown image command ${sub}: use ls, ensure-default, rebuild default, import, prune`);
}
