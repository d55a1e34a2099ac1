/**
 * A cache map that also keeps its keys grouped by one derived value (an
 * index, as client-go's Indexer): the companions of one TLS Secret, the
 * Secrets of one namespace. A reflector fills it through `set` and `delete`
 * like a plain Map; readers ask `keysFor(value)` in O(matches) instead of
 * scanning the whole cache, which at 10,000 objects per reconcile is the
 * difference between linear and quadratic.
 */
export class IndexedMap<T> extends Map<string, T> {
  private readonly indexOf: (item: T) => string;
  private readonly index = new Map<string, Set<string>>();

  constructor(indexOf: (item: T) => string) {
    super();
    this.indexOf = indexOf;
  }

  override set(key: string, item: T): this {
    this.unindex(key);
    super.set(key, item);
    const value = this.indexOf(item);
    let keys = this.index.get(value);
    if (keys === undefined) {
      keys = new Set();
      this.index.set(value, keys);
    }
    keys.add(key);
    return this;
  }

  override delete(key: string): boolean {
    this.unindex(key);
    return super.delete(key);
  }

  override clear(): void {
    this.index.clear();
    super.clear();
  }

  /** The items whose index value is `value`. */
  *itemsFor(value: string): Iterable<T> {
    for (const key of this.index.get(value) ?? []) {
      const item = this.get(key);
      if (item !== undefined) yield item;
    }
  }

  private unindex(key: string): void {
    const item = this.get(key);
    if (item === undefined) return;
    const value = this.indexOf(item);
    const keys = this.index.get(value);
    keys?.delete(key);
    if (keys?.size === 0) this.index.delete(value);
  }
}
