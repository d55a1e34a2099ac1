import type { VerifiedResponse } from "../ocsp/verified-response.ts";

/**
 * What each consumer accepts, beyond what `verifyResponse` checks. A staple
 * that verifies can still be refused by the server that reads it (issue 14):
 * HAProxy refuses several SingleResponses, a missing nextUpdate and
 * `unknown`; Envoy treats a response without nextUpdate as expired (with
 * MUST_STAPLE, an outage); Caddy refuses a response valid past the
 * certificate's end. Publishing such a staple replaces a good one with one
 * the server drops, so the plan keeps the previous staple instead and
 * reports `ConsumerWouldReject` (plan.ts). Pure: rules read the verified
 * response's facts, the leaf's notAfter and the clock.
 */

/** `spec.target.consumer`: who reads the staple. `Auto` derives it from the target keys; `Any` applies every rule (a staple every consumer here accepts). */
export const CONSUMERS = ["Auto", "Any", "Nginx", "HAProxy", "Envoy", "Istio", "Nghttpx", "Exim", "Caddy"] as const;
export type Consumer = (typeof CONSUMERS)[number];

export function isConsumer(value: unknown): value is Consumer {
  return typeof value === "string" && (CONSUMERS as readonly string[]).includes(value);
}

/** What a rule may look at besides the response. */
export interface RuleContext {
  /** The leaf certificate's notAfter. */
  readonly leafNotAfter: Date;
  readonly now: Date;
}

export interface ConsumerRule {
  /** Stable, short: shown in the status message (`<consumer>: <rule>: <why>`). */
  readonly name: string;
  /** Why the consumer would refuse this response, or undefined when it accepts it. */
  readonly check: (response: VerifiedResponse, context: RuleContext) => string | undefined;
}

export interface ConsumerProfile {
  readonly name: string;
  readonly rules: readonly ConsumerRule[];
}

const DAY_MS = 86_400_000;
/** HAProxy's OCSP_MAX_RESPONSE_TIME_SKEW (include/haproxy/ssl_ocsp-t.h): 300 s. */
export const HAPROXY_MIN_VALIDITY_MS = 300_000;
/** mozilla::pkix's maxLifetimeInDays for OCSP responses (Firefox), and the CA/B Baseline Requirements' §4.9.10 cap. */
export const MOZILLA_MAX_LIFETIME_MS = 10 * DAY_MS;

const singleResponse = (consumer: string): ConsumerRule => ({
  name: "SingleSingleResponse",
  check: (response) => response.singleResponses === 1 ? undefined : `${consumer} accepts only a response with one SingleResponse; this one has ${response.singleResponses}`,
});

const nextUpdatePresent = (consumer: string, what: string): ConsumerRule => ({
  name: "NextUpdateRequired",
  check: (response) => response.nextUpdate === undefined ? `the response has no nextUpdate, which ${consumer} ${what}` : undefined,
});

const subjectFirst = (consumer: string): ConsumerRule => ({
  name: "SubjectFirst",
  check: (response) => response.subjectIndex === 0 ? undefined : `${consumer} reads only the first SingleResponse, and the certificate's is number ${response.subjectIndex + 1} of ${response.singleResponses}`,
});

/**
 * HAProxy, `ssl_sock_load_ocsp_response` (src/ssl_ocsp.c), for `.ocsp` files
 * at load and for `set ssl ocsp-response`: "contains multiple single
 * responses", "certificate status is unknown", "missing nextupdate", and
 * "no longer valid. Must be valid during at least 300s".
 */
const HAPROXY: ConsumerProfile = {
  name: "HAProxy",
  rules: [
    singleResponse("HAProxy"),
    { name: "KnownStatus", check: (response) => response.certStatus.kind === "unknown" ? "HAProxy refuses a response whose status is unknown" : undefined },
    nextUpdatePresent("HAProxy", "refuses (\"missing nextupdate\")"),
    {
      name: "ValidFiveMinutes",
      check: (response, { now }) => response.nextUpdate !== undefined && response.nextUpdate.getTime() - HAPROXY_MIN_VALIDITY_MS < now.getTime()
        ? `HAProxy refuses a response valid for less than 5 minutes (nextUpdate ${response.nextUpdate.toISOString()})`
        : undefined,
    },
  ],
};

/**
 * Envoy, `OcspResponseWrapper` (source/extensions/transport_sockets/tls/ocsp/ocsp.cc):
 * "OCSP Response must be for one certificate only", and `isExpired()` is true
 * without a nextUpdate — with `ocsp_staple_policy: MUST_STAPLE` the TLS
 * context is rejected, otherwise the staple is silently not sent. Istio's
 * gateways, kgateway and Envoy Gateway all hand the staple to Envoy.
 */
function envoyProfile(name: string): ConsumerProfile {
  return { name, rules: [singleResponse("Envoy"), nextUpdatePresent("Envoy", "treats as expired (with MUST_STAPLE the listener is rejected)")] };
}

/**
 * nghttpx, `verify_ocsp_response` (src/shrpx_tls.cc): compares the serial of
 * `OCSP_resp_get0(bs, 0)` — the first SingleResponse only — with the
 * certificate's, and refuses the response when they differ.
 */
