import { existsSync, readFileSync } from "node:fs";

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?-----END \1-----/g;

/**
 * The certificate file HAProxy's `crt` names, with its private key, as the
 * one PEM payload of a certificate transaction: HAProxy commits a new
 * certificate only with its key. The key is found where HAProxy looks for it
 * at start: in the file itself, else in `<crt>.key` beside it (the README's
 * layout projects tls.key there). Only PEM blocks are kept, each line
 * trimmed and no line empty: an empty line ends a runtime API payload.
 *
 * The key is read here for this one purpose (handing HAProxy the key it
 * already has, so it drops a withdrawn staple) and never kept, logged or put
 * in an error message.
 */
export function certificateWithKey(crtPath: string): string {
  const blocks = pemBlocks(readFileSync(crtPath, "utf8"));
  if (!blocks.some((block) => block.label === "CERTIFICATE")) throw new Error(`${crtPath} holds no PEM certificate`);
  if (!blocks.some(isKey)) {
    const keyPath = `${crtPath}.key`;
    if (!existsSync(keyPath)) throw new Error(`HAProxy commits a certificate only with its key, which is neither in ${crtPath} nor in ${keyPath} (mount the key there, as HAProxy reads it)`);
    const keys = pemBlocks(readFileSync(keyPath, "utf8")).filter(isKey);
    if (keys.length === 0) throw new Error(`${keyPath} holds no PEM private key`);
    blocks.push(...keys);
  }
  return blocks.map((block) => block.text).join("\n");
}

interface PemBlock {
  readonly label: string;
  readonly text: string;
}

function pemBlocks(text: string): PemBlock[] {
  return [...text.matchAll(PEM_BLOCK)].map((match) => ({
    label: match[1] ?? "",
    text: match[0].split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== "").join("\n"),
  }));
}

function isKey(block: PemBlock): boolean {
  return /PRIVATE KEY$/.test(block.label);
}
