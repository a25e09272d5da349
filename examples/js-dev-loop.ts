/**
 * The JavaScript dev loop in a sandbox: clone a repository, `npm install`
 * (through the egress proxy to the npm registry), `npm test` with its output
 * streamed as it comes, `npm run dev` in the background, wait for its
 * "Local:" line, and share it through a preview URL.
 *
 *   BURROW_TOKEN=... REPO_URL=https://github.com/you/app.git [PORT=3000] [BRANCH=main] \
 *     node --import tsx examples/js-dev-loop.ts
 *
 * The repository needs `npm test` and an `npm run dev` that prints `Local:`
 * and listens on PORT (Vite does, on 5173). The tests run it against a local
 * git server with a small project (test/js-dev-loop.test.ts).
 */
import { Burrow, type Sandbox } from "../src/client/index.js";

export interface DevLoopOptions {
  repoUrl: string;
  branch?: string;
  /** The port `npm run dev` listens on. */
  port?: number;
  /** Where each step's progress and the streamed test output go. */
  log?: (line: string) => void;
}

export interface DevLoopResult {
  installSeconds: number;
  testExitCode: number;
  /** The test output as it was streamed, chunk by chunk. */
  testChunks: string[];
  previewUrl: string;
  /** What the preview URL answered. */
  previewStatus: number;
  previewBody: string;
}

export async function devLoop(sbx: Sandbox, opts: DevLoopOptions): Promise<DevLoopResult> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const port = opts.port ?? 3000;
  const dir = "/workspace/app";

  log(`cloning ${opts.repoUrl}`);
  await sbx.gitCheckout(opts.repoUrl, { targetDir: dir, ...(opts.branch ? { branch: opts.branch } : {}) });

  log("npm install");
  const started = Date.now();
  const install = await sbx.exec("npm install --no-audit --no-fund", { cwd: dir, timeoutMs: 600_000 });
  if (!install.success) throw new Error(`npm install failed (${install.exitCode}):\n${install.stderr.slice(-4000)}`);
  const installSeconds = (Date.now() - started) / 1000;
  log(`  installed in ${installSeconds.toFixed(1)} s`);

  log("npm test");
  const testChunks: string[] = [];
  const test = await sbx.exec(["npm", "test"], {
    cwd: dir,
    stream: true,
    onOutput: (_stream, data) => {
      testChunks.push(data);
      log(`  | ${data.trimEnd()}`);
    },
  });

  log("npm run dev");
  const dev = await sbx.startProcess("npm run dev", { cwd: dir, env: { PORT: String(port) } });
  await dev.waitForLog(/Local:/, 60_000);
  await dev.waitForPort(port, { timeout: 30_000 });
  const { url } = await sbx.exposePort(port, { name: "dev" });
  log(`preview: ${url}`);
  const answer = await fetchPreview(url);
  return { installSeconds, testExitCode: test.exitCode, testChunks, previewUrl: url, previewStatus: answer.status, previewBody: answer.body };
}

/** GET a preview URL. Its host is `<port>-<sandbox>-<token>.localhost`, which resolves to this machine like any *.localhost name. */
async function fetchPreview(url: string): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  const { request } = await import("node:http");
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: u.port || 80, path: u.pathname, headers: { host: u.host } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.setTimeout(15_000, () => req.destroy(new Error(`${url} did not answer in 15 s`)));
    req.on("error", reject);
    req.end();
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const repoUrl = process.env.REPO_URL;
  if (!repoUrl) {
    console.error("set REPO_URL to a repository with `npm test` and an `npm run dev` that prints Local: (see the comment at the top)");
    process.exit(2);
  }
  const sbx = new Burrow().sandbox(process.env.BURROW_SANDBOX ?? "js-dev-loop");
  const r = await devLoop(sbx, { repoUrl, branch: process.env.BRANCH, port: process.env.PORT ? Number(process.env.PORT) : undefined });
  console.log(`npm test exited ${r.testExitCode}; ${r.previewUrl} answered ${r.previewStatus}`);
  console.log(`the dev server keeps running in sandbox ${sbx.id}; open the preview URL in a browser`);
}
