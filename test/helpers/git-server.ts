import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export interface GitServer {
  port: number;
  /** Base URL as a sandbox reaches it (through the egress proxy). */
  url: string;
  requests: string[];
  close(): void;
}

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", args, { cwd, env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" } });

/**
 * A real git server on host loopback: `git http-backend` (CGI) behind a small
 * Node server. Repos: public.git (branches main and feature, 3 commits) and
 * private.git (the same, behind basic auth user:token), and any `projects`
 * given (name -> files, one commit on main), served as `<name>.git`.
 */
export async function startGitServer(
  credentials: { user: string; token: string },
  tls?: { key: string; cert: string },
  projects: Record<string, Record<string, string>> = {},
): Promise<GitServer> {
  const root = mkdtempSync(join(tmpdir(), "burrow-git-"));
  const work = join(root, "work");
  execFileSync("mkdir", ["-p", work]);
  git(work, "init", "-q", "-b", "main");
  for (let i = 1; i <= 3; i++) {
    execFileSync("sh", ["-c", `echo commit ${i} > ${work}/file${i}.txt`]);
    git(work, "add", ".");
    git(work, "commit", "-qm", `commit ${i}`);
  }
  git(work, "checkout", "-qb", "feature");
  execFileSync("sh", ["-c", `echo feature > ${work}/feature.txt`]);
  git(work, "add", ".");
  git(work, "commit", "-qm", "feature");
  git(work, "checkout", "-q", "main");
  for (const name of ["public.git", "private.git"]) git(root, "clone", "-q", "--bare", work, name);
  for (const [name, files] of Object.entries(projects)) {
    const dir = join(root, `${name}-work`);
    mkdirSync(dir);
    git(dir, "init", "-q", "-b", "main");
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      writeFileSync(join(dir, file), text);
    }
    git(dir, "add", ".");
    git(dir, "commit", "-qm", "initial");
    git(root, "clone", "-q", "--bare", dir, `${name}.git`);
  }

  const requests: string[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://git");
    requests.push(`${req.method} ${req.url} auth=${req.headers.authorization ?? ""}`);
    if (url.pathname.startsWith("/private.git")) {
      const want = `Basic ${Buffer.from(`${credentials.user}:${credentials.token}`).toString("base64")}`;
      if (req.headers.authorization !== want) {
        res.writeHead(401, { "www-authenticate": 'Basic realm="git"' });
        return res.end("unauthorized");
      }
    }
    const cgi = spawn("git", ["http-backend"], {
      env: {
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: "1",
        PATH_INFO: url.pathname,
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? "GET",
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        HTTP_CONTENT_ENCODING: req.headers["content-encoding"] ?? "",
        HTTP_GIT_PROTOCOL: (req.headers["git-protocol"] as string) ?? "",
        REMOTE_ADDR: "127.0.0.1",
      },
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on("data", (chunk: Buffer) => {
      if (headersDone) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString().split("\r\n")) {
        const i = line.indexOf(":");
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === "status") status = Number(v.split(" ")[0]);
        else headers[k] = v;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    cgi.on("close", () => res.end());
  };
  const server: Server = tls ? createHttpsServer(tls, handler) : createServer(handler);
  const port = await new Promise<number>((r) => server.listen(0, "127.0.0.1", () => r((server.address() as { port: number }).port)));
  return {
    port,
    url: `${tls ? "https" : "http"}://host.burrow.internal:${port}`,
    requests,
    close() {
      server.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
