import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, copyFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ImageStore } from "../src/images/index.js";
import { defaultCacheDir } from "../src/server/index.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

const CLI = new URL("../dist/cli.js", import.meta.url).pathname;
const sha = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

/** Two layers: busybox with a few applets, then a layer that deletes one file and adds another. */
function makeLayers(work: string): { layer1: string; layer2: string } {
  const l1 = join(work, "l1");
  mkdirSync(join(l1, "bin"), { recursive: true });
  mkdirSync(join(l1, "etc"), { recursive: true });
  mkdirSync(join(l1, "tmp"), { recursive: true });
  copyFileSync(execFileSync("sh", ["-c", "command -v busybox"], { encoding: "utf8" }).trim(), join(l1, "bin", "busybox"));
  chmodSync(join(l1, "bin", "busybox"), 0o755);
  for (const applet of ["sh", "cat", "ls", "echo", "id", "true", "pwd", "mkdir"]) symlinkSync("busybox", join(l1, "bin", applet));
  writeFileSync(join(l1, "etc", "doomed"), "from layer 1\n");
  mkdirSync(join(l1, "opaque"));
  writeFileSync(join(l1, "opaque", "old"), "old\n");
  const l2 = join(work, "l2");
  mkdirSync(join(l2, "etc"), { recursive: true });
  mkdirSync(join(l2, "opaque"), { recursive: true });
  writeFileSync(join(l2, "etc", ".wh.doomed"), "");
  writeFileSync(join(l2, "opaque", ".wh..wh..opq"), "");
  writeFileSync(join(l2, "opaque", "new"), "new\n");
  writeFileSync(join(l2, "etc", "hello"), "hello from layer 2\n");
  const layer1 = join(work, "layer1.tar");
  const layer2 = join(work, "layer2.tar.gz");
  execFileSync("tar", ["-cf", layer1, "-C", l1, "."]);
  execFileSync("tar", ["-czf", layer2, "-C", l2, "."]);
  return { layer1, layer2 };
}

describe("images from archives and directories", () => {
  let srv: TestServer;
  let work: string;
  const images = new ImageStore(defaultCacheDir());
  const made: string[] = [];

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "burrow-img-"));
    srv = await startTestServer();
  });
  after(async () => {
    await srv.cleanup();
    for (const n of made) images.remove(n);
    rmSync(work, { recursive: true, force: true });
  });

  const check = async (image: string) => {
    const sbx = srv.burrow.sandbox(name("img"), { image });
    // No bash in this image: strings run through /bin/sh, and Node is injected for the runtime only.
    const r = await sbx.exec("cat /etc/hello; ls /opaque; ls /etc; id -u");
    assert.equal(r.stdout, "hello from layer 2\nnew\nhello\n0\n");
    assert.equal((await sbx.exec(["/bin/sh", "-c", "command -v node || echo no-node"])).stdout, "no-node\n");
    await sbx.writeFile("/tmp/x.txt", "files work too");
    assert.equal((await sbx.readFile("/tmp/x.txt")).content, "files work too");
    await sbx.destroy();
  };

  it("imports `docker save` output (a tar with manifest.json), applying whiteouts", async () => {
    const { layer1, layer2 } = makeLayers(join(work, "docker"));
    const dir = join(work, "docker-archive");
    mkdirSync(dir);
    copyFileSync(layer1, join(dir, "a.tar"));
    copyFileSync(layer2, join(dir, "b.tar.gz"));
    writeFileSync(join(dir, "manifest.json"), JSON.stringify([{ Config: "config.json", RepoTags: ["tiny:1"], Layers: ["a.tar", "b.tar.gz"] }]));
    writeFileSync(join(dir, "config.json"), "{}");
    const archive = join(work, "tiny.tar");
    execFileSync("tar", ["-cf", archive, "-C", dir, "."]);
    const img = name("tiny-docker");
    made.push(img);
    execFileSync(process.execPath, [CLI, "image", "import", img, archive], { stdio: "pipe" });
    await check(img);
  });

  it("imports an OCI image layout directory", async () => {
    const { layer1, layer2 } = makeLayers(join(work, "oci"));
    const dir = join(work, "oci-layout");
    mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
    const blob = (file: string) => {
      const d = sha(file);
      copyFileSync(file, join(dir, "blobs", "sha256", d));
      return { digest: `sha256:${d}`, size: readFileSync(file).length };
    };
    const put = (obj: unknown) => {
      const f = join(work, "tmp.json");
      writeFileSync(f, JSON.stringify(obj));
      return blob(f);
    };
    const config = put({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } });
    const manifest = put({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
      layers: [
        { mediaType: "application/vnd.oci.image.layer.v1.tar", ...blob(layer1) },
        { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...blob(layer2) },
      ],
    });
    writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    writeFileSync(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest }] }));
    const img = name("tiny-oci");
    made.push(img);
    execFileSync(process.execPath, [CLI, "image", "import", img, dir], { stdio: "pipe" });
    await check(img);
  });

  it("imports a root filesystem directory", async () => {
    const { layer1, layer2 } = makeLayers(join(work, "plain"));
    const root = join(work, "rootfs");
    mkdirSync(root);
    execFileSync("tar", ["-xf", layer1, "-C", root]);
    rmSync(join(root, "etc", "doomed"));
    rmSync(join(root, "opaque", "old"));
    execFileSync("tar", ["-xf", layer2, "-C", root, "--exclude=.wh.*", "--exclude=*/.wh.*"]);
    const img = name("tiny-dir");
    made.push(img);
    execFileSync(process.execPath, [CLI, "image", "import", img, root], { stdio: "pipe" });
    await check(img);
  });

  it("refuses what is not an image, leaving nothing behind", () => {
    const bogus = join(work, "bogus.tar");
    writeFileSync(join(work, "readme"), "not an image");
    execFileSync("tar", ["-cf", bogus, "-C", work, "readme"]);
    const img = name("bogus");
    assert.throws(() => execFileSync(process.execPath, [CLI, "image", "import", img, bogus], { stdio: "pipe" }), /not an image archive/);
    assert.equal(images.has(img), false);
    assert.deepEqual(readdirSync(join(defaultCacheDir(), "images")).filter((d) => d.startsWith(img)), [], "no temporary directory left");
  });
});
