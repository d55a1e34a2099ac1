/**
 * A counting semaphore: at most `size` reconciles work at once (parse, decide,
 * write), bounding CPU and memory. A reconcile gives its slot back while it
 * waits on a responder (`whileWaiting`), so a host that never answers cannot
 * hold the workers that other hosts' Secrets need (the head-of-line bug
 * HAProxy and nginx both shipped; STYLE.md, "Waiting is not working").
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
