// The staples bench/responder.ts serves: N distinct CertIDs under one P-256
// CA, each with a real issuer-signed response (bench/support/bench-only-ocsp-signer.ts)
// and the OCSPRequests a client would send for it (SHA-1 and SHA-256 CertIDs,
// built by the engine's encodeRequest), written to one JSON file the server
// and load processes read.
import { createPrivateKey, randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { certIdFor } from "../../src/ocsp/cert-id.ts";
import { readCertificates } from "../../src/ocsp/pem.ts";
import { encodeRequest } from "../../src/ocsp/request.ts";
import { verifyResponse } from "../../src/ocsp/verify.ts";
import { execOpenssl } from "../../test/support/pki-openssl.ts";
import { createRootCa } from "../../test/support/pki.ts";
import { signBenchStaple } from "../support/bench-only-ocsp-signer.ts";

/** One staple and the requests that ask for it, as the JSON file holds them (base64). */
export interface StapleEntry {
  readonly serial: string;
  readonly der: string;
  /** SHA-1 then SHA-256 CertID: the DER OCSPRequest. */
  readonly requests: readonly string[];
}

export interface StapleSet {
  /** The issuer's name and key hashes by CertID hash algorithm (hex): what the operator's cert-ids annotation is made of. */
  readonly issuer: Readonly<Record<"sha1" | "sha256", { readonly nameHash: string; readonly keyHash: string }>>;
  readonly staples: readonly StapleEntry[];
}

/** Makes the set, checks samples (engine and OpenSSL), writes it under `dir`; returns its path. */
export async function writeStapleSet(n: number, dir: string): Promise<{ path: string; derBytes: number; seconds: number }> {
  const started = performance.now();
  const ca = await createRootCa({ name: "bench-responder", key: "p256" });
  try {
    // One real leaf, so the engine's verifyResponse (which wants the subject certificate) can check staple 0.
    const leaf = await ca.issue({ commonName: "bench.example" });
    const [issuer] = readCertificates(ca.certPem, "issuer");
    const [subject] = readCertificates(leaf.certPem, "leaf");
    if (issuer === undefined || subject === undefined) throw new Error("the PKI produced no certificates");
    const key = createPrivateKey(ca.keyPem);
    const now = Date.now();
    const thisUpdate = new Date(now - 60_000);
    const nextUpdate = new Date(now + 7 * 86_400_000);
    const staples: StapleEntry[] = [];
    for (let i = 0; i < n; i++) {
      // Distinct by construction: "4" + the index + 64 random bits (a 12-byte serial, as a CA's random serials are).
      const serial = i === 0 ? leaf.serialHex : `4${i.toString(16).padStart(7, "0")}${randomBytes(8).toString("hex")}`;
      const der = signBenchStaple({ subjectDer: issuer.subjectDer, publicKeyBits: issuer.publicKeyBits, key }, { serialHex: serial, thisUpdate, nextUpdate });
      const requests = (["sha1", "sha256"] as const).map((hash) => Buffer.from(encodeRequest(certIdFor(serial, issuer, hash)).der).toString("base64"));
      staples.push({ serial, der: der.toString("base64"), requests });
    }
    const first = staples[0];
    if (first === undefined) throw new Error("BENCH_STAPLES must be at least 1");
    const verified = verifyResponse(Buffer.from(first.der, "base64"), { subject, issuer, at: new Date() });
    if (verified.certStatus.kind !== "good") throw new Error("the bench signer's staple did not verify as good");
    for (const sample of [staples[n - 1], staples[Math.floor(n / 2)]]) if (sample !== undefined) await checkWithOpenssl(sample, ca.dir, ca.certPath);
    const sha1 = certIdFor("1", issuer, "sha1");
    const sha256 = certIdFor("1", issuer, "sha256");
    const set: StapleSet = {
      issuer: {
        sha1: { nameHash: Buffer.from(sha1.issuerNameHash).toString("hex"), keyHash: Buffer.from(sha1.issuerKeyHash).toString("hex") },
        sha256: { nameHash: Buffer.from(sha256.issuerNameHash).toString("hex"), keyHash: Buffer.from(sha256.issuerKeyHash).toString("hex") },
      },
      staples,
    };
    const path = join(dir, `staples-${String(n)}.json`);
    await writeFile(path, JSON.stringify(set));
    // The floor answers with a buffer of this size: the typical staple's (the first, for the real leaf's longer serial, may differ).
    const sizes = staples.map((entry) => Buffer.from(entry.der, "base64").length).sort((a, b) => a - b);
    return { path, derBytes: sizes[Math.floor(sizes.length / 2)] ?? 0, seconds: (performance.now() - started) / 1000 };
  } finally {
    await ca.cleanup();
  }
}

/** `openssl ocsp -respin`: OpenSSL verifies the signature against the CA and reads the status for the serial. */
async function checkWithOpenssl(staple: StapleEntry, dir: string, caPath: string): Promise<void> {
  const file = join(dir, `staple-${staple.serial}.der`);
  await writeFile(file, Buffer.from(staple.der, "base64"));
  const run = await execOpenssl(["ocsp", "-respin", file, "-issuer", caPath, "-CAfile", caPath, "-serial", `0x${staple.serial}`, "-no_nonce"]);
  if (run.code !== 0 || !run.stdout.includes(": good") || !`${run.stdout}${run.stderr}`.includes("Response verify OK")) {
    throw new Error(`openssl did not accept the bench signer's staple for serial ${staple.serial}:\n${run.stdout}${run.stderr}`);
  }
}
