import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { startTestServer, type TestServer } from "../test/helpers/server.js";
import { median, ms, report, samples } from "./stats.js";

const uid = () => Math.random().toString(36).slice(2, 8);

/**
 * What per-sandbox disk limits cost (sandboxes/disk-quota.ts): a cold create
 * and its first exec on a data directory with limits (a btrfs volume made by
 * --data-volume, each sandbox a limited subvolume) beside the same on the
 * shared server's plain data directory; and a snapshot of a sleeping sandbox,
 * which is a rename without limits and a clone of its files with them.
 */
export async function benchDiskQuota(plain: TestServer, rounds = 10): Promise<void> {
  console.log("\n## Disk limits (btrfs quota groups)");
  const limited = await startTestServer({ args: ["--data-volume", "2G", "--pool", "0"], env: { BURROW_MIN_FREE_MB: "100" } });
  try {
    const cold = async (srv: TestServer) => {
      const ids: string[] = [];
      const t = await samples(rounds, async () => {
        const id = `dq-${uid()}`;
        ids.push(id);
        await srv.burrow.sandbox(id).exec(["/bin/true"]);
      });
      for (const id of ids) await srv.api("DELETE", `/v1/sandboxes/${id}`);
      return median(t);
    };
    // The step itself, without the noise of a whole start: the helper making a limited subvolume.
    const helper = new URL("../dist/burrow-diskquota", import.meta.url).pathname;
    const step = await samples(20, async (i) => {
      execFileSync(helper, ["create", `${limited.dataDir}/sandboxes/bench-${i}`, "64"]);
    });
    for (let i = 0; i < 20; i++) rmSync(`${limited.dataDir}/sandboxes/bench-${i}`, { recursive: true });
    report("making a sandbox's directory a limited subvolume (burrow-diskquota create), p50", ms(median(step)), "<= 10 ms", "", median(step) <= 10);
    const withLimit = await cold(limited);
    const without = await cold(plain);
    report("cold create -> first exec, with a disk limit (subvolume + quota group), p50", ms(withLimit), "-", `without: ${ms(without)}`);
    const freeze = async (srv: TestServer) => {
      const id = `dq-snap-${uid()}`;
      const sbx = srv.burrow.sandbox(id);
      // 100 MB in one file and 2,000 small files: the clone's cost follows the file count, not the bytes.
      await sbx.exec("dd if=/dev/urandom of=/workspace/big bs=1M count=100 status=none; mkdir -p /workspace/many; for i in $(seq 2000); do echo $i > /workspace/many/$i; done");
      await sbx.sleep();
      const t0 = performance.now();
      const r = await srv.api("POST", `/v1/sandboxes/${id}/snapshots`, {});
      const took = performance.now() - t0;
      if (r.status !== 201) throw new Error(`snapshot failed: ${await r.text()}`);
      await srv.api("DELETE", `/v1/sandboxes/${id}`);
      return took;
    };
    const snapLimited = await freeze(limited);
    const snapPlain = await freeze(plain);
    report("snapshot of a sleeping sandbox (100 MB + 2,000 files), with a disk limit (clone)", ms(snapLimited), "<= 1 s", `without (rename): ${ms(snapPlain)}`, snapLimited <= 1000);
  } finally {
    await limited.cleanup();
    rmSync(`${limited.dataDir}.img`, { force: true });
    execFileSync("sync");
  }
}
