/** Run async work one at a time per key; other keys are not held up. */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  isHeld(key: string): boolean {
    return this.tails.has(key);
  }

  /** Resolves once no key is held (work queued meanwhile is waited for too). */
  async idle(): Promise<void> {
    while (this.tails.size) await Promise.allSettled([...this.tails.values()]);
  }

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.tails.set(key, tail);
    await prev;
    try {
      return await work();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
