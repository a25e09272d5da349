import { BurrowError } from "../contract/errors.js";

/** How long one file operation may take before its request is answered with FILE_TIMEOUT. */
export const FILE_DEADLINE_MS = 30_000;

/**
 * Settle with `work`, or reject with FILE_TIMEOUT once `ms` have passed. The
 * work itself may go on (a blocked system call cannot be taken back), but
 * the caller gets an answer and the request's resources are let go.
 */
export async function withDeadline<T>(work: Promise<T>, path: string, ms = FILE_DEADLINE_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new BurrowError("FILE_TIMEOUT", `the file operation on ${path} did not finish within ${Math.round(ms / 1000)} s; retry, or try a smaller directory or file`, { path })),
      ms,
    );
    timer.unref();
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
