import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { BurrowApiError, Sandbox } from "../src/client/index.js";
import { startGitServer, type GitServer } from "./helpers/git-server.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

describe("git checkout", () => {
  let git: GitServer;
  let srv: TestServer;
  let sbx: Sandbox;
  const creds = { user: "bot", token: "s3cr3t-git-token-777" };
  before(async () => {
    git = await startGitServer(creds);
    srv = await startTestServer({ env: { BURROW_EGRESS_ALLOW: `host.burrow.internal:${git.port}` } });
    sbx = srv.burrow.sandbox(name("git"));
  });
  after(async () => {
    await srv.cleanup();
    git.close();
  });

  it("clones through the egress proxy into /workspace/<name> by default", async () => {
    const r = await sbx.gitCheckout(`${git.url}/public.git`);
    assert.equal(r.targetDir, "/workspace/public");
    assert.equal(r.branch, "main");
    assert.match(r.commit, /^[0-9a-f]{40}$/);
    assert.equal((await sbx.exec("cat file3.txt; git log --oneline | wc -l", { cwd: "/workspace/public" })).stdout, "commit 3\n3\n");
  });

  it("clones a branch, shallow", async () => {
    const r = await sbx.gitCheckout(`${git.url}/public.git`, { branch: "feature", depth: 1, targetDir: "/workspace/shallow" });
    assert.equal(r.branch, "feature");
    const s = await sbx.exec("cat feature.txt; git rev-list --count HEAD; git rev-parse --is-shallow-repository", { cwd: "/workspace/shallow" });
    assert.equal(s.stdout, "feature\n1\ntrue\n");
  });

  it("says clearly when the repository or the branch does not exist, leaving nothing behind", async () => {
    await assert.rejects(sbx.gitCheckout(`${git.url}/missing.git`, { targetDir: "/workspace/m1" }), (e: BurrowApiError) => e.code === "GIT_REPO_NOT_FOUND" && e.status === 404);
    await assert.rejects(sbx.gitCheckout(`${git.url}/public.git`, { branch: "nope", targetDir: "/workspace/m2" }), (e: BurrowApiError) => e.code === "GIT_BRANCH_NOT_FOUND" && /nope/.test(e.message));
    assert.equal(await sbx.exists("/workspace/m1"), false);
    assert.equal(await sbx.exists("/workspace/m2"), false);
  });

  it("refuses a bad timeout, a non-empty target and a non-http URL before cloning", async () => {
    const before = git.requests.length;
    await assert.rejects(sbx.gitCheckout(`${git.url}/public.git`, { timeoutMs: -1 }), (e: BurrowApiError) => e.code === "VALIDATION_FAILED");
    await assert.rejects(sbx.gitCheckout(`${git.url}/public.git`, { timeoutMs: 5 }), (e: BurrowApiError) => e.code === "VALIDATION_FAILED");
    await assert.rejects(sbx.gitCheckout(`${git.url}/public.git`, { targetDir: "/workspace/public" }), (e: BurrowApiError) => e.code === "FILE_EXISTS");
    await assert.rejects(sbx.gitCheckout("file:///etc"), (e: BurrowApiError) => e.code === "VALIDATION_FAILED");
    assert.equal(git.requests.length, before, "nothing reached the git server");
  });

  it("uses credentials for the clone without leaving them in .git/config, messages or logs", async () => {
    const url = `http://${creds.user}:${creds.token}@host.burrow.internal:${git.port}/private.git`;
    const r = await sbx.gitCheckout(url, { targetDir: "/workspace/private" });
    assert.equal(r.url.includes(creds.token), false);
    assert.equal((await sbx.exec("cat file1.txt", { cwd: "/workspace/private" })).stdout, "commit 1\n");
    // grep -c prints, per file, how many lines hold the token (.git/logs/HEAD included): every count must be 0.
    const found = await sbx.exec(["sh", "-c", 'grep -rc -- "$T" /workspace /root /tmp 2>/dev/null | grep -v ":0$"; git -C /workspace/private config --list'], { env: { T: creds.token } });
    assert.doesNotMatch(found.stdout, /:\d+$/m, `files holding the token: ${found.stdout}`);
    assert.ok(found.stdout.includes("remote.origin.url"), "the search ran");
    assert.match(found.stdout, /remote\.origin\.url=http:\/\/host\.burrow\.internal/);
    // A wrong token fails with a message that does not echo it.
    const bad = `http://${creds.user}:wrong-token-123@host.burrow.internal:${git.port}/private.git`;
    await assert.rejects(sbx.gitCheckout(bad, { targetDir: "/workspace/p2" }), (e: BurrowApiError) => e.code === "GIT_AUTH_FAILED" && !`${e.message} ${JSON.stringify(e.details)}`.includes("wrong-token-123"));
    const log = readFileSync(`${srv.dataDir}/sandboxes/${sbx.id}/runtime.log`, "utf8");
    assert.doesNotMatch(log, /s3cr3t|wrong-token/);
  });

  it("cannot clone from a host the egress policy refuses", async () => {
    await assert.rejects(sbx.gitCheckout(`http://host.burrow.internal:1/x.git`, { targetDir: "/workspace/x", timeoutMs: 20_000 }), (e: BurrowApiError) => e.code === "EGRESS_DENIED" && e.status === 403);
    await assert.rejects(sbx.gitCheckout(`https://10.9.8.7/x.git`, { targetDir: "/workspace/y", timeoutMs: 20_000 }), (e: BurrowApiError) => e.code === "EGRESS_DENIED" && /10\.9\.8\.7/.test(e.message));
  });
});