const NGHTTPX: ConsumerProfile = { name: "Nghttpx", rules: [subjectFirst("nghttpx")] };

/**
 * Exim with GnuTLS (`tls_ocsp_file`): GnuTLS matches a response to the
 * certificate with `gnutls_ocsp_resp_check_crt(resp, 0, crt)` (lib/cert-cred.c,
 * `resp_matches_pcert`) — the first SingleResponse only.
 */
const EXIM: ConsumerProfile = { name: "Exim", rules: [subjectFirst("GnuTLS (Exim)")] };

/**
 * Caddy, certmagic `stapleOCSP` (ocsp.go): a `good` response whose
 * nextUpdate is after the leaf's notAfter is "invalid: OCSP response … valid
 * after certificate expiration" and not stapled (the 2017 Symantec outage).
 */
const CADDY: ConsumerProfile = {
  name: "Caddy",
  rules: [{
    name: "NotPastCertificate",
    check: (response, { leafNotAfter }) => response.certStatus.kind === "good" && response.nextUpdate !== undefined && response.nextUpdate > leafNotAfter
      ? `Caddy refuses a good response valid past the certificate's notAfter (nextUpdate ${response.nextUpdate.toISOString()}, notAfter ${leafNotAfter.toISOString()})`
      : undefined,
  }],
};

/**
 * Firefox (mozilla::pkix `VerifyEncodedOCSPResponse`, maxLifetimeInDays = 10)
 * and Mozilla's root policy (the Baseline Requirements cap nextUpdate −
 * thisUpdate at 10 days). Only with `consumer: Any`: every server's staple
 * reaches browsers, but mozilla::pkix does not refuse a longer response, it
 * counts it valid until thisUpdate + 10 days — so a fresh staple with a longer
 * window is still accepted, and refusing it would leave Firefox with nothing
 * (with must-staple, an outage). Public CAs keep to 10 days anyway.
 */
const MOZILLA: ConsumerProfile = {
  name: "Mozilla",
  rules: [{
    name: "MaxLifetimeTenDays",
    check: (response) => response.nextUpdate !== undefined && response.nextUpdate.getTime() - response.thisUpdate.getTime() > MOZILLA_MAX_LIFETIME_MS
      ? `Mozilla's policy caps nextUpdate − thisUpdate at 10 days; this response's is ${((response.nextUpdate.getTime() - response.thisUpdate.getTime()) / DAY_MS).toFixed(1)} days`
      : undefined,
  }],
};

/** nginx sends `ssl_stapling_file` as it is, unchecked (ngx_event_openssl_stapling.c): no rule. */
const NGINX: ConsumerProfile = { name: "Nginx", rules: [] };

const PROFILES: Readonly<Record<Exclude<Consumer, "Auto" | "Any">, ConsumerProfile>> = {
  Nginx: NGINX, HAProxy: HAPROXY, Envoy: envoyProfile("Envoy"), Istio: envoyProfile("Istio"), Nghttpx: NGHTTPX, Exim: EXIM, Caddy: CADDY,
};

/**
 * Who reads each conventional key (DESIGN.md, "Who reads which key"). A key
 * several consumers read gets every one's rules; a key not listed, none.
 */
export const CONSUMERS_BY_KEY: Readonly<Record<string, readonly Exclude<Consumer, "Auto" | "Any">[]>> = {
  "tls.ocsp": ["Nginx", "HAProxy"],
  "tls.crt.ocsp": ["HAProxy"],
  "tls.ocsp-staple": ["Istio"],
  "ocsp.staple": ["Envoy"],
  "tls.ocsp-resp": ["Nghttpx"],
};

/**
 * The profiles whose rules a staple for this target must pass. With `chain:
 * Full` the bundle `<first key>.pem` is written too, and its reader is
 * Exim/GnuTLS (DESIGN.md's key table): Auto adds Exim's rules, for the leaf's
 * staple and every intermediate's, since GnuTLS refuses the whole bundle for
 * one response it cannot use (and Exim then refuses STARTTLS).
 */
export function profilesFor(consumer: Consumer, keys: readonly string[], chain: "Leaf" | "Full" = "Leaf"): readonly ConsumerProfile[] {
  if (consumer === "Any") return [...Object.values(PROFILES), MOZILLA];
  if (consumer !== "Auto") return [PROFILES[consumer]];
  const names = new Set(keys.flatMap((key) => CONSUMERS_BY_KEY[key] ?? []));
  if (chain === "Full") names.add("Exim");
  return [...names].map((name) => PROFILES[name]);
}

export interface ConsumerRejection {
  readonly consumer: string;
  readonly rule: string;
  readonly message: string;
}

/** The first rule of these profiles the response breaks, in order, or undefined. */
export function consumerRejection(profiles: readonly ConsumerProfile[], response: VerifiedResponse, context: RuleContext): ConsumerRejection | undefined {
  for (const profile of profiles) {
    for (const rule of profile.rules) {
      const why = rule.check(response, context);
      if (why !== undefined) return { consumer: profile.name, rule: rule.name, message: `not published: ${profile.name} would reject it (${rule.name}): ${why}` };
    }
  }
  return undefined;
}
