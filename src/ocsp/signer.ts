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

export interface SignerContext {
  readonly issuer: Certificate;
  /** The certificate the response is about: it may never vouch for itself. */
  readonly subject: Certificate;
  readonly at: Date;
  readonly skewMs: number;
}

/**
 * Finds the certificate the ResponderID names, checks the response's
 * signature with its key, and checks that it may speak for the issuer
 * (RFC 6960 §4.2.2.2): the issuer itself, or a delegated responder that the
 * issuer signed directly, that carries id-kp-OCSPSigning and that is within
 * its validity. Only the issuer and the certificates embedded in the response
 * are candidates: the served chain is not searched, so an intermediate can
 * never answer for itself (Botan's `mychain_ocsp_for_int_self_signed` case).
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
  if (!delegate.isValidAt(context.at, context.skewMs)) {
    fail("SignerExpired", `${who} is valid ${delegate.notBefore.toISOString()}..${delegate.notAfter.toISOString()}, not at ${context.at.toISOString()}`);
  }
}

function namedBy(id: ResponderId, certificate: Certificate): boolean {
  if ("byKey" in id) return bytesEqual(id.byKey, certificate.keyHashSha1);
  return bytesEqual(id.byName, certificate.subjectDer);
}

function describeResponderId(id: ResponderId): string {
  return "byKey" in id ? `key hash ${Buffer.from(id.byKey).toString("hex")}` : "a name";
}
