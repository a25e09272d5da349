import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
// The SDK as Node resolves `burrow/client`: its requests go over node:http (test/client-fetch.test.ts also drives the global fetch).
import { Burrow } from "../../src/client/node.js";
import { removeCgroupsOf } from "./leaks.js";

const ROOT = new URL("../..", import.meta.url).pathname;
/** The host's CA bundle: on a network with a site CA (as on this machine) it holds the CA the registries' certificates come from. */
const HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface TestServer {
  url: string;
  token: string;
  port: number;
  dataDir: string;
  burrow: Burrow;
  child: ChildProcess;
  /** What the server printed so far (for failure messages). */
  readonly log: string;
  /** Raw HTTP with the token. */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  stop(): Promise<void>;
  kill9(): Promise<void>;
  /** Start again on the same port and data directory; `env` adds to (and overrides) the environment it started with (a newer build, say). */
  restart(opts?: { env?: Record<string, string> }): Promise<void>;
  cleanup(): Promise<void>;
}

/**
 * A real Burrow server as a child process (`node dist/cli.js serve`) with its
 * own data directory and port, sharing the machine's image cache.
 * `internet: true` is for tests whose sandboxes reach the real internet
 * (npm install, pip install): the host's CA bundle becomes the server's
 * --extra-ca-certs, so they work behind a site CA too (an explicit
 * BURROW_EXTRA_CA_CERTS in `env` wins).
 */
export async function startTestServer(opts: { env?: Record<string, string>; args?: string[]; internet?: boolean; dataDir?: string } = {}): Promise<TestServer> {
  // `dataDir`: a directory the test made (on a filesystem of its own, say); cleanup empties the mounts and containers in it, the test removes it.
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "burrow-test-"));
  const port = await freePort();
  const token = `test-token-${Math.random().toString(36).slice(2)}`;
  let child!: ChildProcess;
  let log = "";

  const launch = async (extraEnv: Record<string, string> = {}) => {
    child = spawn(process.execPath, [join(ROOT, "dist/cli.js"), "serve", "--port", String(port), "--data", dataDir, ...(opts.args ?? [])], {
      env: {
        ...process.env, BURROW_TOKEN: token, BURROW_SWEEP_MS: "200", BURROW_POOL: "0",
        ...(opts.internet && existsSync(HOST_CA_BUNDLE) ? { BURROW_EXTRA_CA_CERTS: HOST_CA_BUNDLE } : {}),
        ...opts.env,
        ...extraEnv,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.on("data", (d) => (log += d));
    child.stderr!.on("data", (d) => (log += d));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${log}`);
      // A bare connect until the port takes one (cheap enough to try every few ms, so the benchmarks can time a
      // start by this loop without stealing the starting server's CPU), then the health check itself.
      if (await accepts(port)) {
        try {
          const r = await fetch(`http://127.0.0.1:${port}/healthz`);
          if (r.ok) return;
        } catch {
          /* not yet */
        }
      }
      await new Promise((r) => setTimeout(r, 3));
    }
    throw new Error(`server did not start:\n${log}`);
  };
  await launch();

  const url = `http://127.0.0.1:${port}`;
  const exited = () => new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once("exit", () => r())));
  const s: TestServer = {
    url,
    token,
    port,
    dataDir,
    get log() {
      return log;
    },
    get child() {
      return child;
    },
    burrow: new Burrow({ url, token }),
    api: (method, path, body, headers = {}) =>
      fetch(url + path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      }),
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      await exited();
    },
    async kill9() {
      child.kill("SIGKILL");
      await exited();
    },
    async restart(again) {
      await launch(again?.env);
    },
    async cleanup() {
      await s.stop();
      // A server that died under a test leaves containers and mounts: remove them before the directory.
      for (const id of execFileSync("runc", ["--root", join(dataDir, "runc"), "list", "-q"], { encoding: "utf8" }).split("\n").filter(Boolean))
        execFileSync("runc", ["--root", join(dataDir, "runc"), "delete", "-f", id]);
      for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
        const mp = line.split(" ")[4];
        if (mp?.startsWith(dataDir + "/")) execFileSync("umount", ["-l", mp]);
      }
      // The server binds its data directory onto itself (nosuid); a killed one leaves that mount too.
      for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
        if (line.split(" ")[4] === dataDir) execFileSync("umount", ["-l", dataDir]);
      }
      // And the cgroups runc made for them (a clean stop removes them itself).
      removeCgroupsOf(dataDir);
      // rm copes with trees deeper than PATH_MAX, which sandboxes can make.
      if (!opts.dataDir) execFileSync("rm", ["-rf", "--one-file-system", dataDir]);
    },
  };
  return s;
}

/** Whether something listens on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, "127.0.0.1");
    sock.once("connect", () => (sock.destroy(), resolve(true)));
    sock.once("error", () => resolve(false));
  });
}

/** A unique sandbox name per test. */
export const name = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
