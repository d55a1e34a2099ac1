/** A command line the CLI cannot run (unknown flag, missing argument). Exit status 2, usage printed. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
