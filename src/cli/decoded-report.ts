import type { CertStatus } from "../ocsp/cert-status.ts";
import { fail } from "../ocsp/errors.ts";
import { parseResponse, type BasicResponse } from "../ocsp/response-parser.ts";
import { algorithmName } from "../ocsp/signature.ts";
import { statusFields, type SuccessReport } from "./report.ts";

/**
 * What a response says about itself (its first SingleResponse), nothing
 * verified (`"verified": false`): `inspect` without `--cert`, for a single
 * staple or each response of a bundle.
 */
export function decodedReport(der: Uint8Array): { report: SuccessReport; status: CertStatus } {
  const response = parseResponse(der);
  const [first] = response.responses;
  if (first === undefined) return fail("MalformedResponse", "the response holds no SingleResponse");
  return {
    report: {
      ok: true,
      verified: false,
      ...statusFields(first.status),
      serial: first.certId.serial,
      thisUpdate: first.thisUpdate.toISOString(),
      ...(first.nextUpdate === undefined ? {} : { nextUpdate: first.nextUpdate.toISOString() }),
      producedAt: response.producedAt.toISOString(),
      ...decodedFields(response),
    },
    status: first.status,
  };
}

function decodedFields(response: BasicResponse): Record<string, unknown> {
  return {
    signatureAlgorithm: algorithmName(response.signatureAlgorithm),
    responderId: "byKey" in response.responderId ? { byKey: Buffer.from(response.responderId.byKey).toString("hex") } : { byName: Buffer.from(response.responderId.byName).toString("hex") },
    embeddedCertificates: response.certificates.length,
    responses: response.responses.map((single) => ({
      serial: single.certId.serial,
      ...statusFields(single.status),
      thisUpdate: single.thisUpdate.toISOString(),
      ...(single.nextUpdate === undefined ? {} : { nextUpdate: single.nextUpdate.toISOString() }),
    })),
  };
}
