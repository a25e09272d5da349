import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SessionStore } from "../src/web/sessions.js";
import { TerminalLinks } from "../src/web/terminal-links.js";

/* The dashboard's sessions and terminal links against a fake clock, without a browser. */

describe("sessions and terminal links, on their own", () => {
  it("sessions end at sign-out, at expiry, and when the token changes", () => {
    const dir = mkdtempSync(join(tmpdir(), "burrow-sessions-"));
    try {
      let now = Date.parse("2026-01-01T00:00:00Z");
      const store = new SessionStore(join(dir, "db"), "token-1", () => now);
      const a = store.open();
      const b = store.open();
      assert.equal(store.find(a.id)?.csrf, a.session.csrf);
      assert.notEqual(a.session.csrf, b.session.csrf);
      store.close(a.id);
      assert.equal(store.find(a.id), undefined, "signed out");
      store.shutdown();
      const again = new SessionStore(join(dir, "db"), "token-2", () => now);
      assert.equal(again.find(b.id), undefined, "a new token ends old sessions");
      const c = again.open();
      now += 8 * 24 * 3600 * 1000;
      assert.equal(again.find(c.id), undefined, "expired");
      again.shutdown();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("open only their own sandbox, until they expire", () => {
    let now = Date.parse("2026-01-01T00:00:00Z");
    const links = new TerminalLinks("a-token", () => now);
    const { secret, expiresAt } = links.mint("box-1", 60);
    assert.equal(expiresAt, "2026-01-01T00:01:00.000Z");
    assert.equal(links.check("box-1", secret), "ok");
    assert.equal(links.check("box-2", secret), "invalid");
    assert.equal(new TerminalLinks("another-token", () => now).check("box-1", secret), "invalid", "a new token voids old links");
    assert.equal(links.check("box-1", secret.replace(/^\d+/, (e) => String(Number(e) + 3600))), "invalid", "the expiry is signed");
    now += 61_000;
    assert.equal(links.check("box-1", secret), "expired");
  });
});
