// Real responses from public CAs and other projects' suites (test/fixtures/ocsp-vectors,
// provenance in its MANIFEST.md), each judged at the fixed instant the MANIFEST gives.
// Issuers go through findIssuer exactly as `fetch --issuer` does, so an edited issuer
// certificate (the WSNIC/WKIC rows) is caught where the CLI would catch it.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { isOcspError } from "../../src/ocsp/errors.ts";
import type { OcspErrorCode } from "../../src/ocsp/error-codes.ts";
import { findIssuer } from "../../src/ocsp/issuer.ts";
import { readCertificates } from "../../src/ocsp/pem.ts";
import { parseResponse } from "../../src/ocsp/response-parser.ts";
import { verifyResponse } from "../../src/ocsp/verify.ts";

const ROOT = new URL("../fixtures/ocsp-vectors/", import.meta.url);

type Verdict = { status: "good" | "revoked" | "unknown"; signer: "issuer" | "delegated" } | { code: OcspErrorCode };
interface Row { name: string; response: string; issuer: string; leaf: string; at: string; expect: Verdict }

const good = (signer: "issuer" | "delegated"): Verdict => ({ status: "good", signer });
const O = "openssl-ocsp-tests/";
const T1 = "2012-10-12T00:00:00Z";
const T2 = "2012-10-24T00:00:00Z";

