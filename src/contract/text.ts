import { z } from "zod";

/**
 * A string that may reach a C API (argv, environment, paths): a NUL byte would
 * cut it short or make the kernel refuse it later, after it was stored, so it
 * is refused at the boundary instead.
 */
export const CString = z.string().refine((v) => !v.includes("\0"), { message: "must not contain a NUL byte (\\u0000)" });
