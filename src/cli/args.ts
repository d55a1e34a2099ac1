import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { messageOf } from "../ocsp/errors.ts";
import { UsageError } from "./usage-error.ts";

export interface ParsedCommandLine {
  readonly values: Readonly<Record<string, string | boolean | readonly (string | boolean)[] | undefined>>;
  readonly positionals: readonly string[];
}

/**
 * Strict parsing for every command: an unknown or misspelt flag is an error,
 * never silently ignored (a typo in `--isuer` must not change what is verified).
 */
export function parseCommandLine(args: readonly string[], options: ParseArgsOptionsConfig, positionals: { min: number; max: number }): ParsedCommandLine {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...args], options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(messageOf(error));
  }
  const count = parsed.positionals.length;
  if (parsed.values.help !== true && (count < positionals.min || count > positionals.max)) {
    throw new UsageError(positionals.max === 0 ? `unexpected argument "${parsed.positionals[0] ?? ""}"` : `expected ${positionals.min === positionals.max ? positionals.min : `${positionals.min} to ${positionals.max}`} argument(s), got ${count}`);
  }
  return { values: parsed.values, positionals: parsed.positionals };
}

export function stringFlag(values: ParsedCommandLine["values"], name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

/** A repeatable flag (`multiple: true`): every value given, in order. */
export function listFlag(values: ParsedCommandLine["values"], name: string): string[] {
  const value = values[name];
  const all: readonly unknown[] = Array.isArray(value) ? value : [value];
  return all.filter((entry): entry is string => typeof entry === "string");
}

export function requiredFlag(values: ParsedCommandLine["values"], name: string): string {
  const value = stringFlag(values, name);
  if (value === undefined) throw new UsageError(`--${name} is required`);
  return value;
}

/** `--timeout` in seconds (decimals allowed), as milliseconds. */
export function secondsFlag(values: ParsedCommandLine["values"], name: string, fallbackMs: number): number {
  const value = stringFlag(values, name);
  if (value === undefined) return fallbackMs;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 600) throw new UsageError(`--${name} must be a number of seconds between 0 and 600, got "${value}"`);
  return Math.round(seconds * 1000);
}

export function choiceFlag<T extends string>(values: ParsedCommandLine["values"], name: string, choices: readonly T[]): T | undefined {
  const value = stringFlag(values, name);
  if (value === undefined) return undefined;
  const choice = choices.find((candidate) => candidate.toLowerCase() === value.toLowerCase());
  if (choice === undefined) throw new UsageError(`--${name} must be one of ${choices.join(", ")}, got "${value}"`);
  return choice;
}
