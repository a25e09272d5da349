import { backupDemo } from "../examples/backup-demo.js";
import { startGitServer } from "../test/helpers/git-server.js";
import { startTestServer } from "../test/helpers/server.js";
import { ms, report } from "./stats.js";

/** A project with real dependencies, installed from the npm registry through the egress proxy. */
const PROJECT = {
  "package.json": JSON.stringify({
    name: "backup-demo",
    version: "1.0.0",
    private: true,
    dependencies: { express: "4.21.2", lodash: "4.17.21", zod: "3.24.1", dayjs: "1.11.13", "date-fns": "4.1.0", typescript: "5.7.3" },
  }),
};

/** The seed's figure: install from scratch, restore from a backup, restore from a snapshot, side by side. */
export async function benchBackupDemo(): Promise<void> {
  console.log("\n## Backup demo: npm install vs restore");
  const git = await startGitServer({ user: "u", token: "t" }, undefined, { app: PROJECT });
  const srv = await startTestServer({ internet: true, env: { BURROW_EGRESS_ALLOW: `host.burrow.internal:${git.port}` } });
  try {
    const r = await backupDemo(srv.burrow, { repoUrl: `${git.url}/app.git`, log: (l) => console.log(`  ${l}`) });
    report("install from scratch (npm install, 6 packages and their dependencies)", `${r.installSeconds.toFixed(1)} s`, "-", "through the egress proxy to the npm registry");
    report("restore from backup (new sandbox, restore /workspace)", `${r.restoreSeconds.toFixed(1)} s`, "< install", `backup itself: ${r.backupSeconds.toFixed(1)} s`, r.restoreSeconds < r.installSeconds);
    report("restore from snapshot (fork, first command)", ms(r.forkMs), "< 1 s", "no bytes copied", r.forkMs < 1000);
  } finally {
    await srv.cleanup();
    git.close();
  }
}
