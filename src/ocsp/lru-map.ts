/**
 * A Map bounded to `maxEntries` that forgets the least recently used entry
 * first: what the engine's per-process caches (verified staples, parsed
 * chains) keep their memory bounded with. A Map iterates in insertion order,
 * so re-inserting an entry on each use keeps the least recently used first.
 */
export class LruMap<K, V> {
  readonly maxEntries: number;
  private readonly entries = new Map<K, V>();

  constructor(maxEntries: number, what: string) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`${what}: maxEntries must be a positive integer, got ${maxEntries}`);
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The entry, now the most recently used; undefined when not remembered. */
  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) this.set(key, value);
    return value;
  }

  /** Stores `value` as the most recently used, forgetting the least recently used beyond the bound. */
  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size <= this.maxEntries) return;
    const oldest = this.entries.keys().next();
    if (oldest.done !== true) this.entries.delete(oldest.value);
  }
}
