import * as pkijs from "pkijs";
import { USER_AGENT } from "../version.ts";
import { toArrayBuffer } from "./bytes.ts";
import { Certificate } from "./certificate.ts";
import { fail, isOcspError } from "./errors.ts";
import { DEFAULT_HTTP_LIMITS, type HttpTransport } from "./http-transport.ts";
import { responderUrl } from "./responder-client.ts";
import { readCertificates } from "./pem.ts";

/**
 * Downloads the certificates an AIA caIssuers URL points at (RFC 5280
 * §4.2.2.1): a DER certificate or a certs-only PKCS#7 bundle, served under
 * many content types in practice, so the bytes decide and not the header. The
 * same limits as OCSP fetches apply: this URL comes from a certificate
 * someone else issued. Failures are `NoIssuer`, carrying the cause.
 */
export async function fetchCaIssuers(transport: HttpTransport, url: string, timeoutMs: number = DEFAULT_HTTP_LIMITS.timeoutMs): Promise<Certificate[]> {
  try {
    const response = await transport.send({
      url: responderUrl(url),
      method: "GET",
      headers: { "user-agent": USER_AGENT, accept: "application/pkix-cert, application/pkcs7-mime" },
      timeoutMs,
      maxBytes: DEFAULT_HTTP_LIMITS.maxBytes,
    });
    if (response.status !== 200) fail("NoIssuer", `HTTP ${response.status}`);
    return decodeIssuerBundle(response.body);
  } catch (error) {
    const reason = isOcspError(error) ? `${error.code}: ${error.message}` : String(error);
    return fail("NoIssuer", `the issuer could not be downloaded from ${url} (${reason})`, error);
  }
}

function decodeIssuerBundle(body: Uint8Array): Certificate[] {
  if (body[0] !== 0x30) return readCertificates(body, "the caIssuers download");
  try {
    return [Certificate.fromDer(body, "the caIssuers download")];
  } catch {
    return readPkcs7Certificates(body);
  }
}

function readPkcs7Certificates(body: Uint8Array): Certificate[] {
  let certificates: Certificate[];
  try {
    const content = pkijs.ContentInfo.fromBER(toArrayBuffer(body));
    const signedData = new pkijs.SignedData({ schema: content.content });
    certificates = (signedData.certificates ?? [])
      .filter((entry): entry is pkijs.Certificate => entry instanceof pkijs.Certificate)
      .map((entry) => Certificate.fromDer(new Uint8Array(entry.toSchema().toBER()), "a certificate in the caIssuers PKCS#7"));
  } catch (error) {
    return fail("BadCertificate", "the caIssuers download is neither a certificate nor a PKCS#7 bundle", error);
  }
  if (certificates.length === 0) fail("BadCertificate", "the caIssuers PKCS#7 bundle holds no certificate");
  return certificates;
}
