import type { EndpointState } from "../probe/endpoint-state.ts";
import { servedText } from "./served-summary.ts";
import type { StatusRow } from "./status-rows.ts";

export interface TableOptions {
  readonly now: Date;
  /** `-o wide`: the error's message, the serial, the responder and the staple's Secret too. */
  readonly wide: boolean;
  /** `-A`: a NAMESPACE column first. */
  readonly allNamespaces: boolean;
  /** ANSI colours: only when stdout is a terminal and NO_COLOR is unset. */
  readonly colour: boolean;
}

const DAY_MS = 86_400_000;
const RED = "\u001b[31m";
const YELLOW = "\u001b[33m";
const RESET = "\u001b[0m";

/** One cell: its text, and the colour it is printed in (if colours are on). */
interface Cell { readonly text: string; readonly colour?: string }

/**
 * kubectl's table: upper-case headers, columns three spaces apart, "-" for
 * nothing known, durations as kubectl prints AGE. SERVED is what the probed
 * endpoints naming the Secret serve: "2/3 OldStaple" (Served of all, then the
 * worst other state), "-" when no endpoint names it.
 */
export function renderTable(rows: readonly StatusRow[], options: TableOptions): string {
  const { now, wide, allNamespaces, colour } = options;
  const headers = [...(allNamespaces ? ["NAMESPACE"] : []), "SECRET", "CONFIG", "STATUS", "AGE", "LEFT", "NEXT-REFRESH", "SERVED", "ERROR", ...(wide ? ["MESSAGE", "SERIAL", "RESPONDER", "STAPLE-SECRET"] : [])];
  const body = rows.map((row): Cell[] => {
    const problem = row.status === "Failing" || row.status === "Revoked" ? RED : undefined;
    const leftMs = row.nextUpdate === undefined ? undefined : Date.parse(row.nextUpdate) - now.getTime();
    return [
      ...(allNamespaces ? [{ text: row.namespace }] : []),
      { text: row.secret },
      { text: row.config },
      withColour(row.status, problem),
      { text: row.thisUpdate === undefined ? "-" : humanDuration(now.getTime() - Date.parse(row.thisUpdate)) },
      withColour(leftMs === undefined ? "-" : leftMs < 0 ? "expired" : humanDuration(leftMs), leftMs === undefined ? undefined : leftMs < 0 ? RED : leftMs < DAY_MS ? YELLOW : undefined),
      { text: nextRefreshText(row.nextRefresh, now) },
      withColour(servedText(row.served), servedColour(row.served?.worst)),
      withColour(row.error?.code ?? "-", row.error === undefined ? undefined : RED),
      ...(wide ? [{ text: oneLine(row.error?.message) }, { text: row.serial ?? "-" }, { text: row.responder ?? "-" }, { text: row.staple ?? "-" }] : []),
    ];
  });
  const widths = headers.map((header, column) => Math.max(header.length, ...body.map((cells) => cells[column]?.text.length ?? 0)));
  const line = (cells: readonly Cell[]) => cells.map((cell, column) => {
    const padding = column === cells.length - 1 ? "" : " ".repeat((widths[column] ?? 0) - cell.text.length + 3);
    return (colour && cell.colour !== undefined ? `${cell.colour}${cell.text}${RESET}` : cell.text) + padding;
  }).join("");
  return [line(headers.map((text) => ({ text }))), ...body.map(line)].join("\n") + "\n";
}

/** `-o json`: every row with the same keys, null where nothing is known; times RFC 3339. */
export function renderJson(rows: readonly StatusRow[]): string {
  return `${JSON.stringify(rows.map(jsonRow), null, 2)}\n`;
}

/** The object `-o json` prints for a row: stable keys, in this order. */
export function jsonRow(row: StatusRow): Record<string, unknown> {
  return {
    namespace: row.namespace,
    secret: row.secret,
    config: row.config,
    status: row.status,
    serial: row.serial ?? null,
    thisUpdate: row.thisUpdate ?? null,
    nextUpdate: row.nextUpdate ?? null,
    nextRefresh: row.nextRefresh ?? null,
    // What the probed endpoints naming the Secret serve; worst only when not all are Served.
    served: row.served === undefined ? null : { endpoints: row.served.endpoints, served: row.served.served, ...(row.served.worst === undefined ? {} : { worst: row.served.worst }) },
    error: row.error === undefined ? null : { code: row.error.code, message: row.error.message },
    responder: row.responder ?? null,
    staple: row.staple ?? null,
    from: row.from,
  };
}

/** Yellow while a staple is on its way (not probed yet, or an older one still served); red when clients get none, or the wrong certificate. */
function servedColour(worst: EndpointState | undefined): string | undefined {
  return worst === undefined ? undefined : worst === "Pending" || worst === "OldStaple" ? YELLOW : RED;
}

/** The next refresh as time from now; one already due (the queue is behind, or the controller is down) says so. */
function nextRefreshText(nextRefresh: string | undefined, now: Date): string {
  if (nextRefresh === undefined) return "-";
  const ms = Date.parse(nextRefresh) - now.getTime();
  return ms < 0 ? `due ${humanDuration(-ms)} ago` : humanDuration(ms);
}

function withColour(text: string, colour: string | undefined): Cell {
  return colour === undefined ? { text } : { text, colour };
}

function oneLine(text: string | undefined): string {
  return text === undefined || text === "" ? "-" : text.replace(/\s+/g, " ");
}

/**
 * A duration as kubectl prints ages (apimachinery's HumanDuration): "45s",
 * "3m20s", "25m", "5h10m", "20h", "3d4h", "30d", "2y10d".
 */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(Math.max(ms, 0) / 1000);
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (days < 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (years < 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}