const ROWS: Row[] = [
  // OpenSSL's recipe (test/recipes/80-test_ocsp.t): valid responses
  { name: "ND1 issuer-signed, ICA -> EE", response: `${O}ND1.der`, issuer: `${O}ND1_Issuer_ICA.pem`, leaf: `${O}ND1_Cert_EE.pem`, at: T1, expect: good("issuer") },
  { name: "ND2 issuer-signed, root -> ICA", response: `${O}ND2.der`, issuer: `${O}ND2_Issuer_Root.pem`, leaf: `${O}ND2_Cert_ICA.pem`, at: T1, expect: good("issuer") },
  { name: "ND3 issuer-signed, root -> EE", response: `${O}ND3.der`, issuer: `${O}ND3_Issuer_Root.pem`, leaf: `${O}ND3_Cert_EE.pem`, at: T1, expect: good("issuer") },
  { name: "D1 delegated, ICA -> EE", response: `${O}D1.der`, issuer: `${O}D1_Issuer_ICA.pem`, leaf: `${O}D1_Cert_EE.pem`, at: T2, expect: good("delegated") },
  { name: "D2 delegated, root -> ICA", response: `${O}D2.der`, issuer: `${O}D2_Issuer_Root.pem`, leaf: `${O}D2_Cert_ICA.pem`, at: T2, expect: good("delegated") },
  { name: "D3 delegated byName, root -> EE", response: `${O}D3.der`, issuer: `${O}D3_Issuer_Root.pem`, leaf: `${O}D3_Cert_EE.pem`, at: T2, expect: good("delegated") },
  { name: "ND1 with the cross-signed issuer", response: `${O}ND1.der`, issuer: `${O}ND1_Issuer_ICA-Cross.pem`, leaf: `${O}ND1_Cert_EE.pem`, at: T1, expect: good("issuer") },
  { name: "ISIC: a bad signature on the issuer itself does not matter", response: `${O}D1.der`, issuer: `${O}ISIC_D1_Issuer_ICA.pem`, leaf: `${O}D1_Cert_EE.pem`, at: T2, expect: good("delegated") },
  // OpenSSL's recipe: must fail
  { name: "ISOP_ND1 invalid response signature", response: `${O}ISOP_ND1.der`, issuer: `${O}ND1_Issuer_ICA.pem`, leaf: `${O}ND1_Cert_EE.pem`, at: T1, expect: { code: "BadSignature" } },
  { name: "ISOP_D3 invalid delegated signature", response: `${O}ISOP_D3.der`, issuer: `${O}D3_Issuer_Root.pem`, leaf: `${O}D3_Cert_EE.pem`, at: T1, expect: { code: "BadSignature" } },
  { name: "WRID_ND2 wrong ResponderID", response: `${O}WRID_ND2.der`, issuer: `${O}ND2_Issuer_Root.pem`, leaf: `${O}ND2_Cert_ICA.pem`, at: T1, expect: { code: "UnauthorizedSigner" } },
  { name: "WRID_D3 wrong ResponderID byName", response: `${O}WRID_D3.der`, issuer: `${O}D3_Issuer_Root.pem`, leaf: `${O}D3_Cert_EE.pem`, at: T1, expect: { code: "UnauthorizedSigner" } },
  { name: "WINH_ND3 edited issuerNameHash", response: `${O}WINH_ND3.der`, issuer: `${O}ND3_Issuer_Root.pem`, leaf: `${O}ND3_Cert_EE.pem`, at: T1, expect: { code: "BadSignature" } },
  { name: "WIKH_D2 edited issuerKeyHash", response: `${O}WIKH_D2.der`, issuer: `${O}D2_Issuer_Root.pem`, leaf: `${O}D2_Cert_ICA.pem`, at: T1, expect: { code: "BadSignature" } },
  { name: "WKDOSC_D1 wrong key in the delegate", response: `${O}WKDOSC_D1.der`, issuer: `${O}D1_Issuer_ICA.pem`, leaf: `${O}D1_Cert_EE.pem`, at: T1, expect: { code: "UnauthorizedSigner" } },
  { name: "ISDOSC_D3 delegate not signed by the issuer", response: `${O}ISDOSC_D3.der`, issuer: `${O}D3_Issuer_Root.pem`, leaf: `${O}D3_Cert_EE.pem`, at: T1, expect: { code: "UnauthorizedSigner" } },
  { name: "WSNIC_D2 issuer with a wrong subject name", response: `${O}D2.der`, issuer: `${O}WSNIC_D2_Issuer_Root.pem`, leaf: `${O}D2_Cert_ICA.pem`, at: T2, expect: { code: "NoIssuer" } },
  { name: "WKIC_ND1 issuer with a wrong key", response: `${O}ND1.der`, issuer: `${O}WKIC_ND1_Issuer_ICA.pem`, leaf: `${O}ND1_Cert_EE.pem`, at: T1, expect: { code: "NoIssuer" } },
  // pyca/cryptography
  { name: "pyca: signer named nowhere", response: "pyca-cryptography/resp-revoked-no-next-update.der", issuer: "pyca-cryptography/rapidssl_sha256_ca_g3.pem", leaf: "pyca-cryptography/cryptography.io.pem", at: "2018-10-24T01:00:00Z", expect: { code: "UnauthorizedSigner" } },
  { name: "pyca: ResponseData version 2", response: "pyca-cryptography/resp-invalid-version.der", issuer: "pyca-cryptography/letsencryptx3.pem", leaf: "pyca-cryptography/cryptography.io.precert.pem", at: "2018-08-31T00:00:00Z", expect: { code: "MalformedResponse" } },
  { name: "pyca: md2WithRSA signature", response: "pyca-cryptography/resp-invalid-signature-oid.der", issuer: "pyca-cryptography/letsencryptx3.pem", leaf: "pyca-cryptography/cryptography.io.precert.pem", at: "2018-08-31T00:00:00Z", expect: { code: "UnsupportedAlgorithm" } },
  // golang.org/x/crypto
  { name: "go: self-signed responder", response: "golang-x-crypto/selfsigned-responder_revoked_nonce-single-ext.der", issuer: "golang-x-crypto/verisign-intl-server-ca-class3.pem", leaf: "golang-x-crypto/facebook-leaf.pem", at: "2010-07-07T16:00:00Z", expect: { code: "UnauthorizedSigner" } },
  // Botan
  { name: "botan: Let's Encrypt, fresh", response: "botan/randombit_ocsp.der", issuer: "botan/letsencrypt.pem", leaf: "botan/randombit.pem", at: "2016-11-18T12:30:00Z", expect: good("issuer") },
  { name: "botan: Let's Encrypt, not yet valid", response: "botan/randombit_ocsp.der", issuer: "botan/letsencrypt.pem", leaf: "botan/randombit.pem", at: "2016-11-11T12:30:00Z", expect: { code: "NotYetValid" } },
  { name: "botan: Let's Encrypt, expired", response: "botan/randombit_ocsp.der", issuer: "botan/letsencrypt.pem", leaf: "botan/randombit.pem", at: "2016-11-28T08:30:00Z", expect: { code: "Expired" } },
  { name: "botan: forged signer, revoked", response: "botan/randombit_ocsp_forged_revoked.der", issuer: "botan/letsencrypt.pem", leaf: "botan/randombit.pem", at: "2016-11-18T12:30:00Z", expect: { code: "UnauthorizedSigner" } },
  { name: "botan: forged signer, no certificates", response: "botan/randombit_ocsp_forged_valid_nocerts.der", issuer: "botan/letsencrypt.pem", leaf: "botan/randombit.pem", at: "2016-11-18T12:30:00Z", expect: { code: "UnauthorizedSigner" } },
  { name: "botan: D-TRUST delegated, intermediate's status", response: "botan/bdr-int-ocsp-resp.der", issuer: "botan/bdr-root.pem", leaf: "botan/bdr-int.pem", at: "2022-09-19T16:30:00Z", expect: good("delegated") },
  { name: "botan: delegated, in validity", response: "botan/mychain_ocsp_for_ee_delegate_signed.der", issuer: "botan/mychain_int.pem", leaf: "botan/mychain_ee.pem", at: "2022-09-22T23:30:00Z", expect: good("delegated") },
  { name: "botan: delegated, responder certificate expired", response: "botan/mychain_ocsp_for_ee_delegate_signed.der", issuer: "botan/mychain_int.pem", leaf: "botan/mychain_ee.pem", at: "2022-10-08T23:30:00Z", expect: { code: "SignerExpired" } },
  { name: "botan: delegate without id-kp-OCSPSigning", response: "botan/mychain_ocsp_for_ee_delegate_signed_malformed.der", issuer: "botan/mychain_int.pem", leaf: "botan/mychain_ee.pem", at: "2022-09-22T23:30:00Z", expect: { code: "UnauthorizedSigner" } },
  { name: "botan: signed by the root, not the issuer", response: "botan/mychain_ocsp_for_ee_root_signed.der", issuer: "botan/mychain_int.pem", leaf: "botan/mychain_ee.pem", at: "2022-09-22T23:30:00Z", expect: { code: "UnauthorizedSigner" } },
  { name: "botan: intermediate answering for itself (refused by design)", response: "botan/mychain_ocsp_for_int_self_signed.der", issuer: "botan/mychain_root.pem", leaf: "botan/mychain_int.pem", at: "2022-09-22T22:30:00Z", expect: { code: "UnauthorizedSigner" } },
  { name: "botan: no nextUpdate, fresh", response: "botan/patrickschmidt_ocsp.der", issuer: "botan/bdrive_encryption.pem", leaf: "botan/patrickschmidt.pem", at: "2019-05-28T07:30:00Z", expect: good("delegated") },
  { name: "botan: no nextUpdate, too old", response: "botan/patrickschmidt_ocsp.der", issuer: "botan/bdrive_encryption.pem", leaf: "botan/patrickschmidt.pem", at: "2019-06-10T07:30:00Z", expect: { code: "Expired" } },
  // thisUpdate is 07:00:12: 12 s early is inside the 5-minute skew (Botan, with no skew, rejects it); 10 minutes early is not.
  { name: "botan: thisUpdate 12 s ahead, within the skew", response: "botan/patrickschmidt_ocsp.der", issuer: "botan/bdrive_encryption.pem", leaf: "botan/patrickschmidt.pem", at: "2019-05-28T07:00:00Z", expect: good("delegated") },
  { name: "botan: thisUpdate 10 min ahead, not yet valid", response: "botan/patrickschmidt_ocsp.der", issuer: "botan/bdrive_encryption.pem", leaf: "botan/patrickschmidt.pem", at: "2019-05-28T06:50:00Z", expect: { code: "NotYetValid" } },
  { name: "botan: tryLater with response bytes", response: "botan/patrickschmidt_ocsp_try_later_wrong_sig.der", issuer: "botan/bdrive_encryption.pem", leaf: "botan/patrickschmidt.pem", at: "2019-05-28T07:30:00Z", expect: { code: "ResponderTryLater" } },
  { name: "botan: Google, byKey", response: "botan/resp2.der", issuer: "botan/google_g2.pem", leaf: "botan/gmail.pem", at: "2016-11-22T00:00:00Z", expect: good("issuer") },
  { name: "botan: ECDSA P-256 issuer", response: "botan/contrarian_good-issuer.der", issuer: "botan/contrarian_issuer.pem", leaf: "botan/contrarian_subject.pem", at: "2025-01-01T00:00:00Z", expect: good("issuer") },
  // AWS-LC (s2n PKI)
  { name: "aws-lc: delegated, SHA-1 CertID", response: "aws-lc-s2n/ocsp_response.der", issuer: "aws-lc-s2n/ca_cert.pem", leaf: "aws-lc-s2n/rsa_cert.pem", at: "2021-05-27T00:00:00Z", expect: good("delegated") },
  { name: "aws-lc: issuer-signed RSA-4096", response: "aws-lc-s2n/ocsp_response_ca_signed.der", issuer: "aws-lc-s2n/ca_cert.pem", leaf: "aws-lc-s2n/rsa_cert.pem", at: "2021-06-04T00:00:00Z", expect: good("issuer") },
  { name: "aws-lc: SHA-256 CertID", response: "aws-lc-s2n/ocsp_response_sha256.der", issuer: "aws-lc-s2n/ca_cert.pem", leaf: "aws-lc-s2n/rsa_cert.pem", at: "2021-05-28T00:00:00Z", expect: good("delegated") },
  { name: "aws-lc: revoked", response: "aws-lc-s2n/ocsp_response_revoked.der", issuer: "aws-lc-s2n/ca_cert.pem", leaf: "aws-lc-s2n/rsa_cert.pem", at: "2020-06-23T00:00:00Z", expect: { status: "revoked", signer: "delegated" } },
  { name: "aws-lc: revoked, SHA-256 CertID", response: "aws-lc-s2n/ocsp_response_revoked_sha256.der", issuer: "aws-lc-s2n/ca_cert.pem", leaf: "aws-lc-s2n/rsa_cert.pem", at: "2021-05-28T00:00:00Z", expect: { status: "revoked", signer: "delegated" } },
  { name: "aws-lc: unknown", response: "aws-lc-s2n/ocsp_response_unknown.der", issuer: "aws-lc-s2n/ca_cert.pem", leaf: "aws-lc-s2n/rsa_cert.pem", at: "2021-07-01T00:00:00Z", expect: { status: "unknown", signer: "delegated" } },
  { name: "aws-lc: signer without EKU and expired", response: "aws-lc-s2n/ocsp_response_expired_signer.der", issuer: "aws-lc-s2n/ca_cert.pem", leaf: "aws-lc-s2n/rsa_cert.pem", at: "2023-06-03T01:00:00Z", expect: { code: "UnauthorizedSigner" } },
  { name: "aws-lc: correctly signed, for another certificate", response: "aws-lc-s2n/ocsp_response.der", issuer: "aws-lc-s2n/ca_cert.pem", leaf: "aws-lc-s2n/ecdsa_cert.pem", at: "2021-05-27T00:00:00Z", expect: { code: "CertIDMismatch" } },
];

