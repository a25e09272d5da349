// Set up whatever is missing, quickly when nothing is: Debian packages,
// npm packages, the build, the Node kit and the default image.
// Used by `npm start`, `npm test` and `npm run bench`. Needs root on Debian.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";

const root = new URL("..", import.meta.url).pathname;
process.chdir(root);
const t0 = Date.now();
const step = (name) => {
  const t = Date.now();
  return () => console.error(`setup: ${name} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
};
const has = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
const run = (cmd, args, env = {}) => execFileSync(cmd, args, { stdio: "inherit", env: { ...process.env, ...env } });

if (process.getuid?.() !== 0) {
  console.error("setup: Burrow runs sandboxes with runc, overlay mounts and user namespaces, which need root. Run as root.");
  process.exit(1);
}

// 1. Debian packages
// busybox-static: the tests build tiny images from it (an image without bash or Node).
// zstd: snapshot archives; openssl: the egress CA; nsenter: naming sandboxes claimed from the warm pool;
// attr (getfattr/setfattr): overlay's opaque marks when layers are merged.
const APT = {
  runc: "runc", mmdebstrap: "mmdebstrap", gcc: "gcc", git: "git", curl: "curl", busybox: "busybox-static",
  zstd: "zstd", openssl: "openssl", nsenter: "util-linux", setfattr: "attr",
  setcap: "libcap2-bin", setpriv: "util-linux",
  // btrfs-progs: data volumes with per-sandbox disk limits (`--data-volume`, and the disk-limit test's loop image).
  "mkfs.btrfs": "btrfs-progs",
  // chromium: the dashboard's tests drive Debian's browser with playwright-core (never a downloaded one).
  chromium: "chromium",
};
const missing = Object.entries(APT).filter(([cmd]) => !has(cmd)).map(([, pkg]) => pkg);
if (!existsSync("/usr/lib/x86_64-linux-gnu/libc.a")) missing.push("libc6-dev");
if (missing.length) {
  const done = step(`apt-get install ${missing.join(" ")}`);
  run("apt-get", ["update", "-qq"]);
  run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], { DEBIAN_FRONTEND: "noninteractive" });
  done();
}

// 2. npm packages, when package.json or the lock changed since the last install
const stamp = "node_modules/.package-lock.json";
const newer = (a, b) => existsSync(a) && (!existsSync(b) || statSync(a).mtimeMs > statSync(b).mtimeMs);
if (!existsSync(stamp) || newer("package.json", stamp) || newer("package-lock.json", stamp)) {
  const done = step("npm install");
  run("npm", ["install", "--no-audit", "--no-fund"]);
  done();
}

// 3. Build
{
  const done = step("build");
  run(process.execPath, ["scripts/build.mjs"]);
  done();
}

// 4. The default image (built once per machine, shared by every data directory)
run(process.execPath, ["dist/cli.js", "image", "ensure-default"]);
console.error(`setup: ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
