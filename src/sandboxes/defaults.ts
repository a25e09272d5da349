/** What a sandbox gets when the caller does not say. */
export const DEFAULT_LIMITS = { memoryMB: 1024, cpus: 1, pids: 1024 } as const;
export const DEFAULT_SLEEP_AFTER_S = 600;
