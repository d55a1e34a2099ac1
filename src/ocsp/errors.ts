import { isRetryableCode, type OcspErrorCode } from "./error-codes.ts";

/**
 * The one error type the engine throws on purpose. `code` is the stable
 * machine-readable reason; `message` is for people and may change. Callers
 * branch on `code`, never on `message`.
 */
export class OcspError extends Error {
  override readonly name = "OcspError";
  readonly code: OcspErrorCode;
  readonly retryable: boolean;

  constructor(code: OcspErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.retryable = isRetryableCode(code);
  }
}

export function isOcspError(value: unknown): value is OcspError {
  return value instanceof OcspError;
}

/** The message of anything thrown, for wrapping it in a message of ours. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Shorthand for the many `throw new OcspError(...)` sites. */
export function fail(code: OcspErrorCode, message: string, cause?: unknown): never {
  throw new OcspError(code, message, cause === undefined ? undefined : { cause });
}
