/** What is known of a Secret before its chain is parsed. */
export interface BeforeParse {
  /** SHA-256 of the leaf's DER (hashing is cheap; parsing is not). */
  readonly leafSha256: string;
  /** The certificate the staple in place was written for, when a staple is in place under the first target key. */
  readonly stapleInPlaceFor: string | undefined;
  /** When the last reconcile planned to look again, epoch ms (undefined: never reconciled by this process). */
  readonly nextCheckAtMs: number | undefined;
  readonly now: Date;
}

/**
 * Whether a reconcile will most likely fetch: no staple is in place for this
 * certificate, or its scheduled check is due. The controller asks before
 * parsing the chain, so that a Secret whose responder has a full backlog
 * steps aside without being parsed for nothing (a cold start of 10,000
 * Secrets parsed each leaf 2.6 times: parsed, turned away, evicted from the
 * chain cache, parsed again). A staple in place that is not due yet means
 * the reconcile only re-verifies it, which needs no responder; a wrong guess
 * either way costs one parse or one short wait, never a wrong decision:
 * the plan decides on the parsed facts.
 */
export function fetchLikely(facts: BeforeParse): boolean {
  if (facts.stapleInPlaceFor !== facts.leafSha256) return true;
  return facts.nextCheckAtMs !== undefined && facts.nextCheckAtMs <= facts.now.getTime();
}
