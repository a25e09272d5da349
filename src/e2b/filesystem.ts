import type { IncomingMessage, ServerResponse } from "node:http";
import { posix } from "node:path";
import { Readable } from "node:stream";
import { BurrowError } from "../contract/index.js";
import { ConnectStream, deadlineOf, keepaliveMs, readStreamRequest, readUnary, sendUnary } from "./connect.js";
import { DENIED, EXISTS, listScript, NOT_A_DIRECTORY, NOT_FOUND, parseEntries, statScript } from "./entries.js";
import { ConnectError } from "./errors.js";
import { ListDirRequest, MoveRequest, PathRequest, WatchDirRequest } from "./schemas.js";
import { runtimeError } from "../sandboxes/index.js";
import type { E2bSandboxes } from "./sandboxes.js";
import { asUser, resolvePath, shellQuote, userOfRpc } from "./users.js";
import { ndjson } from "../lib/ndjson.js";

const EVENT: Record<string, string> = { create: "EVENT_TYPE_CREATE", modify: "EVENT_TYPE_WRITE", delete: "EVENT_TYPE_REMOVE", move: "EVENT_TYPE_RENAME" };

/** envd's filesystem.Filesystem service: entries from the sandbox, changes through Burrow's runtime. */
export class FilesystemService {
  constructor(private readonly sandboxes: E2bSandboxes) {}

  async handle(method: string, id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const user = userOfRpc(req);
    switch (method) {
      case "Stat": {
        const b = await readUnary(req, PathRequest);
        return sendUnary(res, { entry: await this.stat(id, resolvePath(b.path, user)) });
      }
      case "ListDir": {
        const b = await readUnary(req, ListDirRequest);
        const path = resolvePath(b.path, user);
        const r = await this.sandboxes.exec(id, listScript(path, Math.max(1, b.depth ?? 1)));
        if (r.exitCode === NOT_FOUND) throw new ConnectError("not_found", `no such directory: ${path}`);
        if (r.exitCode === NOT_A_DIRECTORY) throw new ConnectError("invalid_argument", `${path} is not a directory`);
        return sendUnary(res, { entries: parseEntries(r.stdout) });
      }
      case "MakeDir": {
        const b = await readUnary(req, PathRequest);
        const path = resolvePath(b.path, user);
        await this.sandboxes.ensureUser(id, user);
        const p = shellQuote(path);
        const r = await this.sandboxes.exec(id, `[ -e ${p} ] && exit ${EXISTS}; ${asUser(user)}mkdir -p -- ${p} || exit ${DENIED}; ${statScript(path)}`);
        if (r.exitCode === EXISTS) throw new ConnectError("already_exists", `${path} already exists`);
        if (r.exitCode === DENIED) throw new ConnectError("permission_denied", `could not create ${path}: ${r.stderr.trim()}`);
        return sendUnary(res, { entry: parseEntries(r.stdout)[0] });
      }
      case "Move": {
        const b = await readUnary(req, MoveRequest);
        const from = resolvePath(b.source, user);
        const to = resolvePath(b.destination, user);
        if (user === "root") {
          const rt = await this.sandboxes.runtime(id);
          await rt.json("POST", "/files/move", { from, to, overwrite: true });
        } else {
          // As the user, so the user's permissions apply, as in envd.
          await this.sandboxes.ensureUser(id, user);
          const [f, t] = [shellQuote(from), shellQuote(to)];
          const r = await this.sandboxes.exec(id, `[ -e ${f} ] || [ -L ${f} ] || exit ${NOT_FOUND}; ${asUser(user)}mv -fT -- ${f} ${t} || exit ${DENIED}`);
          if (r.exitCode === NOT_FOUND) throw new ConnectError("not_found", `no such file or directory: ${from}`);
          if (r.exitCode !== 0) throw new ConnectError("permission_denied", `could not move ${from} to ${to}: ${r.stderr.trim()}`);
        }
        return sendUnary(res, { entry: await this.stat(id, to) });
      }
      case "Remove": {
        const b = await readUnary(req, PathRequest);
        const path = resolvePath(b.path, user);
        if (user !== "root") {
          await this.sandboxes.ensureUser(id, user);
          const r = await this.sandboxes.exec(id, `${asUser(user)}rm -rf -- ${shellQuote(path)}`);
          if (r.exitCode !== 0) throw new ConnectError("permission_denied", `could not remove ${path}: ${r.stderr.trim()}`);
          return sendUnary(res, {});
        }
        const rt = await this.sandboxes.runtime(id);
        try {
          await rt.json("DELETE", `/files?${new URLSearchParams({ path, recursive: "true" })}`);
        } catch (err) {
          // envd removes like `rm -rf`: a path that is already gone is not an error.
          if (!(err instanceof BurrowError && err.code === "FILE_NOT_FOUND")) throw err;
        }
        return sendUnary(res, {});
      }
      case "WatchDir":
        return this.watch(id, req, res, user);
    }
    throw new ConnectError("unimplemented", `filesystem.Filesystem ${method} is not served by Burrow (WatchDir is; the polling watcher API is not)`);
  }

