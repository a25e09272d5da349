import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** Bounds of a terminal link's life, in seconds. */
export const LINK_TTL = { default: 300, max: 3600 };

/**
 * Short-lived, single-sandbox terminal links for pages on other origins: the
 * link's secret is `<expiry>.<HMAC(id, expiry)>`, keyed by a key derived from
 * the admin token, so nothing is stored, a link opens only its own sandbox's
 * terminal until it expires, and changing the token voids every link.
 */
export class TerminalLinks {
  private readonly key: Buffer;

  constructor(adminToken: string, private readonly now: () => number = Date.now) {
    this.key = createHash("sha256").update(`burrow-terminal-link:${adminToken}`).digest();
  }

  mint(sandboxId: string, ttlS: number): { secret: string; expiresAt: string } {
    const exp = Math.floor(this.now() / 1000) + ttlS;
    return { secret: `${exp}.${this.sign(sandboxId, exp)}`, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /** "ok", "expired" or "invalid" for a link secret presented for this sandbox. */
  check(sandboxId: string, secret: string): "ok" | "expired" | "invalid" {
    const m = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(secret);
    if (!m) return "invalid";
    const exp = Number(m[1]);
    const given = Buffer.from(m[2]!);
    const want = Buffer.from(this.sign(sandboxId, exp));
    if (given.length !== want.length || !timingSafeEqual(given, want)) return "invalid";
    return exp * 1000 > this.now() ? "ok" : "expired";
  }

  private sign(sandboxId: string, exp: number): string {
    return createHmac("sha256", this.key).update(`${sandboxId}\n${exp}`).digest("base64url");
  }
}
