import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { Certificate } from "../../src/ocsp/certificate.ts";
import { readChain, type Chain } from "../../src/ocsp/chain.ts";
import { readCertificates } from "../../src/ocsp/pem.ts";

const ROOT = new URL("../fixtures/ocsp-vectors/", import.meta.url);

/** Bytes of a file under test/fixtures/ocsp-vectors (provenance in its MANIFEST.md). */
export function vector(path: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(path, ROOT)));
}

export function vectorCertificate(path: string): Certificate {
  const [first] = readCertificates(vector(path), path);
  assert.ok(first, `${path} holds a certificate`);
  return first;
}

/** A chain as tls.crt would hold it: the leaf, then its issuer. */
export function vectorChain(leaf: string, ...rest: string[]): Chain {
  return readChain([leaf, ...rest].map((path) => Buffer.from(vector(path)).toString("latin1")).join("\n"));
}
