import { writeFileSync } from "node:fs";
import { fail, messageOf } from "../ocsp/errors.ts";

/** Writes a file the user named; a failure is a clear `BadInput` error naming the path, not a stack trace. */
export function writeOutputFile(path: string, data: Uint8Array | string, what = "the staple"): void {
  try {
    writeFileSync(path, data);
  } catch (error) {
    fail("BadInput", `cannot write ${what} to "${path}" (${messageOf(error)})`, error);
  }
}
