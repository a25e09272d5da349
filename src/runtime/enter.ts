import { existsSync } from "node:fs";

/** burrow-enter (init/enter.c), beside the runtime: it moves a command into the user pids cgroup, then execs it. */
export const ENTER = "/.burrow/runtime/enter";
const available = existsSync(ENTER);

/**
 * The program and arguments to spawn for a user's command: through burrow-enter
 * when it is there, so nothing the command forks can use the pids the runtime
 * keeps for itself.
 */
export function viaEnter(file: string, args: readonly string[]): [string, string[]] {
  return available ? [ENTER, [file, ...args]] : [file, [...args]];
}
