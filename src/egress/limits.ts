import { Transform } from "node:stream";

/**
 * Concurrent connections of one sandbox: past the limit a connection waits
 * (first come, first served) up to `waitMs`, then is refused. Each sandbox
 * has its own gate, so one at its limit never holds up another.
 */
export class ConnectionGate {
  private active = 0;
  private readonly queue: { resolve: (ok: boolean) => void; timer: NodeJS.Timeout }[] = [];

  constructor(public max: number, private readonly waitMs: number) {}

  /** Resolves true with a slot taken (call `release` later), or false when none freed up in time. */
  acquire(): Promise<boolean> {
    if (this.active < this.max) {
      this.active++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const entry = {
        resolve,
        timer: setTimeout(() => {
          this.queue.splice(this.queue.indexOf(entry), 1);
          resolve(false);
        }, this.waitMs),
      };
      this.queue.push(entry);
    });
  }

  release(): void {
    const next = this.queue.shift();
    if (next) {
      clearTimeout(next.timer);
      next.resolve(true);
    } else this.active--;
  }

  get inUse(): number {
    return this.active;
  }
}

/**
 * A token bucket shared by all of a sandbox's connections: each chunk waits
 * until the bucket has paid for it. `rate` null means no cap.
 */
export class Bandwidth {
  private nextFree = 0;

  constructor(public bytesPerSecond: number | null) {}

  /** How long a chunk of this size must wait before it may pass. */
  delayFor(bytes: number): number {
    if (!this.bytesPerSecond) return 0;
    const now = Date.now();
    const start = Math.max(now, this.nextFree);
    this.nextFree = start + (bytes / this.bytesPerSecond) * 1000;
    // A burst of up to 100 ms passes at once; beyond that, chunks queue.
    return Math.max(0, this.nextFree - now - 100);
  }

  /** A stream stage that counts bytes and holds chunks back to keep within the rate. */
  meter(count: (n: number) => void): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc, cb) => {
        count(chunk.length);
        const wait = this.delayFor(chunk.length);
        if (wait <= 0) cb(null, chunk);
        else setTimeout(() => cb(null, chunk), wait);
      },
    });
  }
}
