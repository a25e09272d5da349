/**
 * The backup demo: a fresh sandbox clones a project and installs its npm
 * dependencies (through the egress proxy to the npm registry); then its
 * `/workspace` is backed up and restored into a new sandbox, and snapshotted
 * and forked, and the three times are printed side by side.
 *
 *   BURROW_TOKEN=... REPO_URL=https://github.com/you/app.git node --import tsx examples/backup-demo.ts
 *
 * The tests run it with a small project from a local git server
 * (test/backup-demo.test.ts); `npm run bench` runs it with a larger one.
 */
import { Burrow, type Sandbox } from "../src/client/index.js";

export interface BackupDemoResult {
  installSeconds: number;
  backupSeconds: number;
  restoreSeconds: number;
  forkMs: number;
  /** What each copy answered to `npm ls --depth=0` (the dependencies are there and usable; not timed). */
  restoredDeps: string;
  forkedDeps: string;
}

export async function backupDemo(
  burrow: Burrow,
  opts: { repoUrl: string; prefix?: string; log?: (line: string) => void },
): Promise<BackupDemoResult> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const prefix = opts.prefix ?? `backup-demo-${Date.now().toString(36)}`;
  const dir = "/workspace/app";
  // Ready to work: npm's record of the installed tree is there (checked untimed with `npm ls` after).
  const ready = async (s: Sandbox) => {
    const r = await s.exec(["test", "-f", `${dir}/node_modules/.package-lock.json`]);
    if (!r.success) throw new Error(`sandbox ${s.id} has no installed dependencies`);
  };
  const origin = burrow.sandbox(`${prefix}-origin`);

  log(`cloning ${opts.repoUrl} and installing from scratch`);
  await origin.gitCheckout(opts.repoUrl, { targetDir: dir });
  let t = performance.now();
  const install = await origin.exec("npm install --no-audit --no-fund", { cwd: dir, timeoutMs: 900_000 });
  if (!install.success) throw new Error(`npm install failed (${install.exitCode}):\n${install.stderr.slice(-4000)}`);
  const installSeconds = (performance.now() - t) / 1000;

  log("backing up /workspace and restoring it into a new sandbox");
  t = performance.now();
  const backup = await origin.createBackup({ dir: "/workspace" });
  const backupSeconds = (performance.now() - t) / 1000;
  const restored = burrow.sandbox(`${prefix}-restored`);
  t = performance.now();
  await restored.restoreBackup(backup, { dir: "/workspace" });
  await ready(restored);
  const restoreSeconds = (performance.now() - t) / 1000;
  const restoredDeps = (await restored.exec("npm ls --depth=0", { cwd: dir })).stdout;

  log("snapshotting and forking");
  const snap = await origin.snapshot();
  t = performance.now();
  const [fork] = await burrow.fork(snap, `${prefix}-fork`);
  await ready(fork!);
  const forkMs = performance.now() - t;
  const forkedDeps = (await fork!.exec("npm ls --depth=0", { cwd: dir })).stdout;

  log(`install from scratch: ${installSeconds.toFixed(1)} s; restore from backup: ${restoreSeconds.toFixed(1)} s (backup took ${backupSeconds.toFixed(1)} s); from snapshot: ${forkMs.toFixed(0)} ms`);
  for (const s of [origin, restored, fork!]) await s.destroy();
  await burrow.deleteSnapshot(snap.id);
  await burrow.deleteBackup(backup.id);
  return { installSeconds, backupSeconds, restoreSeconds, forkMs, restoredDeps, forkedDeps };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const repoUrl = process.env.REPO_URL;
  if (!repoUrl) {
    console.error("set REPO_URL to a repository with a package.json (its dependencies are installed with npm)");
    process.exit(2);
  }
  await backupDemo(new Burrow(), { repoUrl });
}
