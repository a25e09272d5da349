import { after } from "node:test";
import { startTestServer, type TestServer } from "./server.js";

/** Resolve when `check` holds, or fail after `ms` (no fixed sleeps: the SDK's callbacks are the signal). */
export async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** One Burrow server for the whole file, and the three variables a user sets (nothing else: no E2B_DEBUG, no E2B_DOMAIN). */
let shared: Promise<TestServer> | undefined;
export function e2bServer(): Promise<TestServer> {
  shared ??= startTestServer().then((srv) => {
    process.env.E2B_API_URL = `${srv.url}/e2b`;
    process.env.E2B_SANDBOX_URL = `${srv.url}/e2b`;
    process.env.E2B_API_KEY = srv.token;
    return srv;
  });
  return shared;
}
after(async () => (await shared)?.cleanup());
