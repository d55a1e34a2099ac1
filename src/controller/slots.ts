/**
 * A counting semaphore. The controller holds two: its workers (at most
 * `size` reconciles parse, verify and decide at once, bounding CPU and
 * memory) and its API writers (at most so many writes in flight, sized for
 * the API server). A reconcile gives its worker slot back while it waits on a
 * responder or on a write (`whileWaiting`), so a host that never answers, or
 * a slow API server, cannot hold the workers other Secrets need (the
 * head-of-line bug HAProxy and nginx both shipped; STYLE.md, "Waiting is not
 * working").
 */
export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = size;
  }

  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next === undefined) this.free++;
    else next();
  }

  /** Runs `work` in a slot of its own: waits for one, and frees it when the work ends, however it ends. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  /** Gives the caller's slot back while `work` is pending, and takes one again before returning its result. */
  async whileWaiting<T>(work: Promise<T>): Promise<T> {
    this.release();
    try {
      return await work;
    } finally {
      await this.acquire();
    }
  }
}