function fixture(path: string): Uint8Array {
  return readFileSync(new URL(path, ROOT));
}

async function judge(row: Row): Promise<Verdict> {
  try {
    const leaf = readCertificates(fixture(row.leaf), row.leaf)[0];
    assert.ok(leaf);
    const issuer = await findIssuer(leaf, { chain: [], caCrt: [], explicit: readCertificates(fixture(row.issuer), row.issuer) });
    const verified = verifyResponse(fixture(row.response), { subject: leaf, issuer: issuer.certificate, at: new Date(row.at) });
    return { status: verified.certStatus.kind, signer: verified.signer.kind };
  } catch (error) {
    if (isOcspError(error)) return { code: error.code };
    throw error;
  }
}

void describe("real responses from public CAs and other projects' suites", () => {
  for (const row of ROWS) {
    void it(row.name, async () => {
      assert.deepEqual(await judge(row), row.expect);
    });
  }
});

// Files with no issuer to verify against: the decoder must read exactly what the sources assert.
void describe("decoding without an issuer", () => {
  void it("reads a 20-response DoD answer: serial 391ae revoked for cessationOfOperation", () => {
    const response = parseResponse(fixture("pyca-cryptography/ocsp-army.deps.mil-resp.der"));
    assert.equal(response.responses.length, 20);
    const single = response.responses.find((candidate) => candidate.certId.serial === "0391ae");
    assert.deepEqual(single?.status, { kind: "revoked", revokedAt: new Date("2018-05-30T14:01:39Z"), reason: "cessationOfOperation" });
  });

  void it("reads the revocation reason and the non-critical nonce (QuoVadis)", () => {
    const response = parseResponse(fixture("pyca-cryptography/resp-revoked-reason.der"));
    assert.deepEqual(response.responses[0]?.status, { kind: "revoked", revokedAt: new Date("2018-06-27T12:30:01Z"), reason: "superseded" });
    assert.deepEqual(response.extensions.map((extension) => [extension.oid, extension.critical]), [["1.3.6.1.5.5.7.48.1.2", false]]);
  });

  void it("reads SHA-1/224/256/384/512 CertIDs in one response (RustCrypto)", () => {
    const response = parseResponse(fixture("rustcrypto-x509-ocsp/ocsp-multiple-responses-res.der"));
    assert.equal(response.responses.length, 8);
    assert.deepEqual(new Set(response.responses.map((single) => single.certId.hashAlgorithmOid)).size, 5);
  });

  const failures: [string, OcspErrorCode][] = [
    ["rustcrypto-x509-ocsp/ocsp-malformed.der", "ResponderError"],
    ["rustcrypto-x509-ocsp/ocsp-internal-error.der", "ResponderError"],
    ["rustcrypto-x509-ocsp/ocsp-sig-required.der", "ResponderError"],
    ["rustcrypto-x509-ocsp/ocsp-try-later.der", "ResponderTryLater"],
    ["rustcrypto-x509-ocsp/ocsp-unauthorized.der", "ResponderUnauthorized"],
    ["pyca-cryptography/resp-response-type-unknown-oid.der", "MalformedResponse"],
    ["pyca-cryptography/resp-successful-no-response-bytes.der", "MalformedResponse"],
    ["pyca-cryptography/resp-unknown-response-status.der", "MalformedResponse"],
  ];
  for (const [file, code] of failures) {
    void it(`${file} -> ${code}`, () => {
      assert.throws(() => parseResponse(fixture(file)), (error) => isOcspError(error) && error.code === code);
    });
  }
});
