/**
 * The program that runs inside a jail (see ../README.md). It reads one job
 * as JSON on stdin and prints one JSON answer line: {ok, result} or {ok: false, error}.
 */
import { readFileSync } from "node:fs";
import { mergeLayers, run } from "./merge.js";
import { normalise } from "./normalise.js";
import { unpackImage } from "./image.js";

type Job =
  | ({ op: "merge" } & Parameters<typeof mergeLayers>[0])
  | ({ op: "normalise" } & Parameters<typeof normalise>[0])
  | ({ op: "image" } & Parameters<typeof unpackImage>[0])
  | ({ op: "extract"; archive: string; into: string; args: string[] } & { normalise?: Omit<Parameters<typeof normalise>[0], "root"> });

function perform(job: Job): unknown {
  switch (job.op) {
    case "merge":
      return mergeLayers(job);
    case "normalise":
      return normalise(job);
    case "image":
      return unpackImage(job);
    case "extract":
      run("tar", ["-x", "-f", job.archive, "-C", job.into, ...job.args]);
      return job.normalise ? normalise({ ...job.normalise, root: job.into }) : {};
  }
}

try {
  const job = JSON.parse(readFileSync(0, "utf8")) as Job;
  process.stdout.write(JSON.stringify({ ok: true, result: perform(job) }) + "\n");
} catch (err) {
  process.stdout.write(JSON.stringify({ ok: false, error: (err as Error).message }) + "\n");
  process.exitCode = 1;
}
