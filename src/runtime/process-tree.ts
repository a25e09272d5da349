import { readdirSync, readFileSync } from "node:fs";

/** Every process in the sandbox's pid namespace with its parent and state letter, read from /proc. */
function processes(): { pid: number; ppid: number; state: string }[] {
  const out: { pid: number; ppid: number; state: string }[] = [];
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    } catch {
      continue; // exited while we looked
    }
    // The command name may hold spaces and parens; state and ppid follow the last ')'.
    const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    out.push({ pid, ppid: Number(ppid), state: state ?? "" });
  }
  return out;
}

/** Every pid whose ancestry leads to `root` (not including root). */
export function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const { pid, ppid } of processes()) {
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    for (const c of children.get(stack.pop()!) ?? []) {
      out.push(c);
      stack.push(c);
    }
  }
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

/**
 * Signal a process, its process group and every descendant, including ones
 * that left the group with setsid. Descendants are collected before the root is
 * signalled, because once it dies they are re-parented to PID 1 and lost.
 */
export function killTree(root: number, sig: NodeJS.Signals = "SIGKILL", includeRoot = true): void {
  const all = descendantsOf(root);
  // Stop first so nothing forks new children between our look and our kill.
  if (sig === "SIGKILL") for (const pid of all) signal(pid, "SIGSTOP");
  if (includeRoot) {
    signal(-root, sig);
    signal(root, sig);
  }
  for (const pid of all) signal(pid, sig);
}

/** Live processes (zombies left out: they hold no resources but a pid until reaped). */
const liveProcesses = () => processes().filter((p) => p.state !== "Z" && p.state !== "X");

/**
 * SIGKILL every process of the sandbox except init, the runtime and the ones
 * `spare` keeps, whoever started them (daemons, fork bombs re-parented to
 * init). Each round stops what it finds before killing it, so nothing forks
 * between the look and the kill; rounds repeat until none is left or
 * `deadlineMs` has passed. Needs no new process, so it works in a sandbox
 * whose pids are all taken. Returns how many were killed.
 */
export function killLeftovers(spare: (p: { pid: number; ppid: number }) => boolean, deadlineMs = 3000): number {
  const killed = new Set<number>();
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    const targets = liveProcesses().filter((p) => p.pid !== 1 && p.pid !== process.pid && !spare(p));
    if (!targets.length) break;
    for (const t of targets) signal(t.pid, "SIGSTOP");
    for (const t of targets) {
      signal(t.pid, "SIGKILL");
      killed.add(t.pid);
    }
  }
  return killed.size;
}
