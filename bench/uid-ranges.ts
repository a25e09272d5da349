import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestServer } from "../test/helpers/server.js";
import { median, ms, report, samples } from "./stats.js";

const dist = (f: string) => new URL(`../dist/${f}`, import.meta.url).pathname;

/**
 * What per-sandbox uid ranges cost (sandboxes/uid-ranges.ts): the root
 * mount of a start, through burrow-idmount with three idmapped lower
 * layers, beside mount(8) with the same layers unmapped (what a start did
 * before); the owner shift of a layer made from an upper layer
 * (burrow-idshift) on 10,000 files; and a snapshot of a sleeping sandbox,
 * which now includes that shift.
 */
export async function benchUidRanges(srv: TestServer, image: string): Promise<void> {
  console.log("\n## Uid ranges (idmapped layers)");
  const d = mkdtempSync(join(tmpdir(), "burrow-bench-idmap-"));
  try {
    const lowers = [join(d, "l1"), join(d, "l0"), image];
    for (const x of ["l1", "l0", "upper", "work", "rootfs", "view"]) mkdirSync(join(d, x));
    execFileSync("chown", ["-R", "100000:100000", join(d, "l1"), join(d, "l0")]);
    const rootfs = join(d, "rootfs");
    // The mount alone is timed: it is the step of a start (the unmount is a stop's).
    const timedMount = (mount: () => void) => {
      const out: number[] = [];
      for (let i = 0; i < 30; i++) {
        const t0 = performance.now();
        mount();
        out.push(performance.now() - t0);
        execFileSync("umount", [rootfs]);
      }
      return out;
    };
    const idmapped = timedMount(() => execFileSync(dist("burrow-idmount"), [rootfs, d, "100000", String(2 ** 30), "65536", ...lowers]));
    lowers.forEach((l, i) => symlinkSync(l, join(d, "view", String(i))));
    symlinkSync(join(d, "upper"), join(d, "view", "u"));
    symlinkSync(join(d, "work"), join(d, "view", "w"));
    const plain = timedMount(() => execFileSync("mount", ["-t", "overlay", "overlay", "-o", "lowerdir=0:1:2,upperdir=u,workdir=w", rootfs], { cwd: join(d, "view") }));
    report("root mount of a start, 3 idmapped lowers (burrow-idmount), p50", ms(median(idmapped)), "<= 5 ms", `mount(8) unmapped: ${ms(median(plain))}`, median(idmapped) <= 5);

    const tree = join(d, "tree");
    execFileSync("sh", ["-c", `mkdir ${tree} && cd ${tree} && for i in $(seq 100); do mkdir d$i; (cd d$i && touch $(seq 100)); done && chown -R ${2 ** 30}:${2 ** 30} .`]);
    let back = false;
    const shift = await samples(5, async () => {
      const [from, to] = back ? ["100000", String(2 ** 30)] : [String(2 ** 30), "100000"];
      back = !back;
      execFileSync(dist("burrow-idshift"), [from, to, "65536", tree]);
    });
    report("owner shift of a layer made from an upper layer, 10,100 entries (burrow-idshift), p50", ms(median(shift)), "-");

    const sbx = srv.burrow.sandbox(`uid-snap-${Math.random().toString(36).slice(2, 8)}`);
    await sbx.exec("mkdir -p /workspace/many && cd /workspace/many && for i in $(seq 2000); do echo $i > $i; done");
    await sbx.sleep();
    const t0 = performance.now();
    await sbx.snapshot();
    report("snapshot of a sleeping sandbox with 2,000 files (rename + owner shift)", ms(performance.now() - t0), "-");
    await sbx.destroy();
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}
