/**
 * Reading fields of an object as the API server sent it, trusting nothing:
 * a watch hands over JSON that no schema has typed for us (an Ingress
 * controller, a Gateway implementation or a hand edit may have written
 * anything the API server's validation lets through).
 */

/** The items of a JSON array, each possibly null or of any shape (the caller's fields are all `unknown`); not an array: none. */
export function rawItems<T extends object>(value: unknown): readonly (Partial<T> | null | undefined)[] {
  return Array.isArray(value) ? value as (Partial<T> | null)[] : [];
}

/** The strings of a JSON array, in order; anything else in it is dropped. */
export function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

/** A port number as the API allows it (1–65535), else undefined. */
export function portNumber(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= 65_535 ? value : undefined;
}
