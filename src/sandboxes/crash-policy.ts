import { BurrowError, type SandboxCrash } from "../contract/index.js";

/** A crash within this long of the sandbox's start counts as "in a row" with the one before. */
export const CRASH_WINDOW_MS = 60_000;
/** The longest a crashing sandbox waits before it may start again. */
export const MAX_BACKOFF_S = 300;

/**
 * The crash record after one more crash. The first crash (or one after a run
 * longer than the window) restarts on the next request; from the second in a
 * row, restarts wait 1 s, 2 s, 4 s ... up to 5 minutes.
 */
export function nextCrash(prev: SandboxCrash | undefined, ranMs: number, cause: Pick<SandboxCrash, "kind" | "reason">, now = Date.now()): SandboxCrash {
  const count = prev && ranMs < CRASH_WINDOW_MS ? prev.count + 1 : 1;
  const waitS = count < 2 ? 0 : Math.min(2 ** (count - 2), MAX_BACKOFF_S);
  return { at: new Date(now).toISOString(), ...cause, count, restartAfter: waitS ? new Date(now + waitS * 1000).toISOString() : null };
}

/** The refusal for a request that would restart a sandbox still backing off, or undefined when it may start. */
export function backoffRefusal(id: string, crash: SandboxCrash | undefined, now = Date.now()): BurrowError | undefined {
  if (!crash?.restartAfter) return undefined;
  const waitMs = Date.parse(crash.restartAfter) - now;
  if (waitMs <= 0) return undefined;
  const retryAfter = Math.ceil(waitMs / 1000);
  return new BurrowError(
    "SANDBOX_CRASHED",
    `sandbox ${id} crashed ${crash.count} times in a row (last at ${crash.at}: ${crash.reason}); it is not restarted before ${crash.restartAfter}, retry in ${retryAfter} s`,
    { id, retryAfter, crash },
  );
}
