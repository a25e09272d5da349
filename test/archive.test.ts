import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync, linkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "node:http";
import { name, startTestServer, type TestServer } from "./helpers/server.js";
import { BurrowApiError } from "../src/client/index.js";

/** A tar made on the host from files laid out by `lay`, with extra tar flags (a --transform, say). */
function hostTar(lay: (dir: string) => void, members: string[], flags: string[] = []): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), "burrow-archive-test-"));
  try {
    lay(dir);
    return new Uint8Array(execFileSync("tar", ["-C", dir, "-cf", "-", ...flags, ...members], { maxBuffer: 64 << 20 }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("directory archives (GET/PUT /v1/sandboxes/:id/archive)", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer();
  });
  after(() => srv.cleanup());

  const tree = `set -e; mkdir -p /work/p/src/deep /work/p/empty /work/p/node_modules/pkg
    echo hello > /work/p/src/a.txt; echo deep > /work/p/src/deep/b.txt; chmod 750 /work/p/src/deep; chmod 600 /work/p/src/a.txt
    ln -s src/a.txt /work/p/link; echo dep > /work/p/node_modules/pkg/i.js; echo glob > '/work/p/a[1]*.txt'; printf x > '/work/p/ünï 名前'`;
  const listing = (dir: string) => `cd ${dir} && find . -printf '%p %y %m %l\\n' | LC_ALL=C sort`;

  it("round-trips a tree (dirs, empty dirs, links, modes, odd names) into another sandbox, replacing what was there", async () => {
    const a = srv.burrow.sandbox(name("ar"));
    await a.exec(tree);
    const archive = await a.readArchive("/work/p");
    const b = srv.burrow.sandbox(name("ar-b"));
    await b.exec("mkdir -p /dst && echo old > /dst/old.txt");
    const written = await b.writeArchive("/dst", archive);
    assert.equal(written.path, "/dst");
    assert.ok(written.members >= 9, `members: ${written.members}`);
    assert.equal(written.bytes, "hello\n".length + "deep\n".length + "dep\n".length + "glob\n".length + 1);
    assert.equal((await b.exec(listing("/dst"))).stdout, (await a.exec(listing("/work/p"))).stdout.replaceAll("/work/p", "/dst"));
    assert.equal((await b.exec("cat /dst/link; ls -A /dst | grep -c burrow-unpack || true")).stdout, "hello\n0\n");
    // A missing directory is made.
    await b.writeArchive("/new/place", archive);
    assert.equal((await b.readFile("/new/place/src/deep/b.txt")).content, "deep\n");
  });

  it("leaves out excluded paths, glob characters taken literally", async () => {
    const a = srv.burrow.sandbox(name("ar-ex"));
    await a.exec(tree);
    const b = srv.burrow.sandbox(name("ar-ex-b"));
    await b.writeArchive("/d", await a.readArchive("/work/p", { exclude: ["node_modules", "a[1]*.txt", "src/deep"] }));
    assert.equal((await b.exec("cd /d && find . | LC_ALL=C sort | tr '\\n' ' '")).stdout, ". ./empty ./link ./src ./src/a.txt ./ünï 名前 ");
  });

  it("streams a large directory both ways, bytes intact", async () => {
    const a = srv.burrow.sandbox(name("ar-big"));
    await a.exec("mkdir -p /big && head -c 24000000 /dev/urandom > /big/blob && sha256sum /big/blob > /sum");
    const b = srv.burrow.sandbox(name("ar-big-b"));
    const stream = await a.readArchiveStream("/big");
    await b.writeArchive("/big", stream);
    assert.equal((await b.exec("sha256sum /big/blob")).stdout, (await a.readFile("/sum")).content);
  });

  it("refuses archives that would write outside the directory, or break its limits, leaving it as it was", async () => {
    const sbx = srv.burrow.sandbox(name("ar-bad"));
    await sbx.exec("mkdir -p /w/keep && echo kept > /w/keep/f");
    const before = (await sbx.exec(listing("/w"))).stdout;
    const one = (d: string) => writeFileSync(join(d, "x"), "x");
    const cases: Array<[string, Uint8Array, number, string, RegExp]> = [
      ["a .. member", hostTar(one, ["x"], ["--transform", "s,^,../,"]), 422, "ARCHIVE_CORRUPT", /"\.\." segment/],
      ["an absolute member", hostTar(one, ["x"], ["-P", "--transform", "s,^,/etc/,"]), 422, "ARCHIVE_CORRUPT", /absolute member path/],
      ["a link out", hostTar((d) => symlinkSync("/etc", join(d, "l")), ["l"]), 422, "ARCHIVE_CORRUPT", /symbolic link to \/etc, outside/],
      ["a write through a link", hostTar((d) => (symlinkSync("sub", join(d, "l")), writeFileSync(join(d, "f"), "f")), ["l", "f"], ["--transform", "s,^f$,l/f,"]), 422, "ARCHIVE_CORRUPT", /lies under l, which is a symbolic link/],
      ["a hard link", hostTar((d) => (one(d), linkSync(join(d, "x"), join(d, "y"))), ["x", "y"]), 422, "ARCHIVE_CORRUPT", /hard link/],
      ["not a tar", new Uint8Array(4096).fill(65), 422, "ARCHIVE_CORRUPT", /no tar header/],
      ["a cut-off tar", hostTar((d) => writeFileSync(join(d, "big"), Buffer.alloc(100_000, 1)), ["big"]).subarray(0, 20_000), 422, "ARCHIVE_CORRUPT", /truncated/],
    ];
    for (const [what, bytes, status, code, message] of cases) {
      await assert.rejects(sbx.writeArchive("/w", bytes), (err: BurrowApiError) => {
        assert.equal(err.status, status, `${what}: ${err.message}`);
        assert.equal(err.code, code, what);
        assert.match(err.message, message, what);
        assert.match(err.message, /\/w is unchanged/, what);
        return true;
      });
      assert.equal((await sbx.exec(listing("/w"))).stdout, before, `${what}: /w is as it was, no staging directory left`);
    }
    const members = hostTar((d) => ["a", "b", "c"].forEach((f) => writeFileSync(join(d, f), f)), ["a", "b", "c"]);
    await assert.rejects(sbx.writeArchive("/w", members, { maxMembers: 2 }), (err: BurrowApiError) => err.status === 413 && err.code === "PAYLOAD_TOO_LARGE" && /more than 2 members/.test(err.message));
    await assert.rejects(sbx.writeArchive("/w", members, { maxExtractedBytes: 2 }), (err: BurrowApiError) => err.status === 413 && /unpacks to more than 2 bytes/.test(err.message));
    assert.equal((await sbx.exec(listing("/w"))).stdout, before);
    // The server and this sandbox keep serving.
    assert.equal((await sbx.writeArchive("/w", members)).members, 3);
    assert.equal((await sbx.exec("ls /w | tr '\\n' ' '")).stdout, "a b c ");
  });

  it("an upload cut off part-way changes nothing and leaves no staging directory", async () => {
    const id = name("ar-cut");
    const sbx = srv.burrow.sandbox(id);
    await sbx.exec("mkdir -p /w && echo kept > /w/f");
    const whole = hostTar((d) => writeFileSync(join(d, "big"), Buffer.alloc(4_000_000, 3)), ["big"]);
    const url = new URL(`${srv.url}/v1/sandboxes/${id}/archive?path=/w`);
    await new Promise<void>((resolve) => {
      const req = request(url, { method: "PUT", headers: { authorization: `Bearer ${srv.token}`, "content-type": "application/x-tar" } });
      req.on("error", () => resolve());
      req.write(whole.subarray(0, 1_000_000), () => setTimeout(() => (req.destroy(), resolve()), 300));
    });
    for (let i = 0; i < 50; i++) {
      if ((await sbx.exec("ls -A /w | tr '\\n' ' '")).stdout === "f ") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await sbx.exec("ls -A /w | tr '\\n' ' '; cat /w/f")).stdout, "f kept\n");
  });

  it("answers bad requests with stable codes", async () => {
    const id = name("ar-q");
    const sbx = srv.burrow.sandbox(id);
    await sbx.exec("echo f > /file");
    const expect = async (method: string, query: string, status: number, code: string, message: RegExp) => {
      const res = await srv.api(method, `/v1/sandboxes/${id}/archive${query}`, method === "PUT" ? "" : undefined, { "content-type": "application/x-tar" });
      const body = (await res.json()) as { code: string; message: string };
      assert.equal(res.status, status, `${method} ${query}: ${body.message}`);
      assert.equal(body.code, code, `${method} ${query}`);
      assert.match(body.message, message);
    };
    await expect("GET", "?path=work", 400, "INVALID_PATH", /absolute/);
    await expect("GET", "?path=/&exclude=../x", 400, "VALIDATION_FAILED", /without \.\. segments/);
    await expect("GET", "?path=/nowhere", 404, "FILE_NOT_FOUND", /\/nowhere/);
    await expect("GET", "?path=/file", 409, "NOT_A_DIRECTORY", /not a directory/);
    await expect("PUT", "?path=/", 400, "INVALID_PATH", /whole filesystem/);
    await expect("PUT", "?path=/.burrow/x", 403, "PERMISSION_DENIED", /Burrow's own/);
    await expect("PUT", "?path=/w&maxMembers=lots", 400, "VALIDATION_FAILED", /whole number/);
  });

  it("wakes a sleeping sandbox to archive it", async () => {
    const sbx = srv.burrow.sandbox(name("ar-sleep"));
    await sbx.exec("mkdir -p /s && echo zz > /s/z");
    await sbx.sleep();
    const bytes = await sbx.readArchive("/s");
    const b = srv.burrow.sandbox(name("ar-sleep-b"));
    await b.writeArchive("/s", bytes);
    assert.equal((await b.readFile("/s/z")).content, "zz\n");
  });
});
