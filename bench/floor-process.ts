import { spawn, type ChildProcess } from "node:child_process";

const FLOORS = new URL("./floors.ts", import.meta.url).pathname;

/** Start one of bench/floors.ts's servers in its own process; resolves with its port and a stop. */
export async function startFloor(kind: "ws" | "http"): Promise<{ port: number; pid: number; stop(): void }> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", FLOORS, kind], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`floor server ${kind} did not start`)), 30_000);
    child.stdout!.once("data", (d) => (clearTimeout(t), resolve(Number(String(d).trim()))));
    child.once("exit", (code) => reject(new Error(`floor server ${kind} exited with ${code}`)));
  });
  return { port, pid: child.pid!, stop: () => void child.kill() };
}
