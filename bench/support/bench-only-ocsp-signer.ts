// BENCH ONLY: signs RFC 6960 BasicOCSPResponses in-process (DER written by
// hand, the signature by node:crypto), so bench/responder.ts can make 10,000
// real, issuer-signed staples in about a second instead of 10,000 `openssl
// ocsp` runs. The product never signs anything (the responder serves what the
// operator stored); nothing under src/ may import this. bench/responder.ts
// checks samples of its output with the engine's verifyResponse and with
// `openssl ocsp -respin` before it measures anything.
import { createHash, sign, type KeyObject } from "node:crypto";
import { OID } from "../../src/ocsp/oids.ts";

/** The issuer's facts a CertID and a byKey ResponderID are made of (RFC 6960 §4.1.1, §4.2.1). */
export interface BenchIssuer {
  readonly subjectDer: Uint8Array;
  readonly publicKeyBits: Uint8Array;
  /** The issuer's private key: ECDSA (P-256 etc.), signed with SHA-256. */
  readonly key: KeyObject;
}

export interface BenchStapleOptions {
  /** The certificate's serial, lowercase hex without leading zeros. */
  readonly serialHex: string;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
}

/**
 * A successful OCSPResponse saying `good` for one SHA-1 CertID under
 * `issuer`, signed by the issuer itself (ResponderID byKey, no certificates
 * embedded: the usual issuer-signed shape).
 */
export function signBenchStaple(issuer: BenchIssuer, options: BenchStapleOptions): Buffer {
  const certId = sequence(
    algorithm(OID.sha1, true),
    octetString(sha1(issuer.subjectDer)),
    octetString(sha1(issuer.publicKeyBits)),
    integer(Buffer.from(options.serialHex.length % 2 === 0 ? options.serialHex : `0${options.serialHex}`, "hex")),
  );
  const single = sequence(certId, tlv(0x80, Buffer.alloc(0)), generalizedTime(options.thisUpdate), tlv(0xa0, generalizedTime(options.nextUpdate)));
  const responseData = sequence(tlv(0xa2, octetString(sha1(issuer.publicKeyBits))), generalizedTime(options.thisUpdate), sequence(single));
  const signature = sign("sha256", responseData, { key: issuer.key, dsaEncoding: "der" });
  const basic = sequence(responseData, algorithm(OID.ecdsaWithSha256, false), tlv(0x03, Buffer.concat([Buffer.of(0), signature])));
  return sequence(tlv(0x0a, Buffer.of(0)), tlv(0xa0, sequence(objectIdentifier(OID.ocspBasic), octetString(basic))));
}

function sha1(bytes: Uint8Array): Buffer {
  return createHash("sha1").update(bytes).digest();
}

function tlv(tag: number, content: Uint8Array): Buffer {
  const n = content.length;
  const length = n < 0x80 ? Buffer.of(n) : n < 0x100 ? Buffer.of(0x81, n) : Buffer.of(0x82, n >> 8, n & 0xff);
  return Buffer.concat([Buffer.of(tag), length, content]);
}

const sequence = (...items: Uint8Array[]): Buffer => tlv(0x30, Buffer.concat(items));
const octetString = (bytes: Uint8Array): Buffer => tlv(0x04, bytes);

function integer(magnitude: Buffer): Buffer {
  return tlv(0x02, (magnitude[0] ?? 0) >= 0x80 ? Buffer.concat([Buffer.of(0), magnitude]) : magnitude);
}

function generalizedTime(at: Date): Buffer {
  return tlv(0x18, Buffer.from(`${at.toISOString().slice(0, 19).replace(/[-:T]/g, "")}Z`, "latin1"));
}

function algorithm(oid: string, nullParameters: boolean): Buffer {
  return nullParameters ? sequence(objectIdentifier(oid), tlv(0x05, Buffer.alloc(0))) : sequence(objectIdentifier(oid));
}

function objectIdentifier(oid: string): Buffer {
  const [first = 0, second = 0, ...rest] = oid.split(".").map(Number);
  const bytes = [40 * first + second];
  for (const arc of rest) {
    const groups = [arc & 0x7f];
    for (let value = arc >>> 7; value > 0; value >>>= 7) groups.unshift((value & 0x7f) | 0x80);
    bytes.push(...groups);
  }
  return tlv(0x06, Buffer.from(bytes));
}
