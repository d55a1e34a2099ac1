import { bytesEqual } from "./bytes.ts";
import { Certificate } from "./certificate.ts";
import { fail } from "./errors.ts";
import { OID } from "./oids.ts";
import type { BasicResponse, ResponderId } from "./response-parser.ts";
import { algorithmName, signatureVerifies } from "./signature.ts";

/** Who signed a response that we accepted. */
export interface Signer {
  readonly kind: "issuer" | "delegated";
  readonly certificate: Certificate;
}

/**
 * What the time checks need of a delegated responder, once its signature and
 * authority are established (the issuer's own signature has no time limit
 * here). Its validity in epoch milliseconds: VerificationCache keeps these.
 */
export interface DelegateFacts {
  readonly subject: string;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
}

export interface SignerContext {
  readonly issuer: Certificate;
  /** The certificate the response is about: it may never vouch for itself. */
  readonly subject: Certificate;
}

/**
 * Finds the certificate the ResponderID names, checks the response's
 * signature with its key, and checks that it may speak for the issuer
 * (RFC 6960 §4.2.2.2): the issuer itself, or a delegated responder that the
 * issuer signed directly and that carries id-kp-OCSPSigning. Only the issuer
 * and the certificates embedded in the response are candidates: the served
 * chain is not searched, so an intermediate can never answer for itself
 * (Botan's `mychain_ocsp_for_int_self_signed` case). Nothing here depends on
 * the time, so the answer can be cached; a delegate's validity is checked at
 * each use by `checkDelegateValidity`.
 */
export function authenticateSigner(response: BasicResponse, context: SignerContext): Signer {
  const signer = findSigner(response, context.issuer);
  if (!signatureVerifies(response.signatureAlgorithm, signer.certificate.publicKey, response.tbsDer, response.signature)) {
    return fail("BadSignature", `the response's ${algorithmName(response.signatureAlgorithm)} signature does not verify with the key of "${signer.certificate.subject}"`);
  }
  if (signer.kind === "delegated") authorizeDelegate(signer.certificate, context);
  return signer;
}

function findSigner(response: BasicResponse, issuer: Certificate): Signer {
  if (namedBy(response.responderId, issuer)) return { kind: "issuer", certificate: issuer };
  for (const der of response.certificates) {
    const candidate = Certificate.fromDer(der, "a certificate embedded in the response");
    if (namedBy(response.responderId, candidate)) return { kind: "delegated", certificate: candidate };
  }
  return fail("UnauthorizedSigner", `the response is signed by ${describeResponderId(response.responderId)}, which is neither the issuer "${issuer.subject}" nor a certificate the response carries`);
}

function authorizeDelegate(delegate: Certificate, context: SignerContext): void {
  const who = `delegated responder "${delegate.subject}"`;
  if (!delegate.isIssuedBy(context.issuer)) {
    fail("UnauthorizedSigner", `${who} was not issued by the certificate's issuer "${context.issuer.subject}"`);
  }
  if (!delegate.extendedKeyUsages.includes(OID.kpOcspSigning)) {
    fail("UnauthorizedSigner", `${who} lacks the id-kp-OCSPSigning extended key usage`);
  }
  if (delegate.serial === context.subject.serial && bytesEqual(delegate.issuerDer, context.subject.issuerDer)) {
    fail("UnauthorizedSigner", `${who} is the certificate the response is about: a certificate cannot vouch for itself`);
  }
}

/** The facts a delegated responder's certificate leaves for the time checks. */
export function delegateFacts(delegate: Certificate): DelegateFacts {
  return { subject: delegate.subject, notBeforeMs: delegate.notBefore.getTime(), notAfterMs: delegate.notAfter.getTime() };
}

/**
 * A delegated responder speaks for the issuer only within its own validity
 * (RFC 6960 §4.2.2.2); the issuer's own signature has no such limit here
 * (the served chain's validity is the TLS client's business).
 */
export function checkDelegateValidity(delegate: DelegateFacts, at: Date, skewMs: number): void {
  const now = at.getTime();
  if (delegate.notBeforeMs - skewMs <= now && now <= delegate.notAfterMs + skewMs) return;
  const validity = `${new Date(delegate.notBeforeMs).toISOString()}..${new Date(delegate.notAfterMs).toISOString()}`;
  fail("SignerExpired", `delegated responder "${delegate.subject}" is valid ${validity}, not at ${at.toISOString()}`);
}

function namedBy(id: ResponderId, certificate: Certificate): boolean {
  if ("byKey" in id) return bytesEqual(id.byKey, certificate.keyHashSha1);
  return bytesEqual(id.byName, certificate.subjectDer);
}

function describeResponderId(id: ResponderId): string {
  return "byKey" in id ? `key hash ${Buffer.from(id.byKey).toString("hex")}` : "a name";
}