  async stat(id: string, path: string): Promise<object> {
    const r = await this.sandboxes.exec(id, statScript(path));
    if (r.exitCode === NOT_FOUND) throw new ConnectError("not_found", `no such file or directory: ${path}`);
    const entry = parseEntries(r.stdout)[0];
    if (r.exitCode !== 0 || !entry) throw new ConnectError("internal", `could not stat ${path}: ${r.stderr.trim()}`);
    return entry;
  }

  private async watch(id: string, req: IncomingMessage, res: ServerResponse, user: string): Promise<void> {
    const b = await readStreamRequest(req, WatchDirRequest);
    const root = resolvePath(b.path, user);
    const rt = await this.sandboxes.runtime(id);
    const q = new URLSearchParams({ path: root, recursive: String(b.recursive ?? false), exclude: "" });
    const upstream = await rt.send("GET", `/watch?${q}`);
    const stream = new ConnectStream(res, { ms: keepaliveMs(req), message: { keepalive: {} } });
    if ((upstream.statusCode ?? 500) >= 400) return stream.end(await runtimeError(upstream));
    const release = this.sandboxes.manager.hold(id);
    res.on("close", () => upstream.destroy());
    // The watch lasts until the caller's deadline (the SDK's timeoutMs, 60 s unless 0), as envd's does.
    const deadline = deadlineOf(req);
    const timer = deadline
      ? setTimeout(() => {
          stream.end(new ConnectError("deadline_exceeded", `the watch reached its timeout of ${deadline} ms`));
          upstream.destroy();
        }, deadline)
      : undefined;
    const rel = (p: string) => posix.relative(root, p);
    const event = (name: string, type: string) => ({ filesystem: { name, type } });
    try {
      for await (const e of ndjson<{ type?: string; sse?: string; data?: { type: string; path: string; from?: string; isDirectory: boolean }; message?: string }>(upstream as Readable)) {
        if (e.type === "watching") stream.send({ start: {} });
        else if (e.type === "error") return stream.end(new ConnectError("internal", e.message ?? "the watch failed"));
        else if (e.sse === "event" && e.data) {
          const d = e.data;
          if (d.type === "move" && d.from) {
            // fsnotify's view of a rename: the old name is renamed, the new one created.
            stream.send(event(rel(d.from), EVENT.move!));
            stream.send(event(rel(d.path), EVENT.create!));
          } else {
            stream.send(event(rel(d.path), EVENT[d.type] ?? "EVENT_TYPE_UNSPECIFIED"));
            // A new file with content is a create and a write to inotify.
            if (d.type === "create" && !d.isDirectory) stream.send(event(rel(d.path), EVENT.modify!));
          }
        }
      }
      stream.end(new ConnectError("unavailable", "the sandbox stopped; the watch is over"));
    } catch (err) {
      if (!stream.closed) throw err;
    } finally {
      clearTimeout(timer);
      release();
    }
  }
}
