// The judgement table of src/probe/judge-endpoint.ts, row by row, and the
// order of its checks (the certificate before the staple).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { judgeEndpoint, type Expected, type ProbeObservation } from "../../src/probe/judge-endpoint.ts";

const NOW = Date.parse("2026-12-01T12:00:00Z");
const MINUTE = 60_000;
const STORED = Date.parse("2026-12-01T11:00:00Z");
const OLDER = Date.parse("2026-11-28T11:00:00Z");
const LEAF = { subject: "CN=shop.example", serial: "1a" };
const handshake = (staple?: Extract<ProbeObservation, { kind: "handshake" }>["staple"]): ProbeObservation => ({ kind: "handshake", servedLeaf: LEAF, ...(staple === undefined ? {} : { staple }) });
const expected = (secret: Partial<NonNullable<Expected["secret"]>> | undefined, graceMs = 5 * MINUTE): Expected => ({
  propagationGraceMs: graceMs,
  ...(secret === undefined ? {} : { secret: { name: "shop-tls", serial: "1a", leafMatches: true, stored: { thisUpdateMs: STORED, seenSinceMs: NOW - 10 * MINUTE }, ...secret } }),
});

void describe("judgeEndpoint", () => {
  const rows: { saw: string; observation: ProbeObservation; expected: Expected; state: string; message: RegExp; extra?: Record<string, unknown> }[] = [
    { saw: "no handshake", observation: { kind: "unreachable", message: "TLS connection to a:443 failed: ECONNREFUSED" }, expected: expected({}), state: "Unreachable", message: /ECONNREFUSED/, extra: { reachable: false, stapleServed: undefined } },
    { saw: "a certificate no selected Secret holds", observation: handshake({ verified: true, thisUpdateMs: STORED }), expected: expected(undefined), state: "CertificateMismatch", message: /"CN=shop.example" \(serial 1a\), which no Secret .* "secret"/, extra: { certificateMatches: false, stapleServed: true } },
    { saw: "another certificate than the named Secret's, stapled", observation: handshake({ verified: true, thisUpdateMs: OLDER }), expected: expected({ leafMatches: false, serial: "2b" }), state: "CertificateMismatch", message: /not the certificate of Secret shop-tls \(serial 2b\)/, extra: { certificateMatches: false } },
    { saw: "the Secret's certificate, no staple", observation: handshake(), expected: expected({}), state: "NoStaple", message: /no OCSP staple in the handshake for Secret shop-tls/, extra: { certificateMatches: true, stapleServed: false, reachable: true } },
    { saw: "a staple that does not verify", observation: handshake({ verified: false, code: "StapleExpired", message: "nextUpdate passed" }), expected: expected({}), state: "InvalidStaple", message: /^the served staple is refused: StapleExpired: nextUpdate passed$/, extra: { stapleServed: false } },
    { saw: "the stored staple", observation: handshake({ verified: true, thisUpdateMs: STORED }), expected: expected({}), state: "Served", message: /^serves the stored staple \(thisUpdate 2026-12-01T11:00:00Z\)$/, extra: { behindMs: 0, servedThisUpdateMs: STORED, stapleServed: true } },
    { saw: "a newer staple than the stored one", observation: handshake({ verified: true, thisUpdateMs: STORED + MINUTE }), expected: expected({}), state: "Served", message: /or a newer one/, extra: { behindMs: 0 } },
    { saw: "a staple while none is stored", observation: handshake({ verified: true, thisUpdateMs: OLDER }), expected: expected({ stored: undefined } as never), state: "Served", message: /none is stored for it now/ },
    { saw: "an older staple, the stored one known for less than the grace", observation: handshake({ verified: true, thisUpdateMs: OLDER }), expected: expected({ stored: { thisUpdateMs: STORED, seenSinceMs: NOW - 4 * MINUTE } }), state: "Served", message: /within propagationGrace \(300s\)/, extra: { behindMs: STORED - OLDER } },
    { saw: "an older staple, the stored one known for exactly the grace", observation: handshake({ verified: true, thisUpdateMs: OLDER }), expected: expected({ stored: { thisUpdateMs: STORED, seenSinceMs: NOW - 5 * MINUTE } }), state: "Served", message: /within propagationGrace/ },
    { saw: "an older staple, the stored one known for longer than the grace", observation: handshake({ verified: true, thisUpdateMs: OLDER }), expected: expected({ stored: { thisUpdateMs: STORED, seenSinceMs: NOW - 5 * MINUTE - 1000 } }), state: "OldStaple", message: /an older staple \(thisUpdate 2026-11-28T11:00:00Z\) than the one stored \(thisUpdate 2026-12-01T11:00:00Z\), known since 2026-12-01T11:54:59Z, beyond propagationGrace \(300s\): is its reloader running/, extra: { behindMs: STORED - OLDER, stapleServed: true, certificateMatches: true } },
    { saw: "an older staple with a zero grace", observation: handshake({ verified: true, thisUpdateMs: OLDER }), expected: expected({ stored: { thisUpdateMs: STORED, seenSinceMs: NOW - 1 } }, 0), state: "OldStaple", message: /beyond propagationGrace \(0s\)/ },
  ];
  for (const row of rows) {
    void it(`${row.saw}: ${row.state}`, () => {
      const judgement = judgeEndpoint(row.observation, row.expected, NOW);
      assert.equal(judgement.state, row.state);
      assert.match(judgement.message, row.message);
      for (const [field, value] of Object.entries(row.extra ?? {})) assert.deepEqual((judgement as unknown as Record<string, unknown>)[field], value, field);
    });
  }

  void it("messages name instants, not ages: the same observation later says the same (no status write per probe)", () => {
    const observation = handshake({ verified: true, thisUpdateMs: OLDER });
    const secret = expected({ stored: { thisUpdateMs: STORED, seenSinceMs: NOW - 10 * MINUTE } });
    assert.equal(judgeEndpoint(observation, secret, NOW).message, judgeEndpoint(observation, secret, NOW + 30 * MINUTE).message);
  });
});
