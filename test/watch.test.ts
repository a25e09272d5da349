import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { BurrowApiError, Sandbox, WatchEvent } from "../src/client/index.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

type Ev = WatchEvent | { type: "watching"; path: string };

/** Start a watch, wait for `watching`, and collect events until stopped. */
async function watching(sbx: Sandbox, path: string, opts: Parameters<Sandbox["watch"]>[1] = {}) {
  const ctl = new AbortController();
  const events: (WatchEvent & { at: number })[] = [];
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const done = (async () => {
    try {
      for await (const e of sbx.watch(path, { ...opts, signal: ctl.signal }) as AsyncGenerator<Ev>) {
        if (e.type === "watching") ready();
        else events.push({ ...(e as WatchEvent), at: Date.now() });
      }
    } catch (err) {
      if (!ctl.signal.aborted) throw err;
    }
  })();
  // A watch that never says "watching" fails the test in 10 s instead of hanging it.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    isReady,
    done.then(() => {
      throw new Error(`the watch of ${path} ended before it was watching`);
    }),
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`the watch of ${path} did not start within 10 s`)), 10_000))),
  ]).finally(() => clearTimeout(timer));
  return {
    events,
    async until(pred: (e: WatchEvent[]) => boolean, ms = 3000) {
      const t = Date.now();
      while (!pred(events) && Date.now() - t < ms) await new Promise((r) => setTimeout(r, 10));
      if (!pred(events)) throw new Error(`the expected event did not arrive within ${ms} ms; got ${JSON.stringify(events.map((e) => `${e.type}:${e.path}`))}`);
      return events;
    },
    async stop() {
      ctl.abort();
      await done;
    },
  };
}

const short = (es: WatchEvent[], root: string) => es.map((e) => `${e.type}:${e.path.replace(root, "")}${e.from ? `<-${e.from.replace(root, "")}` : ""}${e.isDirectory ? "/" : ""}`);

describe("file watching", () => {
  let srv: TestServer;
  let sbx: Sandbox;
  before(async () => {
    srv = await startTestServer();
    sbx = srv.burrow.sandbox(name("watch"));
    await sbx.mkdir("/workspace/w/src", { recursive: true });
  });
  after(() => srv.cleanup());

  it("reports create, modify and delete, for nested files too", async () => {
    const w = await watching(sbx, "/workspace/w");
    await sbx.exec("echo a > /workspace/w/a.txt");
    await w.until((e) => e.length >= 1);
    await sbx.exec("echo more >> /workspace/w/a.txt");
    await w.until((e) => e.length >= 2);
    await sbx.exec("mkdir -p /workspace/w/src/deep/er && echo x > /workspace/w/src/deep/er/n.ts");
    await w.until((e) => e.some((x) => x.path.endsWith("n.ts")));
    await sbx.exec("rm /workspace/w/a.txt");
    const es = await w.until((e) => e.some((x) => x.type === "delete"));
    await w.stop();
    assert.deepEqual(short(es, "/workspace/w"), ["create:/a.txt", "modify:/a.txt", "create:/src/deep/", "create:/src/deep/er/", "create:/src/deep/er/n.ts", "delete:/a.txt"]);
  });

  it("coalesces a burst of writes into one event per file, and reports moves", async () => {
    const w = await watching(sbx, "/workspace/w");
    await sbx.exec("for i in $(seq 1 50); do echo $i >> /workspace/w/burst.txt; done");
    await w.until((e) => e.length >= 1);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(short(w.events, "/workspace/w"), ["create:/burst.txt"]);
    await sbx.exec("mv /workspace/w/burst.txt /workspace/w/src/moved.txt");
    const es = await w.until((e) => e.length >= 2);
    await w.stop();
    assert.deepEqual(short(es, "/workspace/w").slice(1), ["move:/src/moved.txt<-/burst.txt"]);
  });

  it("filters with include and exclude, and skips .git and node_modules by default", async () => {
    const w = await watching(sbx, "/workspace/w", { include: ["*.ts"] });
    await sbx.exec("mkdir -p /workspace/w/node_modules/pkg /workspace/w/.git && echo 1 > /workspace/w/node_modules/pkg/i.ts && echo 1 > /workspace/w/.git/HEAD.ts && echo 1 > /workspace/w/skip.js && echo 1 > /workspace/w/src/keep.ts");
    const es = await w.until((e) => e.some((x) => x.path.endsWith("keep.ts")));
    await new Promise((r) => setTimeout(r, 150));
    await w.stop();
    assert.deepEqual(short(es, "/workspace/w").filter((s) => !s.endsWith("/")), ["create:/src/keep.ts"]);
    const all = await watching(sbx, "/workspace/w", { exclude: ["*.log"] });
    await sbx.exec("echo 1 > /workspace/w/node_modules/pkg/seen.ts; echo 1 > /workspace/w/x.log");
    const es2 = await all.until((e) => e.some((x) => x.path.endsWith("seen.ts")));
    await new Promise((r) => setTimeout(r, 150));
    await all.stop();
    assert.ok(!es2.some((e) => e.path.endsWith(".log")));
  });

  it("sees a file saved through the API within 100 ms", async () => {
    const w = await watching(sbx, "/workspace/w/src");
    const lat: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = Date.now();
      await sbx.writeFile(`/workspace/w/src/fast-${i}.ts`, "x");
      const es = await w.until((e) => e.some((x) => x.path.endsWith(`fast-${i}.ts`)));
      lat.push(es.find((x) => x.path.endsWith(`fast-${i}.ts`))!.at - t);
    }
    await w.stop();
    lat.sort((a, b) => a - b);
    assert.ok(lat[2]! < 100, `median latency ${lat[2]} ms`);
  });

  it("errors for a missing path, and frees the watcher when the stream closes", async () => {
    await assert.rejects(async () => {
      for await (const _ of sbx.watch("/workspace/nope")) break;
    }, (e: BurrowApiError) => e.code === "FILE_NOT_FOUND" && e.status === 404);
    // Every inotify watch in the sandbox is one "inotify wd:" line in some fdinfo.
    const watches = async () => Number((await sbx.exec("cat /proc/*/fdinfo/* 2>/dev/null | grep -c '^inotify wd' || true")).stdout.trim());
    const before = await watches();
    const ws = await Promise.all([1, 2, 3].map(() => watching(sbx, "/workspace/w")));
    const during = await watches();
    await Promise.all(ws.map((w) => w.stop()));
    await new Promise((r) => setTimeout(r, 300));
    const after = await watches();
    assert.ok(during > before, `inotify watches rose while watching (${before} -> ${during})`);
    assert.ok(after <= before, `and fell back when the streams closed (${after})`);
  });
});
