import { encodeResponseBundle } from "../ocsp/response-bundle.ts";

/**
 * What a `chain: Full` companion holds besides the leaf's staple: each
 * intermediate's DER (undefined: none in place, its key is left out) and how
 * many of them follow the leaf in the bundle (chain-plan.ts: the unbroken run
 * from the first intermediate).
 */
export interface ChainStaples {
  readonly intermediates: readonly (Uint8Array | undefined)[];
  /** Undefined: no bundle, an intermediate is revoked (chain-plan.ts, planChain). */
  readonly bundled: number | undefined;
}

/** The leaf's staple as the bundle needs it: its bytes, and whether it says revoked. */
export interface LeafStaple {
  readonly der: Uint8Array;
  readonly certStatus: { readonly kind: string };
}

/**
 * The key of intermediate n's staple beside a target key: `<key>.<n>`, n = 1
 * for the first intermediate (DESIGN.md, `chain`), so `tls.ocsp.1` sits next
 * to `tls.ocsp` in the projected volume.
 */
export function intermediateKey(key: string, index: number): string {
  return `${key}.${index}`;
}

/**
 * The key of the bundle: `<first target key>.pem`, one per companion. PEM
 * blocks of every response of the chain, leaf first (encodeResponseBundle),
 * what Exim's `tls_ocsp_file = PEM <file>` and other GnuTLS servers load. One
 * key only, for the first target key: the others are aliases of the same DER
 * for servers that read DER, and none of those read a bundle.
 */
export function bundleKey(keys: readonly string[]): string {
  return `${keys[0] ?? "tls.ocsp"}.pem`;
}

/**
 * The most intermediate keys checked for collisions: `<key>.1` to `<key>.8`,
 * the bound the CRD's rule uses too (a chain holds at most 7 intermediates,
 * MAX_STAPLED_CHAIN_CERTIFICATES, so this leaves room to grow).
 */
const DERIVED_INDEXES = 8;

/**
 * Target keys that `chain: Full` would overwrite with an intermediate's
 * staple (`<another key>.<n>`) or the bundle (`<first key>.pem`), in the
 * order given. The CRD refuses such a spec; this catches one stored before
 * that rule, or under an older CRD.
 */
export function chainKeyCollisions(keys: readonly string[]): string[] {
  const derived = new Set(chainDerivedKeys(keys));
  return keys.filter((key) => derived.has(key));
}

/** Every key `chain: Full` may write beside these target keys: `<key>.1` to `<key>.8` for each, and the bundle. */
export function chainDerivedKeys(keys: readonly string[]): string[] {
  return [...keys.flatMap((key) => Array.from({ length: DERIVED_INDEXES }, (_, i) => intermediateKey(key, i + 1))), bundleKey(keys)];
}

/**
 * The data keys (base64) a Full companion adds to the leaf's: each
 * intermediate under each target key, and the bundle — none while the leaf
 * or an intermediate is revoked, for the reason planChain gives.
 */
export function chainData(keys: readonly string[], leaf: LeafStaple, chain: ChainStaples): Record<string, string> {
  const data: Record<string, string> = {};
  chain.intermediates.forEach((der, position) => {
    if (der === undefined) return;
    const base64 = Buffer.from(der).toString("base64");
    for (const key of keys) data[intermediateKey(key, position + 1)] = base64;
  });
  if (chain.bundled === undefined || leaf.certStatus.kind === "revoked") return data;
  const bundled = chain.intermediates.slice(0, chain.bundled).filter((der): der is Uint8Array => der !== undefined);
  data[bundleKey(keys)] = Buffer.from(encodeResponseBundle([leaf.der, ...bundled])).toString("base64");
  return data;
}
