import { spawn } from "node:child_process";
import { viaEnter } from "./enter.js";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { BurrowError } from "../contract/errors.js";
import { request, type IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { DEFAULT_CWD, EGRESS_PORT } from "./env.js";
import { killTree } from "./process-tree.js";

export interface CheckoutBody {
  url: string;
  branch?: string;
  targetDir?: string;
  depth?: number;
  timeoutMs?: number;
}

/** The URL without credentials, and the credentials as an HTTP header value. */
function splitCredentials(raw: string): { url: string; authHeader?: string; secrets: string[] } {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new BurrowError("VALIDATION_FAILED", `${raw} is not a URL: give an http(s) URL of a git repository`);
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") throw new BurrowError("VALIDATION_FAILED", "only http:// and https:// repositories can be cloned (through the egress proxy)");
  if (!u.username && !u.password) return { url: u.toString(), secrets: [] };
  const user = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  u.username = "";
  u.password = "";
  return {
    url: u.toString(),
    authHeader: `Authorization: Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`,
    secrets: [user, pass, encodeURIComponent(pass)].filter((s) => s.length >= 4),
  };
}

const redact = (text: string, secrets: string[]) => secrets.reduce((t, s) => t.split(s).join("***"), text);

function run(args: string[], env: Record<string, string>, cwd: string, timeoutMs: number): Promise<{ code: number; stderr: string; stdout: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(...viaEnter("git", args), { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid) killTree(child.pid, "SIGKILL");
    }, timeoutMs);
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr = (stderr + d).slice(-8000)));
    child.on("error", (err) => {
      clearTimeout(timer);
      resolve({ code: 127, stderr: err.message, stdout, timedOut });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stderr, stdout, timedOut });
    });
  });
}

/** Ask the egress proxy itself whether it refuses this URL's host (git cannot tell its 403 from the server's). */
function egressRefuses(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const port = u.port || (u.protocol === "https:" ? "443" : "80");
    const req =
      u.protocol === "https:"
        ? request({ host: "127.0.0.1", port: EGRESS_PORT, method: "CONNECT", path: `${u.hostname}:${port}` })
        : request({ host: "127.0.0.1", port: EGRESS_PORT, method: "HEAD", path: url });
    const answer = (res: IncomingMessage, socket?: Socket) => {
      socket?.destroy();
      res.resume();
      resolve(res.headers["x-burrow-egress"] === "denied");
    };
    req.on("connect", (res, socket) => answer(res, socket));
    req.on("response", (res) => answer(res));
    req.on("error", () => resolve(false));
    req.setTimeout(5000, () => req.destroy());
    req.end();
  });
}

/**
 * Clone a repository inside the sandbox, through the egress proxy like any
 * other traffic. Credentials in the URL are taken out of it and passed to git
 * as an HTTP header through the environment (GIT_CONFIG_*), so they never
 * reach .git/config, the process list or any message.
 */
export async function gitCheckout(b: CheckoutBody, env: Record<string, string>): Promise<{ url: string; branch: string; targetDir: string; commit: string }> {
  const { url, authHeader, secrets } = splitCredentials(b.url);
  const name = (new URL(url).pathname.split("/").filter(Boolean).pop() ?? "repo").replace(/\.git$/, "") || "repo";
  const target = b.targetDir ?? `${DEFAULT_CWD}/${name}`;
  if (existsSync(target) && readdirSync(target).length)
    throw new BurrowError("FILE_EXISTS", `${target} exists and is not empty: pick another targetDir or delete it first`, { path: target });
  const gitEnv: Record<string, string> = { ...env, GIT_TERMINAL_PROMPT: "0" };
  if (authHeader) Object.assign(gitEnv, { GIT_CONFIG_COUNT: "1", GIT_CONFIG_KEY_0: "http.extraHeader", GIT_CONFIG_VALUE_0: authHeader });
  const args = ["clone", "--quiet", ...(b.branch ? ["--branch", b.branch, "--single-branch"] : []), ...(b.depth ? ["--depth", String(b.depth)] : []), "--", url, target];
  const r = await run(args, gitEnv, "/", b.timeoutMs ?? 300_000);
  if (r.code !== 0) {
    rmSync(target, { recursive: true, force: true }); // nothing half-cloned is left
    const msg = redact(r.stderr.trim(), secrets);
    if (r.timedOut) throw new BurrowError("EXEC_TIMEOUT", `git clone of ${url} did not finish within ${b.timeoutMs ?? 300_000} ms`);
    if (/from proxy after CONNECT|Proxy CONNECT aborted|403/i.test(msg) && (await egressRefuses(url)))
      throw new BurrowError("EGRESS_DENIED", `the egress policy refuses ${new URL(url).host}; allow it to clone from there`, { detail: msg });
    if (/Remote branch .* not found/i.test(msg)) throw new BurrowError("GIT_BRANCH_NOT_FOUND", `branch ${b.branch} does not exist in ${url}`, { detail: msg });
    if (/not found|404|does not appear to be a git repository/i.test(msg)) throw new BurrowError("GIT_REPO_NOT_FOUND", `no repository at ${url}`, { detail: msg });
    if (/401|403|Authentication failed|could not read Username/i.test(msg)) throw new BurrowError("GIT_AUTH_FAILED", `${url} refused the credentials (or needs some)`, { detail: msg });
    throw new BurrowError("GIT_FAILED", `git clone of ${url} failed: ${msg.split("\n").pop()}`, { detail: msg });
  }
  const head = await run(["-C", target, "rev-parse", "HEAD"], gitEnv, "/", 10_000);
  const branch = await run(["-C", target, "rev-parse", "--abbrev-ref", "HEAD"], gitEnv, "/", 10_000);
  return { url, branch: branch.stdout.trim(), targetDir: target, commit: head.stdout.trim() };
}
