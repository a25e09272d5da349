import { readdirSync, readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import type { TestServer } from "../test/helpers/server.js";
import { median, ms, percentile, report, samples, time } from "./stats.js";

const uid = () => Math.random().toString(36).slice(2, 8);

/**
 * RSS and PSS (MiB) of every sandbox runtime process on the host, from /proc.
 * PSS splits shared pages (the Node binary, mapped by every sandbox) fairly,
 * so it is what one more sandbox really costs.
 */
function runtimeMemory(): { rss: number; pss: number }[] {
  const out: { rss: number; pss: number }[] = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, "utf8");
      if (!cmd.includes("/.burrow/runtime/runtime.js") || cmd.startsWith("/.burrow/runtime/init")) continue;
      const roll = readFileSync(`/proc/${p}/smaps_rollup`, "utf8");
      const rss = /^Rss:\s+(\d+) kB/m.exec(roll);
      const pss = /^Pss:\s+(\d+) kB/m.exec(roll);
      if (rss && pss) out.push({ rss: Number(rss[1]) / 1024, pss: Number(pss[1]) / 1024 });
    } catch {
      /* gone */
    }
  }
  return out;
}

function memAvailableMiB(): number {
  return Number(/MemAvailable:\s+(\d+) kB/.exec(readFileSync("/proc/meminfo", "utf8"))![1]) / 1024;
}

/** Wake from sleep -> first exec done, for `n` sandboxes started and put to sleep one by one (ms). */
export async function wakeSamples(b: TestServer["burrow"], n: number): Promise<number[]> {
  const ids = Array.from({ length: n }, () => `wake-${uid()}`);
  for (const id of ids) await b.sandbox(id).exec("true");
  const wake: number[] = [];
  for (const id of ids) {
    await b.sandbox(id).sleep();
    wake.push(await time(() => b.sandbox(id).exec(["/bin/true"])));
  }
  return wake;
}

export async function benchSandboxCore(srv: TestServer, opts: { idleMax: number; crashRuns: number }): Promise<void> {
  const b = srv.burrow;
  console.log("\n## Sandbox core");

  // Warm up caches (image pages, node kit) so the first sample is not an outlier of the machine.
  await b.sandbox(`warm-${uid()}`).exec("true");

  const cold = await samples(20, () => b.sandbox(`cold-${uid()}`).exec(["/bin/true"]));
  report("cold create -> first exec done, p50", ms(median(cold)), "<= 100 ms", "Cloudflare 1.37 s; E2B 442 ms; Daytona 663 ms (measured)", median(cold) <= 100);
  report("cold create -> first exec done, p95", ms(percentile(cold, 95)), "-");

  const wake = await wakeSamples(b, 10);
  report("wake from sleep -> first exec done, p50", ms(median(wake)), "<= 100 ms", "Cloudflare: seconds", median(wake) <= 100);

  const hot = b.sandbox(`hot-${uid()}`);
  await hot.exec("true");
  for (let i = 0; i < 50; i++) await hot.exec(["/bin/true"]);
  const rt = await samples(1000, () => hot.exec(["/bin/true"]));
  report("exec /bin/true through the HTTP API, p50", ms(median(rt)), "<= 5 ms", "Cloudflare runtime in runc 7.2 ms", median(rt) <= 5);
  report("exec /bin/true through the HTTP API, p99", ms(percentile(rt, 99)), "<= 10 ms", "Cloudflare runtime in runc 54 ms", percentile(rt, 99) <= 10);

  const ten = Array.from({ length: 10 }, () => b.sandbox(`tp-${uid()}`));
  await Promise.all(ten.map((s) => s.exec("true")));
  const perSandbox = 100;
  const tpTime = await time(() => Promise.all(ten.map(async (s) => { for (let i = 0; i < perSandbox; i++) await s.exec(["/bin/true"]); })));
  const tput = (ten.length * perSandbox) / (tpTime / 1000);
  report("exec throughput across 10 sandboxes", `${tput.toFixed(0)} exec/s`, "-");

  const payload = randomBytes(10 * 1024 * 1024);
  const fileSbx = b.sandbox(`file-${uid()}`);
  await fileSbx.writeFile("/workspace/warm.bin", payload);
  const writes = await samples(15, () => fileSbx.writeFile("/workspace/ten.bin", payload));
  const reads = await samples(15, async () => {
    const s = await fileSbx.readFileStream("/workspace/ten.bin");
    for await (const _ of s as unknown as AsyncIterable<Uint8Array>) { /* drain */ }
  });
  report("write a 10 MiB file through the API, p50", ms(median(writes)), "<= 30 ms", "Cloudflare runtime 64 ms", median(writes) <= 30);
  report("read a 10 MiB file through the API, p50", ms(median(reads)), "<= 25 ms", "Cloudflare runtime 47 ms", median(reads) <= 25);

  // Runtime stability: many commands per run, the runtime must never restart or drop a request.
  const crashSbx = b.sandbox(`crash-${uid()}`);
  let crashes = 0;
  let failures = 0;
  // The runtime is init's only child (a command's parent may be the spawner's handler, new each time).
  const pidOf = async () => (await crashSbx.exec("cat /proc/1/status | grep -c init; cat /proc/1/task/1/children")).stdout;
  const before = await pidOf();
  for (let run = 0; run < opts.crashRuns; run++) {
    await Promise.all(Array.from({ length: 4 }, async () => {
      for (let i = 0; i < 250; i++) {
        const r = await crashSbx.exec(i % 10 === 0 ? "echo $RANDOM | sha256sum" : ["/bin/true"]).catch(() => undefined);
        if (!r || r.exitCode !== 0) failures++;
      }
    }));
    if ((await pidOf()) !== before) crashes++;
  }
  report(`runtime crashes over ${opts.crashRuns} runs of 1,000 commands`, `${crashes} (failed commands: ${failures})`, "0", "Cloudflare's runtime in runc: 8 of 14 runs", crashes === 0 && failures === 0);

  // Idle density: only the density sandboxes run; start them until the cap, then measure each runtime.
  for (const s of await b.list()) await b.sandbox(s.id).destroy();
  const availBefore = memAvailableMiB();
  const idleIds: string[] = [];
  let gaveOut = "";
  const t0 = performance.now();
  for (let i = 0; i < opts.idleMax; i++) {
    const id = `idle-${uid()}`;
    try {
      await b.sandbox(id).exec("true");
      idleIds.push(id);
    } catch (err) {
      gaveOut = ` (stopped: ${(err as Error).message.slice(0, 80)})`;
      break;
    }
  }
  const createAll = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 2000));
  const mem = runtimeMemory();
  const running = (await b.list()).filter((s) => s.state === "running").length;
  const perSandboxHost = (availBefore - memAvailableMiB()) / Math.max(1, running);
  report("idle sandboxes running at once", `${running}${gaveOut} (started in ${(createAll / 1000).toFixed(1)} s)`, ">= 200", "", running >= 200);
  report("runtime RSS per idle sandbox, median", `${median(mem.map((m) => m.rss)).toFixed(1)} MiB`, "<= 40 MiB", "Cloudflare lite: 256 MiB", median(mem.map((m) => m.rss)) <= 40);
  report("runtime PSS per idle sandbox, median", `${median(mem.map((m) => m.pss)).toFixed(1)} MiB`, "-");
  report("host memory per idle sandbox (MemAvailable drop)", `${perSandboxHost.toFixed(1)} MiB`, "-");
  for (const id of idleIds) await b.sandbox(id).destroy().catch(() => {});
}
