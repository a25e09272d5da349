/**
 * `npm run bench`: every figure beside its DESIGN.md target and the peers'
 * figure measured on this machine. Run as root on an otherwise quiet machine.
 * BENCH_IDLE_MAX (default 200) caps the idle-density run; BENCH_CRASH_RUNS (20) the stability run.
 * `npm run bench -- --quick`: the cheap figures only, under two minutes (bench/quick.ts).
 */
import { startTestServer } from "../test/helpers/server.js";
import { defaultCacheDir } from "../src/server/index.js";
import { benchSandboxCore } from "./sandbox-core.js";
import { benchDevLoop } from "./dev-loop.js";
import { benchBackupDemo } from "./backup-demo.js";
import { benchImages } from "./images.js";
import { benchAgents } from "./agents.js";
import { benchFiles } from "./files.js";
import { benchCode } from "./code.js";
import { printTable } from "./stats.js";
import { benchSnapshots } from "./snapshots.js";
import { benchEgress } from "./egress.js";
import { benchWeb } from "./web.js";
import { benchOpenAISandbox } from "./openai-sandbox.js";
import { benchE2b } from "./e2b.js";
import { benchChatMcp } from "./chat-mcp.js";
import { benchLiveRestore } from "./live-restore.js";
import { benchServerRestart } from "./server-restart.js";
import { benchDiskQuota } from "./disk-quota.js";
import { benchUidRanges } from "./uid-ranges.js";
import { benchObservability } from "./observability.js";
import { benchQuick } from "./quick.js";

if (process.argv.includes("--quick")) {
  await benchQuick();
  printTable();
  process.exit(0);
}

const srv = await startTestServer({ env: { BURROW_SWEEP_MS: "5000" } });
try {
  const only = process.env.BENCH_ONLY; // "core", "dev", "code", "agents", "snapshots", "egress", "observability"... to run one part
  if (!only || only === "snapshots") await benchSnapshots();
  if (!only || only === "egress") await benchEgress();
  if (!only || only === "openai") await benchOpenAISandbox();
  if (!only || only === "e2b") await benchE2b();
  if (!only || only === "chat") await benchChatMcp();
  if (!only || only === "restart") await benchServerRestart({ runs: Number(process.env.BENCH_RESTART_RUNS ?? 7) });
  if (!only || only === "restart") await benchLiveRestore({ sandboxes: Number(process.env.BENCH_RESTART_SANDBOXES ?? 20) });
  if (!only || only === "agents") await benchAgents({ touched: Number(process.env.BENCH_AGENTS ?? 1000) });
  if (!only || only === "observability")
    await benchObservability({ rounds: Number(process.env.BENCH_OBS_ROUNDS ?? 24), execs: Number(process.env.BENCH_OBS_EXECS ?? 2000), agents: Number(process.env.BENCH_OBS_AGENTS ?? 100) });
  if (!only || only === "disk") await benchDiskQuota(srv);
  if (!only || only === "uids") await benchUidRanges(srv, `${defaultCacheDir()}/images/default/rootfs`);
  if (!only || only === "files") await benchFiles(srv);
  if (!only || only === "dev") await benchDevLoop(srv);
  if (!only || only === "backup") await benchBackupDemo();
  if (!only || only === "image") await benchImages();
  if (!only || only === "code") await benchCode(srv);
  if (!only || only === "web") await benchWeb(srv, { sandboxes: Number(process.env.BENCH_WEB_SANDBOXES ?? 200) });
  if (!only || only === "core") await benchSandboxCore(srv, {
    idleMax: Number(process.env.BENCH_IDLE_MAX ?? 200),
    crashRuns: Number(process.env.BENCH_CRASH_RUNS ?? 20),
  });
} finally {
  await srv.cleanup();
}
printTable();
