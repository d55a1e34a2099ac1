import { pino, type Logger } from "pino";

/**
 * JSON logs on stdout, one object a line, for the cluster's log pipeline.
 * Never give a logger a Secret, a Secret's data or an API error's body: they
 * may carry key material (DESIGN.md). Log names, codes and reasons.
 */
export function createLogger(level = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({ level, base: { app: "ocsp-stapler" }, timestamp: pino.stdTimeFunctions.isoTime });
}
