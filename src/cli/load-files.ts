import { readFileSync } from "node:fs";
import { fail } from "../ocsp/errors.ts";

/** Reads a file the user named; a missing file is a clear `BadInput` error, not a stack trace. */
export function readInputFile(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    const reason = error instanceof Error && "code" in error ? String(error.code) : String(error);
    return fail("BadInput", `cannot read ${what} "${path}" (${reason})`, error);
  }
}
