import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { startTestServer } from "../test/helpers/server.js";
import { median, ms, report, samples, time } from "./stats.js";

const uid = () => Math.random().toString(36).slice(2, 8);

/** An npm-install-like tree: many small files in nested folders, plus one large file to reach the size. */
const workspace = (totalMB: number, smallFiles: number) => `/usr/bin/python3 - <<'EOF'
import os
root = "/workspace/node_modules"
for i in range(${smallFiles}):
    d = f"{root}/pkg{i // 50}/lib"
    os.makedirs(d, exist_ok=True)
    with open(f"{d}/f{i}.js", "wb") as f: f.write(os.urandom(4096))
rest = ${totalMB} * 1024 * 1024 - ${smallFiles} * 4096
with open("/workspace/big.bin", "wb") as f:
    while rest > 0:
        f.write(os.urandom(min(rest, 1 << 20))); rest -= 1 << 20
EOF`;

/** Snapshots, restore and fork across disk sizes, blob transfer, and the warm pool against a cold start. */
export async function benchSnapshots(): Promise<void> {
  console.log("\n## Snapshots, forks, blob store and warm pool");
  // Servers that share a blob store share a signing key, or a pull refuses what the other pushed.
  const keyFile = join(mkdtempSync(join(tmpdir(), "burrow-bench-key-")), "blob.key");
  writeFileSync(keyFile, randomBytes(32), { mode: 0o600 });
  const srv = await startTestServer({ env: { BURROW_SWEEP_MS: "5000", BURROW_POOL: "2", BURROW_BLOB_SIGNING_KEY_FILE: keyFile } });
  const b = srv.burrow;
  const pooled = async () => (await (await srv.api("GET", "/v1/status")).json()).pooled as number;
  const waitFull = async () => {
    while ((await pooled()) < 2) await new Promise((r) => setTimeout(r, 20));
  };
  try {
    await waitFull();
    await b.sandbox(`warm-${uid()}`).exec("true");
    const fromPool: number[] = [];
    for (let i = 0; i < 15; i++) {
      await waitFull();
      fromPool.push(await time(() => b.sandbox(`pool-${uid()}`).exec(["/bin/true"])));
    }
    const cold = await samples(15, () => b.sandbox(`cold-${uid()}`, { limits: { memoryMB: 1000 } }).exec(["/bin/true"]));
    report("create -> first exec from the warm pool, p50", ms(median(fromPool)), "<= 25 ms", "", median(fromPool) <= 25);
    report("create -> first exec cold (pool bypassed), p50", ms(median(cold)), "<= 100 ms", `pool is ${(median(cold) / median(fromPool)).toFixed(1)}x faster`, median(cold) <= 100);

    const snapshots: Record<string, string> = {};
    for (const [label, mb, small] of [["10 MB", 10, 1000], ["200 MB", 200, 10000], ["1 GB", 1024, 20000]] as const) {
      const origin = b.sandbox(`ws-${uid()}`);
      await origin.exec(workspace(mb, small), { timeoutMs: 600_000 });
      const snapRunning = await time(() => origin.snapshot());
      await origin.sleep();
      let sleeping!: { id: string };
      const snapSleeping = await time(async () => (sleeping = await origin.snapshot()));
      snapshots[label] = sleeping.id;
      const restore = await samples(5, () => b.fork(sleeping.id, `r-${uid()}`).then(([s]) => s!.exec(["/bin/true"])));
      report(`snapshot ${label} workspace, running (paused copy)`, ms(snapRunning), "-");
      report(`snapshot ${label} workspace, sleeping (no copy)`, ms(snapSleeping), "-");
      report(`restore ${label} snapshot -> first exec, p50`, ms(median(restore)), "<= 100 ms, flat in size", "Cloudflare backup restore ~2 s", median(restore) <= 100);
      if (mb === 200) {
        const tenAt = await time(async () => {
          const forks = await b.fork(sleeping.id, { count: 10, prefix: `ten-${uid()}` });
          await Promise.all(forks.map((f) => f.exec(["/bin/true"])));
        });
        report("fork 10 sandboxes at once from a 200 MB snapshot -> all exec'd", ms(tenAt), "-");
        const info = await b.getSnapshot(sleeping.id);
        const push = await time(() => b.pushSnapshot(sleeping.id));
        const archived = (await b.getSnapshot(sleeping.id)).archive!.sizeBytes;
        report("push 200 MB snapshot to the local blob store (tar+zstd+sha256)", `${(info.sizeBytes / 1048576 / (push / 1000)).toFixed(0)} MiB/s (${ms(push)})`, "-", `archive ${(archived / 1048576).toFixed(0)} MiB`);
        const other = await startTestServer({ env: { BURROW_BLOBS: `${srv.dataDir}/blobs`, BURROW_POOL: "0", BURROW_BLOB_SIGNING_KEY_FILE: keyFile } });
        try {
          const pull = await time(() => other.burrow.pullSnapshot(sleeping.id));
          report("pull 200 MB snapshot on another server (download+verify+unpack)", `${(info.sizeBytes / 1048576 / (pull / 1000)).toFixed(0)} MiB/s (${ms(pull)})`, "-");
        } finally {
          await other.cleanup();
        }
      }
    }

    // Restores from a snapshot's own warm pool (`--pool snapshot:<id>=1`): the same forks, served by sandboxes
    // already standing on the snapshot's layers. The pool is set at start, so the server restarts with it.
    await srv.stop();
    const keys = Object.fromEntries(Object.entries(snapshots).map(([label, sid]) => [label, `snapshot:${sid}`]));
    await srv.restart({ env: { BURROW_POOL: Object.values(keys).map((k) => `${k}=1`).join(",") } });
    const pools = async () => (await (await srv.api("GET", "/v1/status")).json()).pools as Record<string, { ready: number }>;
    const readyAll = async () => {
      for (let i = 0; i < 600 && Object.values(await pools()).some((p) => p.ready < 1); i++) await new Promise((r) => setTimeout(r, 20));
    };
    const pooledRestore: Record<string, number> = {};
    for (const [label, sid] of Object.entries(snapshots)) {
      const t: number[] = [];
      for (let i = 0; i < 5; i++) {
        await readyAll();
        t.push(await time(() => b.fork(sid, `rp-${uid()}`).then(([s]) => s!.exec(["/bin/true"]))));
      }
      pooledRestore[label] = median(t);
    }
    const worst = Math.max(...Object.values(pooledRestore));
    report(
      "restore from the snapshot's warm pool -> first exec, 10 MB / 200 MB / 1 GB, p50",
      Object.values(pooledRestore).map(ms).join(" / "),
      "<= 60 ms, flat in size",
      "",
      worst <= 60,
    );
  } finally {
    await srv.cleanup();
    rmSync(dirname(keyFile), { recursive: true, force: true });
  }
}
