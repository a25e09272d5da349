import type { IncomingMessage, ServerResponse } from "node:http";
import { posix } from "node:path";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { BurrowError } from "../contract/index.js";
import { DENIED } from "./entries.js";
import { FilesQuery } from "./schemas.js";
import { runtimeError } from "../sandboxes/index.js";
import type { E2bSandboxes } from "./sandboxes.js";
import { asUser, homeOf, resolvePath, shellQuote, userOfQuery } from "./users.js";
import { readQuery } from "../lib/http-json.js";
import { boundaryOf, readFileParts } from "./multipart.js";

/** envd's `/files`: download (GET, raw bytes) and upload (POST, multipart `file` fields or one octet-stream body). */
export class FilesHttp {
  constructor(private readonly sandboxes: E2bSandboxes) {}

  async download(id: string, req: IncomingMessage, res: ServerResponse, query: Record<string, string>): Promise<void> {
    const q = this.query(query);
    const user = userOfQuery(q.username);
    if (!q.path) throw new BurrowError("INVALID_PATH", "give the file as ?path=");
    const path = resolvePath(q.path, user);
    const rt = await this.sandboxes.runtime(id);
    const up = await rt.send("GET", `/files?${new URLSearchParams({ path })}`);
    if ((up.statusCode ?? 500) >= 400) throw await runtimeError(up);
    res.writeHead(200, {
      "content-type": up.headers["content-type"] ?? "application/octet-stream",
      ...(up.headers["content-length"] ? { "content-length": up.headers["content-length"] } : {}),
      "content-disposition": `attachment; filename=${JSON.stringify(posix.basename(path))}`,
    });
    up.pipe(res);
    await new Promise<void>((resolve) => {
      res.on("close", () => (up.destroy(), resolve()));
      up.on("error", () => res.destroy());
    });
  }

  async upload(id: string, req: IncomingMessage, res: ServerResponse, query: Record<string, string>): Promise<void> {
    const q = this.query(query);
    const user = userOfQuery(q.username);
    const type = (req.headers["content-type"] ?? "").toLowerCase();
    await this.sandboxes.ensureUser(id, user);
    const written: { path: string; name: string; type: "file" }[] = [];
    if (type.startsWith("application/octet-stream")) {
      if (!q.path) throw new BurrowError("INVALID_PATH", "an application/octet-stream upload names its file with ?path=");
      const encoding = (req.headers["content-encoding"] ?? "identity").toLowerCase();
      if (encoding !== "identity" && encoding !== "gzip")
        throw new BurrowError("BAD_REQUEST", `Content-Encoding ${encoding} is not supported; send the file uncompressed or gzip`);
      const path = resolvePath(q.path, user);
      // files.write(..., {gzip: true}): the body is unpacked on its way to the runtime.
      let corrupt = false;
      const body = encoding === "gzip" ? req.pipe(createGunzip().on("error", () => (corrupt = true))) : req;
      try {
        await this.write(id, user, [{ path, body }]);
      } catch (err) {
        // A broken gzip stream aborts the upload (nothing is written); say whose fault it was.
        if (corrupt) throw new BurrowError("BAD_REQUEST", "the body is not valid gzip (Content-Encoding: gzip); nothing was written");
        throw err;
      }
      written.push({ path, name: posix.basename(path), type: "file" });
    } else if (type.startsWith("multipart/form-data")) {
      // Each file part streams to the runtime as it arrives. ?path= names the first part's file (envd's
      // single-file form); later parts, and a first one without ?path=, are named by their filenames.
      const checked = new Set<string>();
      await readFileParts(req, boundaryOf(req.headers["content-type"]!), async (part) => {
        if (part.field !== "file") {
          for await (const _ of part.body); // another field's file: read past it
          return;
        }
        const name = q.path && !written.length ? q.path : part.filename;
        if (!name) throw new BurrowError("INVALID_PATH", "a file part needs a path: give ?path= or the part's filename");
        const path = resolvePath(name, user);
        await this.write(id, user, [{ path, body: part.body }], { chown: false, checked });
        written.push({ path, name: posix.basename(path), type: "file" });
      });
      if (!written.length) throw new BurrowError("BAD_REQUEST", "the multipart body has no `file` field");
      if (user !== "root") await this.chown(id, user, written.map((w) => w.path));
    } else {
      throw new BurrowError("BAD_REQUEST", `upload with Content-Type multipart/form-data or application/octet-stream (got ${type || "none"})`);
    }
    const data = JSON.stringify(written);
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(data) });
    res.end(data);
  }

  /**
   * Write through Burrow's runtime (atomic, any size). For a user other than
   * root, missing parents are made as that user first, and the files are
   * given to the user after, as envd does.
   */
  private async write(id: string, user: string, items: { path: string; body: Readable }[], opts: { chown?: boolean; checked?: Set<string> } = {}): Promise<void> {
    // The user's own home needs no check (it is made for the user), which spares the common case a command.
    // `checked`: directories an earlier part of the same upload already made or checked.
    const outside = [...new Set(items.map((i) => posix.dirname(i.path)))].filter((d) => d !== homeOf(user) && !opts.checked?.has(d));
    if (user !== "root" && outside.length) {
      const dirs = outside.map(shellQuote);
      const script = dirs.map((d) => `{ [ -d ${d} ] || ${asUser(user)}mkdir -p -- ${d}; } && ${asUser(user)}test -w ${d} || exit ${DENIED}`).join("\n");
      const r = await this.sandboxes.exec(id, script);
      if (r.exitCode === DENIED) throw new BurrowError("PERMISSION_DENIED", `user ${user} cannot write in ${outside.join(", ")}`);
      if (r.exitCode !== 0) throw new BurrowError("INTERNAL", r.stderr.trim() || "could not prepare the upload");
      for (const d of outside) opts.checked?.add(d);
    }
    const rt = await this.sandboxes.runtime(id);
    const release = this.sandboxes.manager.hold(id);
    try {
      for (const it of items) {
        const up = await rt.send("PUT", `/files?${new URLSearchParams({ path: it.path })}`, it.body);
        if ((up.statusCode ?? 500) >= 400) throw await runtimeError(up);
        up.resume();
      }
    } finally {
      release();
    }
    if (user !== "root" && opts.chown !== false) await this.chown(id, user, items.map((i) => i.path));
  }

  private async chown(id: string, user: string, paths: string[]): Promise<void> {
    await this.sandboxes.exec(id, `chown ${user}:${user} -- ${paths.map(shellQuote).join(" ")}`);
  }

  private query(query: Record<string, string>) {
    return readQuery(query, FilesQuery);
  }
}
