import { companionSourceKey, type CompanionSnapshot } from "./companion-snapshot.ts";
import { IndexedMap } from "./indexed-map.ts";

/**
 * The controller's cache of companion Secrets, which also knows which
 * versions this process wrote itself. A write comes back through the watch
 * a moment later; that echo says nothing the reconcile that wrote it did not
 * know, yet each one cost a full reconcile of its TLS Secret (the chain
 * parsed, the issuer found, the new staple verified): a third of the work of
 * stapling a fleet. The writer notes the digest of what it applies
 * (`expectEcho`, before the request goes out, since the echo can arrive
 * before the answer); the watch handler asks `isEcho` and requeues nothing
 * for it. Any other version (deleted, edited by someone) is not an echo.
 */
export class CompanionCache extends IndexedMap<CompanionSnapshot> {
  private readonly expected = new Map<string, string>();

  /** Indexed by source Secret (`itemsFor(namespace/name)`). */
  constructor() {
    super(companionSourceKey);
  }

  /** A companion with this content digest is about to be applied under `key` (namespace/name). */
  expectEcho(key: string, contentSha256: string): void {
    this.expected.set(key, contentSha256);
  }

  /** The digest of what was last applied under `key` and has not come back yet, if any. */
  pendingEcho(key: string): string | undefined {
    return this.expected.get(key);
  }

  /** Whether this version is the echo of our own write; the expectation is used up either way. */
  isEcho(key: string, companion: CompanionSnapshot | undefined): boolean {
    const expected = this.expected.get(key);
    if (expected === undefined) return false;
    this.expected.delete(key);
    return companion?.contentSha256 === expected;
  }
}

/** What a companion store may be given: a plain map, or the controller's cache that tracks echoes. */
export type CompanionLookup = ReadonlyMap<string, CompanionSnapshot> & {
  readonly expectEcho?: (key: string, contentSha256: string) => void;
  readonly pendingEcho?: (key: string) => string | undefined;
};
