import type { ServableStaple } from "./servable-staple.ts";

/**
 * Every staple the responder can serve, by the Secret it came from and by
 * CertID. A source (a companion Secret, or a TLS Secret's InPlace keys) is
 * replaced as a whole when its Secret changes, so a withdrawn or rotated
 * staple leaves the index with the event that removed it.
 *
 * Several sources may answer for one CertID (two Secrets holding the same
 * certificate, a Secret moving from Companion to InPlace): the lookup serves
 * the newest (latest thisUpdate) of those still usable.
 */
export class StapleIndex {
  private readonly bySource = new Map<string, readonly ServableStaple[]>();
  private readonly byCertId = new Map<string, ServableStaple[]>();

  /** Sets what one source holds; an empty list forgets the source. */
  set(source: string, staples: readonly ServableStaple[]): void {
    for (const staple of this.bySource.get(source) ?? []) this.unlink(staple);
    if (staples.length === 0) {
      this.bySource.delete(source);
      return;
    }
    this.bySource.set(source, staples);
    for (const staple of staples) {
      for (const key of staple.certIdKeys) {
        // A literal, not a spread: a spread array keeps room for 17 elements, and nearly every CertID has one staple.
        const others = this.byCertId.get(key);
        this.byCertId.set(key, others === undefined ? [staple] : [...others, staple]);
      }
    }
  }

  /** The newest staple answering every one of `certIdKeys` that is still usable at `nowMs`. */
  lookup(certIdKeys: readonly string[], nowMs: number): ServableStaple | undefined {
    const [first, ...others] = certIdKeys;
    let best: ServableStaple | undefined;
    for (const staple of this.byCertId.get(first ?? "") ?? []) {
      if (staple.usableUntilMs <= nowMs || (best !== undefined && staple.thisUpdateMs <= best.thisUpdateMs)) continue;
      if (others.every((key) => staple.certIdKeys.includes(key))) best = staple;
    }
    return best;
  }

  /** How many staples are held (a staple stored under several keys of one Secret counts once). */
  get size(): number {
    let count = 0;
    for (const staples of this.bySource.values()) count += staples.length;
    return count;
  }

  private unlink(staple: ServableStaple): void {
    for (const key of staple.certIdKeys) {
      const remaining = (this.byCertId.get(key) ?? []).filter((other) => other !== staple);
      if (remaining.length === 0) this.byCertId.delete(key);
      else this.byCertId.set(key, remaining);
    }
  }
}
